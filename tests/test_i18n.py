"""Every UI string has a Simplified Chinese translation, and the English locale works."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def extracted_ids():
    ids = set()
    method_map = [("webapp/**.py", "python"), ("templates/**.html", "jinja2")]
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords=KEYWORDS):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_every_ui_string_is_translated_to_chinese():
    with open(ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string}
    missing = sorted(extracted_ids() - translated)
    assert not missing, f"{len(missing)} strings lack a zh_Hans_CN translation (make extract-messages), e.g. {missing[:8]}"


def test_compiled_catalog_is_used(client):
    assert "登录台账系统" in client.get("/login").get_data(as_text=True)
    client.set_cookie("lang", "en")
    assert "Log in to Taizhang" in client.get("/login").get_data(as_text=True)


def test_catalog_has_no_duplicate_entries():
    """git's union merge can leave two entries for one msgid; scripts/tidy-po merges them."""
    import re
    text = (ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    ids = re.findall(r'^msgid "(.+)"$', text, re.M)
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate msgids (run scripts/tidy-po): {duplicates}"
