"""Turn a task's free-text time limit (工作时限) into dates within the plan year.

Pure functions, stdlib only. `parse_time_limit` never raises on odd input: what
it cannot read it reports as warning fragments (Chinese) for a person to check.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def cn_to_int(text: str) -> int | None:
    """Arabic digits or a Chinese numeral below 100 ("十二", "二十", "两") -> int."""
    text = text.strip()
    if text.isdecimal():
        return int(text)
    if not text or any(ch not in CN_DIGITS and ch != "十" for ch in text):
        return None
    if "十" not in text:
        # Digit-by-digit spelling, as in years: "二〇二三".
        value = 0
        for ch in text:
            value = value * 10 + CN_DIGITS[ch]
        return value
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (CN_DIGITS[tens] if tens else 1) * 10 + (CN_DIGITS[ones] if ones else 0)


_NUM = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
_YEAR = r"(?:(?P<{name}>\d{{4}})\s*年\s*)?"

# One token per date expression; alternatives are ordered so that the longest
# reading of a position wins ("2023年1月" before the bare "2023年").
_TOKEN_RE = re.compile(
    r"(?P<ymd>(?P<y1>\d{4})\s*[-/.．]\s*(?P<m1>\d{1,2})\s*[-/.．]\s*(?P<d1>\d{1,2}))"
    r"|(?P<md>" + _YEAR.format(name="y2") + r"(?P<m2>" + _NUM + r")\s*月\s*"
    r"(?:(?P<d2>" + _NUM + r")\s*[日号]|(?P<part>上旬|中旬|下旬|初|中|底|末|份))?)"
    r"|(?P<quarter>" + _YEAR.format(name="y3") + r"第?(?P<q>[一二三四1-4])\s*季度)"
    r"|(?P<half>" + _YEAR.format(name="y4") + r"(?P<h>上|下)半年)"
    r"|(?P<ypart>(?:(?P<y5>\d{4})\s*)?(?P<yp>年底|年末|年终|年内|年初|年度内|全年|本年度))"
    r"|(?P<bare>(?P<y6>\d{4})\s*年度?)"
)

# A clause with one of these describes a continuing duty, not a one-off date.
_ONGOING_RE = re.compile(
    r"长期|常态|持续|全年坚持|全年推进|全年落实|全年开展|贯穿全年|坚持和落实|长效|定期"
    r"|每(?:周|月|个月|季|学期|年)"
)
_START_RE = re.compile(r"启动|开始|起(?!草)|始")
_DUE_RE = re.compile(r"完成|前|底|结束|止|截至|截止")
_RANGE_RE = re.compile(r"^\s*(?:至|到|~|～|—|－|-)\s*$")
_CLAUSE_SPLIT_RE = re.compile(r"[，,；;。!！?？\n]")
# Words in the year-part token that only name the whole year; inside an
# ongoing clause ("全年坚持和落实") they are not a deadline.
_WHOLE_YEAR = {"全年", "年内", "年度内", "本年度"}


@dataclass
class TimeLimit:
    starts_on: date | None = None
    due_on: date | None = None
    ongoing: bool = False
    warnings: list[str] = field(default_factory=list)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _span(m: re.Match, year: int) -> tuple[date, date]:
    """(earliest, latest) day a token can mean; raises ValueError if impossible."""
    if m["ymd"]:
        day = date(int(m["y1"]), int(m["m1"]), int(m["d1"]))
        return day, day
    if m["md"]:
        month = cn_to_int(m["m2"])
        if month is None or not 1 <= month <= 12:
            raise ValueError(m.group(0))
        if m["d2"]:
            day = date(year, month, cn_to_int(m["d2"]) or 0)
            return day, day
        end = _month_end(year, month)
        parts = {"上旬": (1, 10), "初": (1, 10), "中旬": (11, 20), "中": (15, 15),
                 "下旬": (21, end.day), "底": (end.day, end.day), "末": (end.day, end.day)}
        first, last = parts.get(m["part"] or "", (1, end.day))
        return date(year, month, first), date(year, month, last)
    if m["quarter"]:
        q = cn_to_int(m["q"]) or 1
        return date(year, 3 * q - 2, 1), _month_end(year, 3 * q)
    if m["half"]:
        return (date(year, 1, 1), date(year, 6, 30)) if m["h"] == "上" else \
            (date(year, 7, 1), date(year, 12, 31))
    if m["ypart"]:
        if m["yp"] in ("年底", "年末", "年终"):
            return date(year, 12, 1), date(year, 12, 31)
        if m["yp"] == "年初":
            return date(year, 1, 1), date(year, 1, 31)
        return date(year, 1, 1), date(year, 12, 31)
    return date(year, 1, 1), date(year, 12, 31)


def _token_year(m: re.Match) -> int | None:
    for name in ("y1", "y2", "y3", "y4", "y5", "y6"):
        if m[name]:
            return int(m[name])
    return None


def _is_start(before: str, after: str) -> bool:
    """A date starts the work when 启动/开始/起 follows it before any due word."""
    if re.search(r"(?:自|从)\s*$", before):
        return True
    start, due = _START_RE.search(after), _DUE_RE.search(after)
    return bool(start) and (due is None or start.start() < due.start())


def parse_time_limit(text: str, plan_year: int) -> TimeLimit:
    """Read starts_on / due_on / ongoing from a time-limit text such as
    "2023年1月启动,3月底前完成…,全年坚持和落实。"."""
    result = TimeLimit()
    text = (text or "").strip()
    if not text:
        return result
    year = plan_year
    starts: list[date] = []
    dues: list[date] = []
    other_years: set[int] = set()
    for clause in _CLAUSE_SPLIT_RE.split(text):
        ongoing = bool(_ONGOING_RE.search(clause))
        result.ongoing |= ongoing
        tokens = [m for m in _TOKEN_RE.finditer(clause)
                  if not (ongoing and m["yp"] in _WHOLE_YEAR)]
        range_end = -1  # index of a token that closes a "X至Y" range
        for i, m in enumerate(tokens):
            explicit = _token_year(m)
            if explicit is not None:
                year = explicit
                if explicit != plan_year:
                    other_years.add(explicit)
            before = clause[tokens[i - 1].end() if i else 0:m.start()]
            after_end = tokens[i + 1].start() if i + 1 < len(tokens) else len(clause)
            after = clause[m.end():after_end]
            try:
                first, last = _span(m, year)
            except ValueError:
                result.warnings.append(f"工作时限“{text}”中的日期“{m.group(0)}”无效，请人工核对")
                continue
            if i + 1 < len(tokens) and _RANGE_RE.match(after):
                starts.append(first)
                range_end = i + 1
            elif i != range_end and _is_start(before, after):
                starts.append(first)
            else:
                dues.append(last)
    result.starts_on = min(starts) if starts else None
    result.due_on = max(dues) if dues else None
    for other in sorted(other_years):
        result.warnings.append(f"工作时限“{text}”中的年份{other}不是方案年份{plan_year}，请人工核对")
    if not starts and not dues and not result.ongoing:
        result.warnings.append(f"工作时限“{text}”无法识别日期，请人工核对")
    if result.starts_on and result.due_on and result.starts_on > result.due_on:
        result.warnings.append(f"工作时限“{text}”的开始日期晚于完成日期，请人工核对")
    return result


# Deadlines written in a task's prose when no field gives one: a date with a due
# word (于6月底前报送, 10月底前完成), a range (6月—9月), a quarter or half year, a
# yearly date (每年12月), a continuing duty (长期坚持) or a school-term point (开学初).
_M = r"(?:\d{1,2}|十[一二]?|[一二三四五六七八九])"
_PROSE_RE = re.compile(
    r"(?P<date>(?:每年|(?:19|20)\d{2}\s*年\s*)?"
    r"(?:" + _M + r"\s*月(?:\s*" + _M + r"\s*[日号])?(?:上旬|中旬|下旬|初|中|底|末|份)?"
    r"(?:\s*[—－\-~～至到]+\s*" + _M + r"\s*月(?:\s*" + _M + r"\s*[日号])?(?:上旬|中旬|下旬|初|底|末|份)?)?"
    r"|第[一二三四1-4]\s*季度末?|[上下]半年|年底|年末))"
    r"(?P<cue>\s*(?:以前|之前|前|完成|报送|提交|结束|截止|止))?"
    r"|(?P<ongoing>长期坚持|长期开展|常态化开展|常态化推进|贯穿全年|全年坚持)"
    r"|(?P<term>(?:每学期)?(?:开学初|开学前|学期初|学期末|期末前))"
)


def deadline_in_prose(text: str, limit: int = 1) -> str:
    """The first deadline phrases written in `text` ("于6月底前报送" -> "6月底前"), joined by "；".
    One by default: the first deadline in a task's prose is the one its units owe."""
    found: list[str] = []
    for m in _PROSE_RE.finditer(text or ""):
        if m["date"]:
            date_text = m["date"]
            strong = (m["cue"] or date_text.startswith("每年") or re.search(r"[—－\-~～至到]|季度|半年|年底|年末", date_text))
            if not strong:
                continue
            phrase = date_text + (m["cue"] or "").strip()
        else:
            phrase = m.group(0)
        if phrase not in found:
            found.append(phrase)
        if len(found) >= limit:
            break
    return "；".join(found)
