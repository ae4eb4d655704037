"""Read a party branch's yearly work plan (工作方案) into structured data.

`read_plan(data, filename="", year=None)` accepts the bytes of a UTF-8 /
GB18030 text file or of a .docx (detected by content, never by name), or a
pasted `str`, and returns a JSON-able dict (see `read_plan`). Anything it cannot
use raises `ReadError` with one Simplified-Chinese line for the user.

Pure: stdlib + python-docx. Structure decisions:
- Sections: every heading (一、 / 第一部分 / 第一章 / （一）) that directly precedes
  tasks becomes a section ("nearest heading wins"). So with 一、 headings holding
  tasks, 一、 are the sections; with 三、主要任务 → （一）… → 1., the （一）
  sub-headings are the sections and the task-less 三、 is dropped. Headings that
  precede no task (指导思想, 保障措施) produce no section.
- Tasks: the first numbering family seen (1. 1、 1．  or  （1） (1) 1)) is the task
  numbering; lines in the other family are body text (sub-points). If no task is
  found, plans numbered （一）… and then 一、… as paragraphs are tried (in the
  一、 pass, 一、 headings are siblings of tasks, so they make no sections).
- Fields: a short paragraph after a field line whose value has no closing
  punctuation continues that value (wrapped lines); a longer one goes to the body
  with a warning. Trailing text after a website footer line is dropped.
- .docx tables: a header row (序号/任务/具体内容/负责人/成员/工作时限 variants) makes
  one task per row; the 任务 cell is the title verbatim, 具体内容 the body.
- `filename` is informational only; the format is detected from the bytes.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

from lxml import etree

from .obligations import KINDS, LEVELS, find_requirements
from .timelimits import cn_to_int, parse_time_limit

__all__ = ["read_plan", "ReadError", "KINDS", "LEVELS"]

MAX_INPUT_BYTES = 50 * 1024 * 1024
MAX_DOCX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_DOCX_MEMBERS = 2000
MAX_TASK_NUMBER = 200


class ReadError(Exception):
    """The input cannot be read as a plan; str(error) is one Chinese line for the user."""


NOT_READABLE = "无法读取文件：不是文本或 .docx 文档"
NO_TASKS = "未找到任何任务（应为“1.”“1、”“（1）”等编号的段落）"


# ---------------------------------------------------------------- items

@dataclass
class _Line:
    text: str


@dataclass
class _RowSection:
    number: str
    title: str


@dataclass
class _RowTask:
    number: int | None
    title: str
    body: str
    fields: dict[str, list[str]]


# ---------------------------------------------------------------- decoding

_SPACE_RE = re.compile(r"[ \t\u3000\xa0\u2000-\u200a\u202f\u205f]+")
_ZERO_WIDTH_RE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")


def _norm(text: str) -> str:
    return _SPACE_RE.sub(" ", _ZERO_WIDTH_RE.sub("", text)).strip()


def _lines(text: str) -> list[_Line]:
    return [_Line(t) for t in (_norm(s) for s in text.splitlines()) if t]


def _looks_binary(text: str) -> bool:
    """Control or unassigned characters betray a binary file; private-use ones
    (Word bullet glyphs) only in bulk."""
    control = private = 0
    for ch in text:
        category = unicodedata.category(ch)
        if ch == "\ufffd" or (category in ("Cc", "Cn", "Cs") and ch not in "\t\n\r\f\v"):
            control += 1
        elif category == "Co":
            private += 1
    return control > max(2, len(text) // 100) or private > max(10, len(text) // 10)


def _decode_text(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ReadError(NOT_READABLE) from None
    elif b"\x00" in data:
        raise ReadError(NOT_READABLE)
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ReadError(NOT_READABLE)
    if _looks_binary(text):
        raise ReadError(NOT_READABLE)
    return text


_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _open_docx_zip(data: bytes) -> None:
    """Refuse zips that are not .docx or would inflate too much (zip bombs)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {info.filename for info in infos}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise ReadError(NOT_READABLE) from None
    if len(infos) > MAX_DOCX_MEMBERS or sum(i.file_size for i in infos) > MAX_DOCX_UNCOMPRESSED:
        raise ReadError("无法读取文件：文档解压后超过 50 MB，已拒绝")
    if "word/document.xml" not in names:
        raise ReadError(NOT_READABLE)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)  # one per call: not thread-safe
    try:  # a damaged part or a DOCTYPE is refused before python-docx parses anything
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in infos:
                if info.filename.lower().endswith((".xml", ".rels")):
                    content = zf.read(info)
                    if _DOCTYPE.search(content):
                        raise ReadError("无法读取文件：文档含有 DOCTYPE 声明（Word 文档从不包含），已拒绝")
                    etree.fromstring(content, parser)
    except ReadError:
        raise
    except Exception:  # truncated members (zlib, CRC), malformed XML
        raise ReadError("无法读取文件：.docx 文档已损坏或不完整，请在 Word 中重新保存后再导入") from None


