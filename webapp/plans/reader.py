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
from collections import Counter
from dataclasses import dataclass, field

from lxml import etree

from .obligations import KINDS, LEVELS, REPORT_KINDS, find_requirements_detailed
from .timelimits import cn_to_int, deadline_in_prose, parse_time_limit

__all__ = ["read_plan", "ReadError", "KINDS", "LEVELS", "REPORT_KINDS"]

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


@dataclass
class _Note:
    """A warning found while loading (a table column that maps to no field)."""
    text: str


# ---------------------------------------------------------------- decoding

_SPACE_RE = re.compile(r"[ \t\u3000\xa0\u2000-\u200a\u202f\u205f]+")
_ZERO_WIDTH_RE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")


def _norm(text: str) -> str:
    return _SPACE_RE.sub(" ", _ZERO_WIDTH_RE.sub("", text)).strip()


def _lines(text: str) -> list[_Line]:
    return [_Line(t) for t in (_norm(s) for s in text.splitlines()) if t]


def _looks_binary(text: str) -> bool:
    """Control or unassigned characters betray a binary file; private-use ones
    (Word bullet glyphs) only in bulk. Counted per distinct character (linear, in C)."""
    control = private = 0
    for ch, n in Counter(text).items():
        category = unicodedata.category(ch)
        if ch == "\ufffd" or (category in ("Cc", "Cn", "Cs") and ch not in "\t\n\r\f\v"):
            control += n
        elif category == "Co":
            private += n
    return control > max(2, len(text) // 100) or private > max(10, len(text) // 10)


TRUNCATED = "文件末尾有一个不完整的字符（可能是下载时被截断），已忽略该字符，请核对最后一段"


def _decode_text(data: bytes, warnings: list[str]) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ReadError(NOT_READABLE) from None
    elif b"\x00" in data:
        raise ReadError(NOT_READABLE)
    else:
        text = None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            # A page cut off mid-character: only the last 1-3 bytes fail to decode.
            if error.start >= len(data) - 3 and "end of data" in error.reason:
                try:
                    text = data[:error.start].decode("utf-8-sig")
                    warnings.append(TRUNCATED)
                except UnicodeDecodeError:
                    text = None
        if text is None:
            for cut in (0, 1):
                try:
                    text = data[:len(data) - cut].decode("gb18030")
                    if cut:
                        warnings.append(TRUNCATED)
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


def _load(data: bytes | str, warnings: list[str]) -> list:
    """Input -> list of items (_Line / _RowSection / _RowTask / _Note) in document order."""
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
    return _lines(_decode_text(data, warnings))


# ---------------------------------------------------------------- .docx

_COLUMN_ROLES = [
    ("number", re.compile(r"^(?:序号|编号|序)$")),
    ("category", re.compile(r"^(?:类别|类型|分类|方面|领域|板块|项目类别|任务类别|工作类别)$")),
    ("body", re.compile(r"具体内容|工作内容|主要内容|任务内容|具体措施|工作措施|主要措施|工作举措|具体举措"
                        r"|内容|措施|举措")),
    ("text", re.compile(r"分管领导|分管校领导|分管院领导")),  # kept in the task's text
    ("lead", re.compile(r"牵头单位|牵头部门|牵头责任单位|牵头科室|牵头领导|负责人|牵头")),
    ("lead_weak", re.compile(r"责任单位|责任部门|责任人|责任领导|责任科室|责任处室|责任主体")),
    ("members", re.compile(r"成员|配合单位|参与人|配合部门|参与部门|参与单位|协助单位|协同单位|协办单位|配合")),
    ("deadline", re.compile(r"时限|时间节点|时间安排|完成时间|进度安排|完成期限|时间|^月份$|^日期$|^周次$")),
    ("title", re.compile(r"任务|项目|事项|目标|主题|重点工作|主要工作|工作名称")),
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


def _header_roles(cells: list) -> tuple[dict[str, list[int]], list[tuple[int, str]]]:
    """Column roles of a header row, and the (index, name) of columns that map to no field."""
    roles: dict[str, list[int]] = {}
    unmapped: list[tuple[int, str]] = []
    seen: set[int] = set()
    for index, cell in enumerate(cells):
        if cell is None or id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        name = re.sub(r"\s+", "", _cell_text(cell))
        if not name:
            continue
        for role, pattern in _COLUMN_ROLES:
            if len(name) <= 12 and pattern.search(name):
                roles.setdefault(role, []).append(index)
                break
        else:
            unmapped.append((index, name))
    if not (("title" in roles or "body" in roles) and len(roles) >= 2):
        return {}, []
    # 责任单位 beside a 牵头单位 column names the units that join; alone, the lead.
    weak = roles.pop("lead_weak", [])
    if weak:
        roles.setdefault("members" if "lead" in roles else "lead", []).extend(weak)
    leads = roles.get("lead", [])
    leaders = [i for i in leads if "领导" in _cell_text(cells[i])]
    if leaders and len(leaders) < len(leads):  # 牵头领导 beside 牵头部门: the unit leads
        roles["lead"] = [i for i in leads if i not in leaders]
        roles.setdefault("text", []).extend(leaders)
    for index in roles.get("text", []):
        unmapped.append((index, re.sub(r"\s+", "", _cell_text(cells[index]))))
    return roles, sorted(unmapped)


def _distinct_texts(cells: list) -> list[str]:
    seen, texts = set(), []
    for cell in cells:
        if cell is not None and id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            text = _cell_text(cell)
            if text:
                texts.append(text)
    return texts


def _column_values(cells: list, cols: list[int], sep: str = "") -> list[str]:
    """Non-empty texts of `cols`, once per merged cell; a cell's paragraphs joined by `sep`."""
    seen, values = set(), []
    for i in cols:
        cell = cells[i] if i < len(cells) else None
        if cell is not None and id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            parts = [t for t in (_norm(p) for p in cell.text.splitlines()) if t]
            value = _joined(parts) if sep == "\n" else sep.join(parts)
            if value:
                values.append(value)
    return values


def _joined(parts: list[str]) -> str:
    """Texts of several cells or paragraphs as one: a separator unless a sentence already ends."""
    out = ""
    for part in parts:
        if out and not re.search(r"[。；;！!？?，,、：:]$", out):
            out += "；"
        out += part
    return out


def _table_items(table) -> list:
    rows = [_row_cells(row) for row in table.rows]
    header_at, roles, unmapped = None, {}, []
    for index, cells in enumerate(rows):
        roles, unmapped = _header_roles(cells)
        if roles:
            header_at = index
            break
    if header_at is None:  # a layout table: read its text in order
        return [line for cells in rows for text in _distinct_texts(cells) for line in _lines(text)]
    items: list = [line for cells in rows[:header_at]
                   for text in _distinct_texts(cells) for line in _lines(text)]
    header = rows[header_at]
    items += [_Note(f"表格的“{name}”列不对应任何字段，其内容已并入任务的具体内容，请人工核对")
              for _, name in unmapped]
    category_col = roles.get("category", [None])[0]
    first_is_title_only = roles.get("title") == [0] and "body" not in roles
    if category_col is None and not first_is_title_only and 0 not in {
            i for role, cols in roles.items() if role not in ("title", "body") for i in cols}:
        # An unnamed first column whose cells span several rows is a category column.
        tcs = [id(cells[0]._tc) for cells in rows[header_at + 1:] if cells and cells[0] is not None]
        if len(tcs) != len(set(tcs)):
            category_col = 0
            for role in ("title", "body"):
                if 0 in roles.get(role, []):
                    roles[role] = [i for i in roles[role] if i != 0]
                    if not roles[role]:
                        del roles[role]
            unmapped = [(i, n) for i, n in unmapped if i != 0]
            items = [item for item in items if not (isinstance(item, _Note)
                     and item.text.startswith(f"表格的“{_cell_text(header[0])}”列"))]
    extra_cols = [(i, name) for i, name in unmapped if i != category_col]
    category = None
    for cells in rows[header_at + 1:]:
        if category_col is not None and category_col < len(cells) and cells[category_col] is not None:
            cell = cells[category_col]
            text = _cell_text(cell, "")
            if text and id(cell._tc) != category:
                heading = _heading(text)
                items.append(_RowSection(*(heading[1:] if heading else ("", text))))
            category = id(cell._tc)
        item = _row_item(cells, roles, extra_cols, skip=category_col)
        if item is not None:
            items.append(item)
    return items


def _row_item(cells: list, roles: dict[str, list[int]], extra_cols=(), skip=None):
    distinct = _distinct_texts([c for i, c in enumerate(cells) if i != skip])
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

    def column(role: str, sep: str) -> list[str]:
        return _column_values(cells, roles.get(role, []), sep)

    title, body = _joined(column("title", "\n")), text("body")
    number = None
    digits = re.search(r"\d+", text("number"))
    if digits:
        number = int(digits.group(0))
    numbered = _task_number(title, ("A", "B")) if title else None
    if numbered:
        number = number if number is not None else numbered[1]
        title = numbered[2]
    extra = [f"{name}：{value}" for i, name in extra_cols
             if i < len(cells) and (value := _cell_text(cells[i], "；"))]
    if not title and not body:
        return None
    if not title:
        title, body = _split_title(body)
    body = "\n".join(part for part in [body] + extra if part)
    fields = {"lead": column("lead", "、"), "members": column("members", "、"),
              "deadline": column("deadline", "，")}
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
    "A": re.compile(r"^(\d{1,3})\s*[.．、]\s*(?!(?!\d{1,2}\s*月份?\s*[:：])[\d年月日号%％])(\S.*)$"),
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
    "lead": ["负责人", "牵头单位", "牵头部门", "牵头领导", "牵头责任单位", "牵头科室", "主责单位", "主责部门",
             "负责单位", "负责部门"],
    # 责任单位 beside a 牵头单位 names the units that carry the task out (members); alone, the lead.
    "lead_weak": ["责任人", "责任领导", "责任单位", "责任部门", "责任科室", "责任处室", "分管领导"],
    "members": ["成员", "配合单位", "参与人员", "参与人", "配合部门", "参与单位", "参与部门", "协助单位",
                "协同单位", "协办单位", "协办部门", "配合科室"],
    "deadline": ["工作时限", "完成时限", "时间节点", "时间安排", "完成时间", "时限", "进度安排", "完成期限",
                 "时间要求", "时间"],
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


# Responsibility clauses in brackets: 〔责任单位：宣传部〕 （学生处牵头，教务处、后勤处配合）
_BRACKET_RE = re.compile(r"[（(〔【\[]\s*([^（）()〔〕【】\[\]]{2,120}?)\s*[）)〕】\]]")
_CLAUSE_WORD_RE = re.compile(r"牵头|负责|责任|配合|参与|协办|协助|协同|主责|时限|时间节点|完成时间")
_CLAUSE_PARTS = [
    ("lead", re.compile(r"(?:牵头|负责|主责)\s*[:：]\s*(.{1,40})")),  # （牵头：组织部；参与：各单位）
    ("members", re.compile(r"(?:参与|配合|协办|协助)\s*[:：]\s*(.{1,40})")),
    ("members", re.compile(r"(?:由)?(.{1,40}?)(?:按职责分工负责|按职责负责|分工负责|共同负责|按职责落实)")),
    ("lead", re.compile(r"(?:由)?(.{1,40}?)(?:牵头负责|牵头落实|牵头|负总责|主责|具体负责|负责)")),
    ("members", re.compile(r"(?:由)?(.{1,40}?)(?:配合|参与|协办|协助|协同)")),
]
_CLAUSE_DUE_RE = re.compile(r"\d{1,2}\s*月|季度|半年|年底|年内|长期|前完成|底前")


def _clause_fields(content: str) -> list[tuple[str, str]] | None:
    """Fields of a bracketed responsibility clause, or None when it is ordinary text."""
    if not _CLAUSE_WORD_RE.search(content):
        return None
    pairs = []
    for part in re.split(r"\s*[；;。，,]\s*", content):
        if not part:
            continue
        m = _FIELD_AT_START_RE.match(part)
        if m:
            pairs.append((_LABEL_KEY[re.sub(r"\s+", "", m["label"])], part[m.end():].strip()))
            continue
        for key, rx in _CLAUSE_PARTS:
            found = rx.fullmatch(part)
            if found and "：" not in found.group(1) and ":" not in found.group(1):
                pairs.append((key, found.group(1).strip()))
                break
        else:
            if len(part) <= 24 and _CLAUSE_DUE_RE.search(part):
                pairs.append(("deadline", part))
            else:
                return None
    return pairs or None


def _extract_clauses(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Remove responsibility clauses from `text`; return what is left and their fields."""
    if "(" not in text and "（" not in text and "〔" not in text and "【" not in text and "[" not in text:
        return text, []
    pairs: list[tuple[str, str]] = []
    out, pos = [], 0
    for m in _BRACKET_RE.finditer(text):
        found = _clause_fields(m.group(1))
        if found:
            out.append(text[pos:m.start()])
            pos = m.end()
            pairs += found
    if not pairs:
        return text, []
    out.append(text[pos:])
    return "".join(out).strip(), pairs


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


# ---------------------------------------------------------------- numbering

# Levels of the numbering hierarchy: 一、 > （一） > period headings > 1. / 第N条 > （1） > ①.
_LEVELS = {"D": 1.0, "C": 2.0, "A": 3.0, "T": 3.0, "R": 3.0, "B": 4.0, "E": 5.0}
# Articles (第N条) are a level of their own so that （一） items listed inside one nest under it.
ARTICLE = 3.0001
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_TASK_RES["E"] = re.compile(r"^([" + _CIRCLED + r"])\s*(\S.*)$")
_TASK_RES["T"] = re.compile(r"^第\s*([一二三四五六七八九十\d]{1,3})\s*条\s*(\S.*)$")
_TASK_RES["R"] = re.compile(r"^(?:任务|项目|工作|事项)([一二三四五六七八九十]{1,3}|\d{1,3})\s*[:：、.．]\s*(\S.*)$")
_PART_RE = re.compile(r"^第\s*([一二三四五六七八九十百\d]{1,3})\s*(?:部分|章|篇)\s*[、:：.．]?\s*(.*)$")
_MON = r"(?:\d{1,2}|十[一二]?|[一二三四五六七八九])"
_PERIOD = (r"(?:(?:19|20)\d{2}\s*年\s*)?" + _MON + r"\s*月份?(?:上旬|中旬|下旬|初|中|底|末)?"
           r"(?:\s*[—－\-~～至到、]+\s*" + _MON + r"\s*月份?(?:上旬|中旬|下旬|初|底|末)?)?"
           r"|第[一二三四1-4]\s*季度|[上下]半年|(?:每学期|学期)(?:开学初|开学前|期初|期中|期末|初|末)?"
           r"|开学初|开学前|期中|期末|寒假|暑假|寒暑假|全年"
           r"|第[一二三四五六七八九十]阶段\s*[（(][^（）()]{2,30}[）)]")
# A period heading: "3月份：…", or the period alone on its line (not a dated line like "2025年2月").
_PERIOD_RE = re.compile(r"^(?P<p>" + _PERIOD + r")\s*(?:[:：]\s*(?P<rest>.*)|(?P<alone>))$")
_INLINE_PERIOD_RE = re.compile(r"(?<=[。；;！!？?])\s*(?=(?:" + _PERIOD + r")\s*[:：])")
_INLINE_MARKS = {
    "D": r"([一二三四五六七八九十]{1,3})\s*[、.．]",
    "C": r"[（(]\s*([一二三四五六七八九十]{1,3})\s*[）)]",
    "A": r"(\d{1,2})\s*[.．、](?![\d年月日号%％])",
    "B": r"[（(]\s*(\d{1,2})\s*[）)]",
}
_INLINE_RES = {family: re.compile(r"(?<=[。；;！!？?])\s*" + mark) for family, mark in _INLINE_MARKS.items()}
_FRAMING_RE = re.compile(
    r"^(?:(?:工作|总体|主要|基本)?(?:指导思想|目标|要求|原则|思路)|目标任务|保障措施|工作保障|组织保障|组织领导"
    r"|(?:有关|其他|其它)(?:要求|事项)|(?:实施|工作|方法)步骤|附则|总则|背景|依据)[。:：]?$")


_NUMBER_START = frozenset("0123456789０１２３４５６７８９一二三四五六七八九十（(第任项工事" + _CIRCLED)


def _numbered(text: str) -> tuple[float, str, int, str, bool] | None:
    """(level, label, number, rest, heading_like) if `text` opens a numbered item."""
    if not text or text[0] not in _NUMBER_START:
        return None  # most lines: one set lookup instead of seven patterns
    m = _PART_RE.match(text)
    if m:
        return 1.0, m.group(1), cn_to_int(m.group(1)) or 0, m.group(2).strip(), True
    for family in ("D", "C", "A", "T", "R", "B", "E"):
        m = _TASK_RES[family].match(text)
        if not m:
            continue
        groups = [g for g in m.groups() if g is not None]
        label = groups[0]
        number = _CIRCLED.index(label) + 1 if family == "E" else cn_to_int(label)
        if number is None or not 1 <= number <= MAX_TASK_NUMBER:
            continue
        heading = _heading(text)
        return _LEVELS[family], label, number, groups[-1], bool(heading) and family in "DC"
    return None


_AFTER_COLON_RES = {family: re.compile(r"[:：]\s*(?=" + mark + ")") for family, mark in _INLINE_MARKS.items()}
_OPENING_RES = {family: re.compile(mark) for family, mark in _INLINE_MARKS.items()}


def _split_inline(text: str, after_colon: bool = True) -> list[str]:
    """"一、……。二、……。三、……" written as one paragraph -> one piece per item
    (an introduction ending in a colon before "一、" is a piece of its own)."""
    colon = after_colon and ("：" in text or ":" in text) and not _numbered(text)
    for family, rx in _AFTER_COLON_RES.items() if colon else ():
        m = rx.search(text)
        if m:
            opening = _OPENING_RES[family].match(text, m.end())
            if opening and cn_to_int(opening.group(1)) == 1:
                rest = _split_inline(text[m.end():], after_colon=False)
                if len(rest) > 1:
                    return [text[:m.end()].strip()] + rest
    period = _PERIOD_RE.match(text)
    if period and period["rest"]:  # "第一季度：……。第二季度：……"
        cuts = [m.start() for m in _INLINE_PERIOD_RE.finditer(text)]
        bounds = [0] + cuts + [len(text)]
        return [p for p in (text[a:b].strip() for a, b in zip(bounds, bounds[1:])) if p]
    if text[:1] not in _NUMBER_START:
        return [text]
    for family, opening_re in _OPENING_RES.items():
        opening = opening_re.match(text)
        if opening is None:
            continue
        number = cn_to_int(opening.group(1))
        if number is None:
            return [text]
        cuts = []
        for m in _INLINE_RES[family].finditer(text):
            if cn_to_int(m.group(1)) == number + 1:
                cuts.append(m.start())
                number += 1
        if not cuts:
            return [text]
        bounds = [0] + cuts + [len(text)]
        return [p for p in (text[a:b].strip() for a, b in zip(bounds, bounds[1:])) if p]
    return [text]


# ---------------------------------------------------------------- traditional characters

# Traditional -> simplified for the characters plans use; one character each, so offsets hold.
_TRAD = ("牽頭負責單參與協辦時節點週會議檢匯報這個學習開組織黨課團級劃實條製訂門領導員務職項內規範處後資產圖書館監評價幹專題講陣網絡兩們關於對應須據為發現體紀錄記確進構則總區縣設計強動態練場鬥爭風險預審傳統戰線幫聯繫繼續經費濟國華紅揚東銷貸園長萬歡慶論認識說話談觀遠邊過還選舉權業質鄉農醫護師語讀廳機歸檔達標準優將獎懲層隊屆間閉幾號筆樣齊盡辭種衛陽雙鍵盤電視聽廣備註並裡麼嗎蘭結細樓夠頒佈貫徹稱穩補類歲曆階況繳執愛決們貸幣與樂週轉證據優勢維護遺憾戶鬥條為啟時來愛")
_SIMP = ("牵头负责单参与协办时节点周会议检汇报这个学习开组织党课团级划实条制订门领导员务职项内规范处后资产图书馆监评价干专题讲阵网络两们关于对应须据为发现体纪录记确进构则总区县设计强动态练场斗争风险预审传统战线帮联系继续经费济国华红扬东销贷园长万欢庆论认识说话谈观远边过还选举权业质乡农医护师语读厅机归档达标准优将奖惩层队届间闭几号笔样齐尽辞种卫阳双键盘电视听广备注并里么吗兰结细楼够颁布贯彻称稳补类岁历阶况缴执爱决们贷币与乐周转证据优势维护遗憾户斗条为启时来爱")
_T2S = str.maketrans(_TRAD, _SIMP)
_TRAD_SET = frozenset(_TRAD)


def _simplify(items: list, warnings: list[str]) -> list:
    """A document written in traditional characters is read (and returned) in simplified ones."""
    seen: set[str] = set()
    for item in items:
        if isinstance(item, _Line):
            seen |= _TRAD_SET.intersection(item.text)
            if len(seen) >= 5:
                break
    if len(seen) < 5:  # a stray 與 in a simplified text is left alone
        return items
    warnings.append("文档使用繁体字，已按简体读取并转换，请核对")
    out = []
    for item in items:
        if isinstance(item, _Line):
            out.append(_Line(item.text.translate(_T2S)))
        elif isinstance(item, _RowSection):
            out.append(_RowSection(item.number, item.title.translate(_T2S)))
        elif isinstance(item, _RowTask):
            out.append(_RowTask(item.number, item.title.translate(_T2S), item.body.translate(_T2S),
                                {k: [v.translate(_T2S) for v in vs] for k, vs in item.fields.items()}))
        else:
            out.append(item)
    return out


# ---------------------------------------------------------------- title and year

_TITLE_WORDS_RE = re.compile(r"方案|计划|清单|要点|任务|台账|安排|规划|分解表|制度|条例|实施意见|通知|办法|细则|规定")
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


def _find_title(items: list) -> tuple[str, int, bool]:
    """(title, where to go on, guessed): the first title-like line before the first
    numbered line, one naming a year preferred; else the first short line, guessed."""
    with_year = without_year = guess = None
    for index, item in enumerate(items):
        if not isinstance(item, _Line) or index > 200:
            break
        text = item.text
        if _numbered(text) or _PERIOD_RE.match(text):
            break
        if _is_title_candidate(text):
            if _year_in(text) is not None and with_year is None:
                with_year = (text, index + 1)
            elif without_year is None:
                without_year = (text, index + 1)
        elif guess is None and 4 <= len(text) <= 40 and not _is_noise(text) \
                and not re.search(r"[。，,；;:：>›»|]", text) and not _FIELD_AT_START_RE.match(text):
            guess = (text, index + 1)
    if with_year or without_year:
        return (*(with_year or without_year), False)
    if guess:
        return (*guess, True)
    return "", 0, False


def _year_in_body(items: list) -> int | None:
    """The year a document without one in its title names most (its date line, its dates)."""
    years: Counter = Counter()
    for item in items:
        if isinstance(item, _Line):
            for m in _YEAR_RE.finditer(item.text):
                years[int(m.group(1)) if m.group(1) else cn_to_int(m.group(2))] += 1
    return years.most_common(1)[0][0] if years else None


# ---------------------------------------------------------------- parser

@dataclass(eq=False)
class _Node:
    """A numbered item (heading, task, sub-point) or a table row, in document order."""
    level: float
    label: str
    number: int | None
    head: str  # the item's own line, fields and clauses removed
    line: str  # the same with its number, as it reads in a parent's body
    parent: "_Node | None" = None
    heading_like: bool = False
    period: str = ""
    row: bool = False
    body: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(
        default_factory=lambda: {"lead": [], "lead_weak": [], "members": [], "deadline": []})
    own_fields: bool = False  # fields written with the item itself
    shared_fields: bool = False  # fields from a clause standing after the item
    mode: str = "body"  # "body" | "fields" | "closed"
    last_field: str | None = None
    warnings: list[str] = field(default_factory=list)
    under_task: bool = False  # an ancestor at the task level (set when choosing it)


class _Parser:
    """Reads items into a tree of numbered nodes; text and fields go to the deepest open node."""

    def __init__(self, title: str):
        self.title = title
        self.nodes: list[_Node] = []
        self.stack: list[_Node] = []
        self.texts: list[str] = []  # every readable line, for a document without numbering
        self.notes: list[str] = []
        self.stopped = False

    def feed(self, items: list) -> None:
        for item in items:
            if self.stopped:
                break
            if isinstance(item, _Note):
                self.notes.append(item.text)
            elif isinstance(item, _RowSection):
                self._push(_Node(1.0, item.number, cn_to_int(item.number), item.title,
                                 item.title, heading_like=True, row=True, mode="closed"))
            elif isinstance(item, _RowTask):
                node = _Node(3.0, str(item.number or ""), item.number, item.title, item.title,
                             row=True, mode="closed")
                if item.body:
                    node.body.append(item.body)
                for key, values in item.fields.items():
                    node.fields[key] += values
                node.own_fields = any(item.fields.values())
                self._push(node)
                self.texts += [item.title, item.body]
            else:
                pieces = _split_inline(item.text)
                for i, piece in enumerate(pieces):
                    self._line(piece, shared=len(pieces) > 1 and i == len(pieces) - 1)

    def _push(self, node: _Node) -> None:
        while self.stack and self.stack[-1].level >= node.level:
            self.stack.pop()
        node.parent = self.stack[-1] if self.stack else None
        self.stack.append(node)
        self.nodes.append(node)

    def _add_fields(self, node: _Node, pairs, shared: bool = False, mode: bool = True) -> None:
        for key, value in pairs:
            node.fields[key].append(value)
            node.last_field = key
        if shared:
            node.shared_fields = True
        else:
            node.own_fields = True
        if mode:
            node.mode = "fields"

    def _line(self, text: str, shared: bool = False) -> None:
        if self.nodes and len(text) <= 40 and _FOOTER_RE.search(text):
            self.stopped = True  # website footer: what follows is not the plan
            return
        if text == self.title:
            return
        top = self.stack[-1] if self.stack else None
        if _FIELD_AT_START_RE.match(text):
            if top is not None and top.mode != "closed":
                self._add_fields(top, _split_fields(_extract_clauses(text)[0])[1])
            return
        rest, clause = _extract_clauses(text)
        if clause and not rest.strip(" 。；;，,.、"):  # a clause on its own line
            if top is not None and top.mode != "closed":
                self._add_fields(top, clause, shared=True, mode=False)
            return
        numbered = _numbered(text)
        if numbered:
            if numbered[0] == 2.0 and any(n.level == ARTICLE for n in self.stack):
                numbered = (3.5,) + numbered[1:]  # （一） listed inside an article: its sub-items
            elif numbered[0] == 3.0 and text.startswith("第"):
                numbered = (ARTICLE,) + numbered[1:]
            self._item(text, *numbered, shared=shared)
            return
        period = _PERIOD_RE.match(text)
        if period and period["alone"] is not None and _YEAR_RE.match(text):
            period = None  # "2025年2月" under the signature is a date line
        if period and top is not None and top.mode == "fields" and self._continue_field(top, text):
            return  # "工作时限：" with "9月" on the next line
        if period:
            rest_text = (period["rest"] or "").strip()
            node_text = rest_text or period["p"]
            stage = re.match(r"第.阶段\s*[（(](.+)[）)]$", period["p"])  # 第一阶段（3月1日—3月10日）
            limit = stage.group(1) if stage else period["p"]
            self._item(text, 2.5, period["p"], None, rest_text, not rest_text, period=limit)
            self.texts.append(node_text)
            return
        if _is_noise(text):
            return
        self.texts.append(text)
        self._text(text, top)

    def _item(self, text, level, label, number, rest, heading_like, period="", shared=False) -> None:
        if not period:
            inner = _PERIOD_RE.match(rest)
            if inner and inner["rest"]:
                period, rest = inner["p"], inner["rest"].strip()
        rest, clause = _extract_clauses(rest)
        head, pairs = _split_fields(rest)
        prefix = text[:len(text) - len(text.lstrip())]
        marker = text[:text.find(rest[:4])] if rest[:4] and rest[:4] in text else f"{label} "
        node = _Node(level, label, number, head, (prefix + marker + head).strip(),
                     heading_like=heading_like and not pairs and not clause, period=period)
        self._push(node)
        self.texts.append(text)
        if clause:
            # A clause closing a paragraph of several items is written once for all of them.
            self._add_fields(node, clause, shared=shared, mode=False)
        if pairs:
            self._add_fields(node, pairs)

    def _text(self, text: str, top: _Node | None) -> None:
        if top is None or top.mode == "closed":
            return  # preamble (kept in self.texts), or text after a table row
        if top.mode == "fields" and self._continue_field(top, text):
            return
        if _SIGNATURE_RE.match(text):
            return  # issuer and date under the plan
        rest, clause = _extract_clauses(text)
        head, pairs = _split_fields(rest)
        if head:
            if top.mode == "fields":
                top.warnings.append(f"字段之后的段落“{head[:20]}…”已并入具体内容，请人工核对")
            top.body.append(head)
        if clause:
            self._add_fields(top, clause, mode=False)
        if pairs:
            self._add_fields(top, pairs)

    @staticmethod
    def _continue_field(node: _Node, text: str) -> bool:
        """A short paragraph after a field line continues that field's value."""
        values = node.fields[node.last_field] if node.last_field else []
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


def _task_level(nodes: list[_Node]) -> float | None:
    """The level whose items carry fields or time limits; without any, the finest usual one."""
    score: Counter = Counter()
    present: set[float] = set()
    for node in nodes:
        present.add(node.level)
        if node.own_fields or node.shared_fields or node.period:
            score[node.level] += 1
    if score:
        return max(score, key=lambda level: (score[level], level))
    for level in (ARTICLE, 3.0, 4.0, 5.0, 2.5, 2.0, 1.0):
        if level in present:
            return level
    return None


# ---------------------------------------------------------------- output

def _join_values(values: list[str]) -> str:
    """Several leads or members, without the separators left at line ends."""
    return "；".join(v for v in (v.rstrip("；;，,、 ") for v in values) if v)


@dataclass(eq=False)
class _Out:
    node: _Node
    section: _Node | None
    number: int | None  # None: numbered by position
    folded: list[_Node] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)


def _ancestors(node: _Node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def _is_framing(node: _Node) -> bool:
    """指导思想 / 保障措施 and the like: framing, not work. A 工作要求 section that sets a
    recurring duty (每学期末报送一次总结) is work all the same."""
    head = node.head.strip()
    if not _FRAMING_RE.match(head) or node.own_fields or node.shared_fields:
        return False
    if "要求" in head and find_requirements_detailed("\n".join(node.body))[0]:
        return False
    return True


def _arrange(nodes: list[_Node], level: float) -> tuple[list[_Out], bool]:
    """Tasks at `level` with their sections, sub-points folded in; (tasks, a framing item preceded them)."""
    has_task = set()
    for node in nodes:
        if node.level == level:
            parent = node.parent
            while parent is not None and id(parent) not in has_task:
                has_task.add(id(parent))
                parent = parent.parent
    has_child = {id(node.parent) for node in nodes if node.parent is not None}
    task_of: dict[int, _Out] = {}
    sections: dict[int, _Node] = {}
    outs: list[_Out] = []
    framing_first = False
    for node in nodes:
        parent = node.parent
        if node.level == level:
            if level == 1.0 and node.heading_like and _is_framing(node):
                framing_first = framing_first or not outs
                continue
            section = next((a for a in _ancestors(node) if id(a) in sections), None) if level > 1 else None
            out = _Out(node, section, node.number)
        elif parent is not None and id(parent) in task_of:
            task_of[id(parent)].folded.append(node)
            task_of[id(node)] = task_of[id(parent)]
            continue
        elif node.level < level and id(node) in has_task:
            sections[id(node)] = node
            continue
        elif node.level < level:
            if _is_framing(node) or not (node.body or id(node) in has_child or node.own_fields):
                continue
            out = _Out(node, node, None)  # a heading with no numbered items: one task
            node.warnings.append(f"“{node.label}、{node.head}”下没有编号的任务，已将其内容作为一项任务，请人工核对")
        else:
            section = next((a for a in _ancestors(node) if id(a) in sections), None)
            out = _Out(node, section, node.number)
        task_of[id(node)] = out
        outs.append(out)
    return outs, framing_first


def _merge_fields(out: _Out) -> None:
    fields = {"lead": [], "lead_weak": [], "members": [], "deadline": []}
    for node in [out.node] + out.folded:
        for key, values in node.fields.items():
            fields[key] += values
    if not any(fields["lead"] + fields["lead_weak"] + fields["members"]):
        # A clause on a heading applies to every task under it.
        for ancestor in _ancestors(out.node):
            if any(ancestor.fields["lead"] + ancestor.fields["lead_weak"] + ancestor.fields["members"]):
                for key in ("lead", "lead_weak", "members"):
                    fields[key] += ancestor.fields[key]
                break
    weak = fields.pop("lead_weak")
    if any(fields["lead"]):
        fields["members"] = weak + fields["members"]
    else:
        fields["lead"] += weak
    out.fields = fields


def _share_trailing_clauses(outs: list[_Out]) -> None:
    """A clause written once after several items (none with fields of its own) applies to each."""
    run: list[_Out] = []
    for out in outs:
        node = out.node
        if run and run[-1].node.parent is not node.parent:
            run = []
        if node.shared_fields and not node.own_fields and run:
            for earlier in run:
                for key in ("lead", "members", "deadline"):
                    if not any(earlier.fields[key]):
                        earlier.fields[key] = list(out.fields[key])
                earlier.node.warnings.append("责任分工写在其后几项之后，已同样适用于本项，请人工核对")
            run = []
        elif not any(any(v) for v in out.fields.values()) and not out.node.row:
            run.append(out)
        else:
            run = []


def _texts_of(out: _Out) -> tuple[str, str]:
    node = out.node
    head = node.head
    if node.row:
        title, body = head, list(node.body)
    elif node.period and not head and node.body:
        title, body = "", list(node.body)
    elif node.heading_like or (node.period and not head):
        title, body = head or node.label, list(node.body)
    else:
        title, first = _split_title(head)
        body = ([first] if first else []) + node.body
    if not title and body:
        title, first = _split_title(body.pop(0))
        if first:
            body.insert(0, first)
    for sub in out.folded:
        body += [sub.line] + sub.body
    return title, "\n".join(b for b in body if b).strip()


def _label(number: int, duplicates: set[int], section_number: str) -> str:
    if number in duplicates and section_number:
        return f"{section_number}、任务{number}"
    return f"任务{number}"


def _numbering_warnings(numbers: list[int]) -> list[str]:
    warnings = []
    for previous, number in zip(numbers, numbers[1:]):
        if number not in (previous + 1, 1):
            warnings.append(f"任务编号从{previous}跳到{number}，请核对是否漏读或多读了任务")
    return warnings


_PROSE_LEAD_RE = re.compile(r"由([^，,。；;、：:（）()\s]{2,15}?)(?:牵头)?负责(?!解释)")  # not 本制度由X负责解释


def _task_dict(out: _Out, title: str, body: str, number: int, plan_year: int, label: str,
               warnings: list[str], defaulted: dict) -> tuple[dict, bool]:
    """The task as the JSON contract has it, and whether it has a time limit."""
    node = out.node
    deadline_text = "；".join(v for v in out.fields["deadline"] if v)
    notes = list(node.warnings)
    if not out.fields["lead"] and not out.fields["members"]:
        # No responsibility field at all (not even an empty 负责人：): "…由党政办公室负责" names the lead.
        found = _PROSE_LEAD_RE.search(f"{title}\n{body}")
        if found:
            out.fields["lead"] = [found.group(1)]
            notes.append(f"负责人“{found.group(1)}”取自正文，请人工核对")
    if not deadline_text:
        period = node.period or next((a.period for a in _ancestors(node) if a.period), "")
        deadline_text = period
    if not deadline_text:
        deadline_text = deadline_in_prose(f"{title}\n{body}")
        if deadline_text:
            notes.append(f"工作时限“{deadline_text}”取自正文，请人工核对")
    limit = parse_time_limit(deadline_text, plan_year)
    requirements, req_warnings, defaults = find_requirements_detailed(f"{title}\n{body}")
    for req in defaults:
        defaulted.setdefault((req["kind"], req["cadence"], req["count"]), None)
    warnings += [f"{label}：{w}" for w in notes + limit.warnings + req_warnings]
    task = {
        "number": number,
        "title": title,
        "body": body,
        "lead": _join_values(out.fields["lead"]),
        "members": _join_values(out.fields["members"]),
        "deadline_text": deadline_text,
        "starts_on": limit.starts_on.isoformat() if limit.starts_on else None,
        "due_on": limit.due_on.isoformat() if limit.due_on else None,
        "ongoing": limit.ongoing,
        "requirements": requirements,
    }
    return task, bool(deadline_text)


_CADENCE_NAMES = {"week": "每周", "month": "每月", "quarter": "每季度", "semester": "每学期", "year": "每年"}


def _whole_text_task(parser: _Parser, title: str) -> list[_Out]:
    """A readable document without numbered items: all of it as one task, to split in the preview."""
    lines = [t for t in parser.texts if t and t != title]
    if not lines or sum(t.startswith("<") for t in lines) * 2 >= len(lines):
        return []  # nothing, or markup (an SVG or web page source) rather than a document
    node = _Node(3.0, "1", 1, title or lines[0], "", heading_like=True)
    node.body = lines if title else lines[1:]
    node.warnings.append("未找到编号的任务，已将全文作为一项任务，请在预览中拆分")
    return [_Out(node, None, 1)]


def read_plan(data: bytes | str, filename: str = "", year: int | None = None) -> dict:
    """Read a work plan. `filename` is informational only: the content decides the format.

    Returns {"title", "year", "sections": [{"number", "title", "tasks": [...]}], "warnings"}.
    """
    warnings: list[str] = []
    items = _load(data, warnings)
    if not items:
        raise ReadError("文件为空")
    items = _simplify(items, warnings)
    title, start, guessed = _find_title(items)
    title_year = _year_in(title) if title else None
    if year is None:
        year = title_year
        if year is None:
            year = _year_in_body(items)
            if year is None:
                raise ReadError("未能确定方案年份：标题中没有“20XX年”，请指定年份")
            warnings.append(f"标题中没有年份，已按正文中的{year}年处理，请核对")
    elif title_year is not None and title_year != year:
        warnings.append(f"指定的年份{year}与标题中的年份{title_year}不一致，已按{year}年处理")
    if not title:
        warnings.append("未找到方案标题（含年份和“方案”“计划”等字样的一行），请人工填写")
    elif guessed:
        warnings.append(f"未找到含“方案”“计划”“要点”等字样的标题，已把“{title}”当作标题，请核对")
    parser = _Parser(title)
    parser.feed(items[start:])
    warnings += parser.notes
    level = _task_level(parser.nodes)
    outs, framing_first = _arrange(parser.nodes, level) if level is not None else ([], False)
    if not outs:
        outs = _whole_text_task(parser, title)
        if not outs:
            raise ReadError(NO_TASKS)
    for out in outs:
        _merge_fields(out)
    _share_trailing_clauses(outs)

    # Numbers: the written one, or the next in its section for period and heading tasks.
    numbered = [out.number for out in outs if out.number is not None and out.node.level == level]
    if numbered and numbered[0] > 1 and not framing_first:
        warnings.append(f"文档从第{numbered[0]}项开始，前面的部分可能缺失，请核对")
    warnings += _numbering_warnings(numbered)
    grouped: list[tuple[_Node | None, list]] = []
    for out in outs:
        if not grouped or grouped[-1][0] is not out.section:
            grouped.append((out.section, []))
        if out.number is None:
            previous = grouped[-1][1][-1][1] if grouped[-1][1] else 0
            out.number = previous + 1
        grouped[-1][1].append((out, out.number))
    counts = Counter(number for _, group in grouped for _, number in group)
    duplicates = {n for n, c in counts.items() if c > 1}
    sections, missing, defaulted = [], [], {}
    for section, group in grouped:
        number = section.label if section is not None and level != 1.0 else ""
        heading = section.head if section is not None and level != 1.0 else ""
        tasks = []
        for out, task_number in group:
            label = _label(task_number, duplicates, number)
            task_title, body = _texts_of(out)
            task, dated = _task_dict(out, task_title, body, task_number, year, label, warnings, defaulted)
            tasks.append(task)
            if not dated:
                missing.append(label)
        if sections and sections[-1]["number"] == number and sections[-1]["title"] == heading:
            sections[-1]["tasks"] += tasks
        else:
            sections.append({"number": number, "title": heading, "tasks": tasks})
    if defaulted:
        listed = "、".join(f"{kind}{_CADENCE_NAMES[cadence]}{count}次" for kind, cadence, count in defaulted)
        warnings.append(f"以下周期要求的频次文中未写明，已按惯例填写：{listed}，请核对")
    if missing:
        warnings.append(f"以下任务没有工作时限：{'、'.join(missing)}")
    return {"title": title, "year": year, "sections": sections, "warnings": warnings}