def _load(data: bytes | str) -> list:
    """Input -> list of items (_Line / _RowSection / _RowTask) in document order."""
    if isinstance(data, str):
        if _looks_binary(data):
            raise ReadError(NOT_READABLE)
        return _lines(data)
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes or str")
    if len(data) > MAX_INPUT_BYTES:
        raise ReadError("无法读取文件：文件超过 50 MB")
    if data.startswith(b"PK\x03\x04"):
        _open_docx_zip(data)
        return _docx_items(data)
    if data.startswith(b"\xd0\xcf\x11\xe0") and "EncryptedPackage".encode("utf-16-le") in data:
        raise ReadError("无法读取文件：文档设置了密码，请在 Word 中取消密码后再导入")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError("无法读取文件：不支持旧版 Word（.doc）格式，请另存为 .docx 后再导入")
    if data.startswith(b"%PDF"):
        raise ReadError("无法读取文件：不支持 PDF，请导入 .docx 或文本文件")
    if data.lstrip().startswith(b"{\\rtf"):
        raise ReadError("无法读取文件：不支持 RTF，请另存为 .docx 后再导入")
    return _lines(_decode_text(data))


# ---------------------------------------------------------------- .docx

_COLUMN_ROLES = [
    ("number", re.compile(r"^(?:序号|编号|序)$")),
    ("body", re.compile(r"具体内容|工作内容|主要内容|任务内容|具体措施|工作措施|主要措施|内容|措施|举措")),
    ("lead", re.compile(r"负责人|责任人|责任领导|牵头单位|责任单位|责任部门|牵头部门|牵头领导")),
    ("members", re.compile(r"成员|配合单位|参与人|配合部门|参与单位|协助单位|协同单位")),
    ("deadline", re.compile(r"时限|时间节点|时间安排|完成时间|时间")),
    ("title", re.compile(r"任务|项目|事项")),
]


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CN_FORMATS = {"chineseCounting", "chineseCountingThousand", "ideographTraditional",
               "taiwaneseCounting", "japaneseCounting", "koreanCounting"}


def _int_to_cn(n: int) -> str:
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + ("" if ones == 0 else digits[ones])


class _ListNumbers:
    """Word's automatic list numbers ("1." "（一）") are not in the text; render them."""

    def __init__(self, document):
        self.num_to_abstract: dict[str, str] = {}
        self.levels: dict[tuple[str, str], tuple[str, str, int]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.style_num: dict[str, tuple[str | None, str | None]] = {}
        try:
            numbering = document.part.numbering_part.element
        except Exception:  # no numbering part: nothing is auto-numbered
            return
        for num in numbering.iter(_W + "num"):
            abstract = num.find(_W + "abstractNumId")
            if abstract is not None:
                self.num_to_abstract[num.get(_W + "numId")] = abstract.get(_W + "val")
        for abstract in numbering.iter(_W + "abstractNum"):
            for lvl in abstract.iter(_W + "lvl"):
                fmt, text, start = (lvl.find(_W + tag) for tag in ("numFmt", "lvlText", "start"))
                self.levels[(abstract.get(_W + "abstractNumId"), lvl.get(_W + "ilvl"))] = (
                    fmt.get(_W + "val") if fmt is not None else "decimal",
                    text.get(_W + "val") if text is not None else "",
                    int(start.get(_W + "val")) if start is not None else 1)
        for style in document.styles.element.iter(_W + "style"):
            num_pr = style.find(f"{_W}pPr/{_W}numPr")
            if num_pr is not None:
                self.style_num[style.get(_W + "styleId")] = self._num_pr(num_pr)

    @staticmethod
    def _num_pr(num_pr) -> tuple[str | None, str | None]:
        num_id, ilvl = num_pr.find(_W + "numId"), num_pr.find(_W + "ilvl")
        return (num_id.get(_W + "val") if num_id is not None else None,
                ilvl.get(_W + "val") if ilvl is not None else None)

    def label(self, p) -> str:
        num_id, ilvl = None, None
        num_pr = p.find(f"{_W}pPr/{_W}numPr")
        if num_pr is not None:
            num_id, ilvl = self._num_pr(num_pr)
        style = p.find(f"{_W}pPr/{_W}pStyle")
        if num_id is None and style is not None:
            num_id, ilvl = self.style_num.get(style.get(_W + "val"), (None, None))
        abstract = self.num_to_abstract.get(num_id or "0")
        if abstract is None:
            return ""
        level = int(ilvl or 0)
        fmt, text, start = self.levels.get((abstract, str(level)), ("decimal", "", 1))
        counts = self.counters.setdefault(abstract, {})
        counts[level] = counts.get(level, start - 1) + 1
        for deeper in [k for k in counts if k > level]:
            del counts[deeper]  # a higher level restarts the levels under it
        if fmt in ("bullet", "none") or not text:
            return ""

        def render(m: re.Match) -> str:
            index = int(m.group(1)) - 1
            value = counts.get(index, 1)
            level_fmt = self.levels.get((abstract, str(index)), ("decimal",))[0]
            return _int_to_cn(value) if level_fmt in _CN_FORMATS and value < 100 else str(value)

        return re.sub(r"%(\d)", render, text)


def _docx_items(data: bytes) -> list:
    import docx  # python-docx; imported here so text input never needs it
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # python-docx raises many kinds on broken packages
        raise ReadError("无法读取文件：.docx 文档已损坏或格式不受支持") from None
    lists = _ListNumbers(document)

    def paragraph_lines(p) -> list[_Line]:
        text = Paragraph(p, document).text
        label = lists.label(p) if text.strip() else ""
        return _lines(label + text)

    items: list = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            items += paragraph_lines(child)
        elif tag == "tbl":
            items += _table_items(Table(child, document))
        elif tag == "sdt":  # content controls wrap ordinary paragraphs
            for p in child.iter(_W + "p"):
                items += paragraph_lines(p)
    return items


def _row_cells(row) -> list:
    """Grid-aligned cells; merged cells repeat, leading gaps become None."""
    return [None] * getattr(row, "grid_cols_before", 0) + list(row.cells)


def _cell_text(cell, sep: str = "\n") -> str:
    if cell is None:
        return ""
    return sep.join(t for t in (_norm(p) for p in cell.text.splitlines()) if t)


def _header_roles(cells: list) -> dict[str, list[int]]:
    roles: dict[str, list[int]] = {}
    for index, cell in enumerate(cells):
        name = re.sub(r"\s+", "", _cell_text(cell))
        if not name or len(name) > 12:
            continue
        for role, pattern in _COLUMN_ROLES:
            if pattern.search(name):
                roles.setdefault(role, []).append(index)
                break
    is_header = ("title" in roles or "body" in roles) and len(roles) >= 2
    return roles if is_header else {}


def _distinct_texts(cells: list) -> list[str]:
    seen, texts = set(), []
    for cell in cells:
        if cell is not None and id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            text = _cell_text(cell)
            if text:
                texts.append(text)
    return texts


def _column_values(cells: list, cols: list[int]) -> list[str]:
    """Non-empty texts of `cols`, once per merged cell."""
    seen, values = set(), []
    for i in cols:
        cell = cells[i] if i < len(cells) else None
        if cell is not None and id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            if value := _cell_text(cell, ""):
                values.append(value)
    return values


def _table_items(table) -> list:
    rows = [_row_cells(row) for row in table.rows]
    header_at, roles = None, {}
    for index, cells in enumerate(rows):
        roles = _header_roles(cells)
        if roles:
            header_at = index
            break
    if header_at is None:  # a layout table: read its text in order
        return [line for cells in rows for text in _distinct_texts(cells) for line in _lines(text)]
    items: list = [line for cells in rows[:header_at]
                   for text in _distinct_texts(cells) for line in _lines(text)]
    for cells in rows[header_at + 1:]:
        item = _row_item(cells, roles)
        if item is not None:
            items.append(item)
    return items


def _row_item(cells: list, roles: dict[str, list[int]]):
    distinct = _distinct_texts(cells)
    if not distinct:
        return None
    if len(distinct) <= 2:  # merged section row, or 一 | 夯实… with the rest blank
        joined = distinct[0] if len(distinct) == 1 else "、".join(distinct)
        if re.fullmatch(r"[一二三四五六七八九十]+", distinct[0]) or _heading(joined):
            heading = _heading(joined) or (1, distinct[0], distinct[-1] if len(distinct) > 1 else "")
            return _RowSection(heading[1], heading[2])
        if len(distinct) == 1 and len(cells) > 1 and all(
                c is not None and c._tc is cells[0]._tc for c in cells if c is not None):
            return _Line(distinct[0])  # a merged note row: not a task

    def text(role: str, sep: str = "\n") -> str:
        cols = roles.get(role, [])
        return sep.join(t for t in (_cell_text(cells[i], sep) for i in cols if i < len(cells)) if t)

    title, body = text("title", ""), text("body")
    number = None
    digits = re.search(r"\d+", text("number"))
    if digits:
        number = int(digits.group(0))
    numbered = _task_number(title, ("A", "B")) if title else None
    if numbered:
        number = number if number is not None else numbered[1]
        title = numbered[2]
    if not title and not body:
        return None
    if not title:
        title, body = _split_title(body)
    fields = {key: _column_values(cells, roles.get(key, [])) for key in ("lead", "members", "deadline")}
    return _RowTask(number, title, body, fields)


# ---------------------------------------------------------------- line kinds

_STRONG_NOISE_RE = re.compile(
    r"加入收藏|预计阅读|阅读时长|共计\s*\d+\s*个?字|领取福利|扫码(?:领取|分享|下载|关注|阅读)"
    r"|本文(?:来源|地址|链接)|原文链接|版权所有|免责声明|上一篇|下一篇|相关推荐|猜你喜欢"
    r"|热门推荐|相关文章|返回顶部|记住我"
)
# Web-page furniture; only short lines count, so real sentences mentioning 微信 stay.
_WEAK_NOISE_RE = re.compile(
    r"分享到|^分享$|收藏本|扫码|扫一扫|二维码|关注公众号|文库|点击(?:查看|下载|阅读|进入|这里)"
    r"|打印本页|关闭窗口|举报|浏览(?:次数|量)|阅读(?:次数|量|全文)|下载(?:文档|全文|本文|地址)"
    r"|^(?:来源|作者|发布时间|发布日期)[:：]|[>›»|]"
)
_FOOTER_RE = re.compile(
    r"领取福利|扫码(?:领取|分享|下载|关注)|微信扫一扫|上一篇|下一篇|相关推荐|猜你喜欢|热门推荐"
    r"|相关文章|版权所有|免责声明|返回顶部|本文(?:来源|地址|链接)"
)
_SIGNATURE_RE = re.compile(
    r"^(?:(?:19|20)\d{2}|[〇零○一二三四五六七八九]{4})\s*年.{1,3}月.{1,3}日$"
    r"|^(?:中共)?\S{0,20}(?:党总支|党总支部|总支部委员会|党委|办公室)$"
)


def _is_noise(text: str) -> bool:
    if _STRONG_NOISE_RE.search(text):
        return True
    if re.fullmatch(r"\d+|[\W_]+", text):  # lone numbers, rules, bullets
        return True
    return len(text) <= 30 and bool(_WEAK_NOISE_RE.search(text))


_TASK_RES = {
    "A": re.compile(r"^(\d{1,3})\s*[.．、]\s*(?![\d年月日号%％])(\S.*)$"),
    "B": re.compile(r"^(?:[（(]\s*(\d{1,3})\s*[）)]|(\d{1,3})\s*[)）])\s*(?![年月日号])(\S.*)$"),
    "C": re.compile(r"^[（(]\s*([一二三四五六七八九十]{1,3})\s*[）)]\s*(\S.*)$"),
    "D": re.compile(r"^([一二三四五六七八九十]{1,3})\s*[、.．]\s*(\S.*)$"),
}
_HEADING_RES = [
    (1, re.compile(r"^([一二三四五六七八九十百]{1,3})\s*[、.．]\s*(\S.*)$")),
    (1, re.compile(r"^第\s*([一二三四五六七八九十百\d]{1,3})\s*(?:部分|章|篇)\s*[、:：.．]?\s*(.*)$")),
    (2, re.compile(r"^[（(]\s*([一二三四五六七八九十]{1,3})\s*[）)]\s*(\S.*)$")),
]


def _task_number(text: str, families) -> tuple[str, int, str] | None:
    """(family, number, rest) if `text` opens a numbered task of one of `families`."""
    for family in families:
        m = _TASK_RES[family].match(text)
        if not m:
            continue
        groups = [g for g in m.groups() if g is not None]
        number = cn_to_int(groups[0])
        if number is not None and 1 <= number <= MAX_TASK_NUMBER:
            return family, number, groups[-1]
    return None


def _heading(text: str) -> tuple[int, str, str] | None:
    """(level, number, title) if `text` is a short section heading line."""
    for level, rx in _HEADING_RES:
        m = rx.match(text)
        if not m:
            continue
        title = m.group(2).strip()
        # A heading is short and holds no full sentence (a trailing 。 is fine).
        if len(title) <= 40 and "。" not in title.rstrip("。"):
            return level, m.group(1), title
    return None


# ---------------------------------------------------------------- fields

_FIELD_KEYS = {
    "lead": ["负责人", "责任人", "责任领导", "牵头单位", "责任单位", "责任部门", "牵头部门", "牵头领导"],
    "members": ["成员", "配合单位", "参与人员", "参与人", "配合部门", "参与单位", "协助单位", "协同单位"],
    "deadline": ["工作时限", "完成时限", "时间节点", "时间安排", "完成时间", "时限"],
}
_LABEL_KEY = {label: key for key, labels in _FIELD_KEYS.items() for label in labels}
_LABELS = sorted(_LABEL_KEY, key=len, reverse=True)
# Labels may be letter-spaced in Word ("负 责 人"); 主要负责人 counts as 负责人.
_LABEL_RE = "(?:主要|具体)?(?P<label>" + "|".join(r"\s*".join(lb) for lb in _LABELS) + r")\s*[:：]"
_FIELD_AT_START_RE = re.compile("^" + _LABEL_RE)
_FIELD_INLINE_RE = re.compile(r"(?:^|(?<=[。；;，,\s）)]))" + _LABEL_RE)


def _split_fields(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split "…。负责人：张三；工作时限：3月底前" into ("…。", [(lead, 张三), …])."""
    matches = list(_FIELD_INLINE_RE.finditer(text))
    if not matches:
        return text, []
    pairs = []
    for i, m in enumerate(matches):
        last = i + 1 == len(matches)
        value = text[m.end():len(text) if last else matches[i + 1].start()].strip()
        if not last:  # the separator before the next label is not part of the value
            value = value.rstrip("；;，, ").strip()
        pairs.append((_LABEL_KEY[re.sub(r"\s+", "", m["label"])], value))
    return text[:matches[0].start()].strip(), pairs


def _join_wrapped(first: str, second: str) -> str:
    """Join a value that wrapped onto the next paragraph: no space between CJK."""
    if first and second and first[-1].isascii() and first[-1].isalnum() \
            and second[0].isascii() and second[0].isalnum():
        return f"{first} {second}"
    return first + second


def _split_title(text: str) -> tuple[str, str]:
    """Title = first sentence (keeping its 。), body = the rest."""
    m = re.search(r"[。!！?？]", text)
    if not m:
        return text.strip(), ""
    return text[:m.end()].strip(), text[m.end():].strip()


# ---------------------------------------------------------------- title and year

_TITLE_WORDS_RE = re.compile(r"方案|计划|清单|要点|任务|台账|安排|规划")
_YEAR_RE = re.compile(r"((?:19|20)\d{2})\s*(?=年|[-—–~～至]\s*(?:19|20)\d{2})"
                      r"|([〇零○一二三四五六七八九]{4})\s*年")


def _year_in(text: str) -> int | None:
    m = _YEAR_RE.search(text)
    if not m:
        return None
    return int(m.group(1)) if m.group(1) else cn_to_int(m.group(2))


def _is_title_candidate(text: str) -> bool:
    return (4 <= len(text) <= 60 and bool(_TITLE_WORDS_RE.search(text))
            and not re.search(r"[。，,；;>›»|]|[:：]$|文库|范文|大全|下载", text)
            and not _STRONG_NOISE_RE.search(text) and not _FIELD_AT_START_RE.match(text))


def _find_title(items: list) -> tuple[str, int]:
    """The last title-like line before the first heading or task, and where to go on.

    Lines naming a year win; a title without a year is the fallback."""
    with_year, without_year = ("", 0), ("", 0)
    for index, item in enumerate(items):
        if not isinstance(item, _Line):
            break
        if _heading(item.text) or _task_number(item.text, ("A", "B")):
            break
        if _is_title_candidate(item.text):
            if _year_in(item.text) is not None:
                with_year = (item.text, index + 1)
            else:
                without_year = (item.text, index + 1)
    return with_year if with_year[0] else without_year


# ---------------------------------------------------------------- parser

@dataclass
class _Task:
    number: int
    title: str
    body: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=lambda: {"lead": [], "members": [], "deadline": []})
    warnings: list[str] = field(default_factory=list)


class _Parser:
    """A line-by-line state machine: heading -> task -> body -> field lines."""

    def __init__(self, title: str, families: tuple[str, ...]):
        self.title = title
        self.families = families  # task numbering families allowed in this pass
        self.family: str | None = None
        self.sections: list[dict] = []
        self.heading: tuple[str, str] | None = None  # (number, title) of the nearest heading
        self.section_heading: object = False  # heading the last section was made for
        self.task: _Task | None = None
        self.mode = "closed"  # "body" | "fields" | "closed" (text after it is not ours)
        self.last_field: str | None = None
        self.stopped = False

    # -- structure

    def _start_task(self, number: int | None, title: str) -> _Task:
        if not self.sections or self.section_heading != self.heading:
            number_, title_ = self.heading or ("", "")
            self.sections.append({"number": number_, "title": title_, "tasks": []})
            self.section_heading = self.heading
        previous = self.all_tasks()
        if number is None:
            number = previous[-1].number + 1 if previous else 1
        self.task = _Task(number, title)
        self.sections[-1]["tasks"].append(self.task)
        self.last_field = None
        return self.task

    def all_tasks(self) -> list[_Task]:
        return [t for s in self.sections for t in s["tasks"]]

    def _add_fields(self, pairs: list[tuple[str, str]]) -> None:
        for key, value in pairs:
            self.task.fields[key].append(value)
            self.last_field = key
        self.mode = "fields"

    # -- feeding

    def feed(self, items: list) -> None:
        for item in items:
            if self.stopped:
                break
            if isinstance(item, _RowSection):
                self.heading, self.mode = (item.number, item.title), "closed"
            elif isinstance(item, _RowTask):
                task = self._start_task(item.number, item.title)
                if item.body:
                    task.body.append(item.body)
                for key, values in item.fields.items():
                    task.fields[key] += values
                self.mode = "closed"
            else:
                self._line(item.text)

    def _line(self, text: str) -> None:
        if self.all_tasks() and _FOOTER_RE.search(text) and len(text) <= 40:
            self.stopped = True  # website footer: what follows is not the plan
            return
        if text == self.title:
            return
        if _FIELD_AT_START_RE.match(text):
            if self.task is not None and self.mode != "closed":
                self._add_fields(_split_fields(text)[1])
            return
        heading = _heading(text)
        numbered = _task_number(text, self.families)
        if numbered and numbered[0] == "D" and heading:
            numbered = None  # 一、 paragraphs are tasks only when they are not short headings
        if numbered and self.family in (None, numbered[0]):
            self.family = numbered[0]
            self._task_line(numbered[1], numbered[2])
        elif heading and not numbered:
            if not (self.families == ("D",) and heading[0] == 1):  # siblings of 一、 tasks
                self.heading = (heading[1], heading[2])
            self.mode = "closed"
        elif not _is_noise(text):
            self._text(text)

    def _task_line(self, number: int, rest: str) -> None:
        head, pairs = _split_fields(rest)
        title, body = _split_title(head)
        task = self._start_task(number, title)
        if body:
            task.body.append(body)
        self.mode = "body"
        if pairs:
            self._add_fields(pairs)

    def _text(self, text: str) -> None:
        if self.task is None or self.mode == "closed":
            return  # preamble, or prose under a heading without tasks
        if self.mode == "fields" and self._continue_field(text):
            return
        if self.all_tasks() and _SIGNATURE_RE.match(text):
            return  # issuer and date under the plan
        head, pairs = _split_fields(text)
        if head:
            if self.mode == "fields":
                self.task.warnings.append(f"字段之后的段落“{head[:20]}…”已并入具体内容，请人工核对")
            self.task.body.append(head)
        if pairs:
            self._add_fields(pairs)

    def _continue_field(self, text: str) -> bool:
        """A short paragraph after a field line continues that field's value."""
        values = self.task.fields[self.last_field] if self.last_field else []
        if not values or len(text) > 40 or _split_fields(text)[1]:
            return False
        last = values[-1]
        if last and not re.search(r"[。！？!?；;]$", last):
            values[-1] = _join_wrapped(last, text)
            return True
        if not last and "。" not in text.rstrip("。"):
            values[-1] = text
            return True
        return False


# ---------------------------------------------------------------- output

def _task_label(task: _Task, duplicates: set[int], section_number: str) -> str:
    if task.number in duplicates and section_number:
        return f"{section_number}、任务{task.number}"
    return f"任务{task.number}"


def _join_values(values: list[str]) -> str:
    """Several leads or members, without the separators left at line ends."""
    return "；".join(v for v in (v.rstrip("；;，,、 ") for v in values) if v)


def _task_dict(task: _Task, plan_year: int, label: str, warnings: list[str]) -> dict:
    deadline_text = "；".join(v for v in task.fields["deadline"] if v)
    limit = parse_time_limit(deadline_text, plan_year)
    body = "\n".join(task.body).strip()
    requirements, req_warnings = find_requirements(f"{task.title}\n{body}")
    warnings += [f"{label}：{w}" for w in task.warnings + limit.warnings + req_warnings]
    return {
        "number": task.number,
        "title": task.title,
        "body": body,
        "lead": _join_values(task.fields["lead"]),
        "members": _join_values(task.fields["members"]),
        "deadline_text": deadline_text,
        "starts_on": limit.starts_on.isoformat() if limit.starts_on else None,
        "due_on": limit.due_on.isoformat() if limit.due_on else None,
        "ongoing": limit.ongoing,
        "requirements": requirements,
    }


def _numbering_warnings(numbers: list[int]) -> list[str]:
    warnings = []
    for previous, number in zip(numbers, numbers[1:]):
        if number not in (previous + 1, 1):
            warnings.append(f"任务编号从{previous}跳到{number}，请核对是否漏读或多读了任务")
    return warnings


def _parse(items: list, title: str) -> _Parser:
    # Arabic numbering first; plans numbered only （一） or 一、 as paragraphs are fallbacks.
    for families in (("A", "B"), ("C",), ("D",)):
        parser = _Parser(title, families)
        parser.feed(items)
        if parser.all_tasks():
            return parser
    raise ReadError(NO_TASKS)


def read_plan(data: bytes | str, filename: str = "", year: int | None = None) -> dict:
    """Read a work plan. `filename` is informational only: the content decides the format.

    Returns {"title", "year", "sections": [{"number", "title", "tasks": [...]}], "warnings"}.
    """
    items = _load(data)
    if not items:
        raise ReadError("文件为空")
    title, start = _find_title(items)
    warnings: list[str] = []
    title_year = _year_in(title) if title else None
    if year is None:
        if title_year is None:
            raise ReadError("未能确定方案年份：标题中没有“20XX年”，请指定年份")
        year = title_year
    elif title_year is not None and title_year != year:
        warnings.append(f"指定的年份{year}与标题中的年份{title_year}不一致，已按{year}年处理")
    if not title:
        warnings.append("未找到方案标题（含年份和“方案”“计划”等字样的一行），请人工填写")
    parser = _parse(items[start:], title)
    tasks = parser.all_tasks()
    numbers = [t.number for t in tasks]
    duplicates = {n for n in numbers if numbers.count(n) > 1}
    warnings += _numbering_warnings(numbers)
    sections = []
    for section in parser.sections:
        out = []
        for task in section["tasks"]:
            label = _task_label(task, duplicates, section["number"])
            out.append(_task_dict(task, year, label, warnings))
        sections.append({"number": section["number"], "title": section["title"], "tasks": out})
    missing = [_task_label(t, duplicates, s["number"]) for s in parser.sections
               for t in s["tasks"] if not any(t.fields["deadline"])]
    if missing:
        warnings.append(f"以下任务没有工作时限：{'、'.join(missing)}")
    return {"title": title, "year": year, "sections": sections, "warnings": warnings}
