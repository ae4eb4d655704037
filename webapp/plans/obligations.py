"""Find recurring obligations ("每周四组织教职工政治学习") in a task's text.

Pure functions, stdlib only. Each obligation becomes a requirement dict:
{"text", "kind", "cadence", "count", "weekday", "level"}.

Decisions for ambiguous phrases:
- 每两周/隔周/每半月 -> cadence "month", count 2 (there is no fortnight cadence).
- 每半年 -> cadence "semester", count 1 (a half-year is treated as a semester).
- 一年N次 / 全年N次 count only when a count is written ("全年" alone is no cadence).
- 定期 (regularly) has no cadence and is skipped without a warning.
- A bare 学生 subject means student branches (they owe student-safety work);
  班级/各班 is more specific and wins when present.
"""

from __future__ import annotations

import re

from .timelimits import cn_to_int

# Canonical kind -> aliases (regex). Longest match at the earliest position wins.
_KIND_ALIASES: list[tuple[str, str]] = [
    ("支部党员大会", r"支部党员大会|党员大会"),
    ("支部委员会", r"支部委员会(?:会议)?|支委会"),
    ("党小组会", r"党小组会(?:议)?"),
    ("党课", r"党课"),
    ("主题党日", r"主题党日|党日活动"),
    ("政治学习", r"政治(?:理论)?学习|理论学习|集中学习"),
    ("中心组学习", r"理论学习中心组(?:学习)?|中心组(?:理论)?学习"),
    ("党政联席会议", r"党政联席会议?"),
    ("意识形态研判会", r"研判会议?|意识形态(?:工作)?研判|研判意识形态"),
    ("警示教育会", r"警示教育(?:会议?)?"),
    ("摸排清查", r"摸排清查|摸排|排查|清查"),
    ("主题班会", r"主题班会|班会"),
    ("主题团日", r"主题团日(?:活动)?|团日活动"),
    ("组织生活会", r"组织生活会"),
    ("民主生活会", r"民主生活会"),
    ("谈心谈话", r"谈心谈话|谈心"),
]
KINDS: list[str] = [kind for kind, _ in _KIND_ALIASES]
LEVELS: list[str] = ["general", "branch", "faculty_branch", "student_branch", "class"]

# Used when the text names a kind as a duty of "each X" without saying how often.
DEFAULT_CADENCE: dict[str, tuple[str, int]] = {
    "主题班会": ("month", 1), "主题团日": ("month", 1), "主题党日": ("month", 1),
    "政治学习": ("week", 1), "党政联席会议": ("year", 2), "意识形态研判会": ("year", 2),
    "警示教育会": ("year", 1), "摸排清查": ("month", 1), "支部党员大会": ("quarter", 1),
    "支部委员会": ("month", 1), "党小组会": ("month", 1), "党课": ("quarter", 1),
    "组织生活会": ("year", 1), "民主生活会": ("year", 1), "中心组学习": ("month", 1),
}
# Kinds that only one level holds, whatever subject the sentence names.
_FIXED_LEVEL = {"党政联席会议": "general", "中心组学习": "general", "民主生活会": "general",
                "主题班会": "class", "主题团日": "class"}
# Fallback level when the sentence names no subject.
_KIND_LEVEL = {"支部党员大会": "branch", "支部委员会": "branch", "党小组会": "branch",
               "党课": "branch", "主题党日": "branch", "组织生活会": "branch"}

SAN_HUI_YI_KE = [("支部党员大会", "quarter", 1), ("支部委员会", "month", 1),
                 ("党小组会", "month", 1), ("党课", "quarter", 1)]

# Aliases that after a cadence read as a verb phrase ("每月集中学习一次"); a kind
# named before the cadence is then the better reading.
_GENERIC = {"集中学习"}
_KIND_RE = [(kind, re.compile(alias)) for kind, alias in _KIND_ALIASES]
_SHYK_RE = re.compile(r"三会一课")

_CADENCE_RE = re.compile(
    r"(?P<fortnight>每两周|每双周|隔周|每半个?月)"
    r"|(?P<week>每周|每星期|每个?礼拜)(?P<wd>[一二三四五六日天1-7](?![次回个天节场]))?"
    r"|(?P<month>每个?月度?)"
    r"|(?P<quarter>每个?季度?)"
    r"|(?P<semester>每个?学期)"
    r"|(?P<halfyear>每半年)"
    r"|(?P<year>每一?学?年度?)"
    r"|(?P<yearcount>(?:一|全)年)(?=(?:至少|不少于|不低于|最少|开展|召开|组织|举行)*\s*"
    r"(?:\d+|[一二两三四五六七八九十]+)\s*[次场回期轮])"
)
_COUNT_RE = re.compile(
    r"(?<!第)(?P<n>\d+|[一二两三四五六七八九十]+)\s*(?:[-~～至到]\s*(?:\d+|[一二两三四五六七八九十]+)\s*)?"
    r"(?:次|场|回|期|轮)"
)
_WEEKDAYS = {"一": 1, "1": 1, "二": 2, "2": 2, "三": 3, "3": 3, "四": 4, "4": 4, "五": 5,
             "5": 5, "六": 6, "6": 6, "日": 7, "天": 7, "7": 7}

# Subjects, longest first so "学生党支部" beats "支部" and "学生".
_SUBJECTS: list[tuple[str, str]] = [
    (r"学生党支部|学生支部|学生党员", "student_branch"),
    (r"教工党支部|教师党支部|教职工党支部|教工支部", "faculty_branch"),
    (r"各班级|班级|各班|班委|团支部", "class"),
    (r"各党支部|各支部|党支部|支部", "branch"),
    (r"教职工|教工|教师|全体职工|职工", "faculty_branch"),
    (r"学生", "student_branch"),
    (r"学院|我院|党总支|总支|院党委", "general"),
]
_SUBJECT_RE = re.compile("|".join(f"(?:{p})" for p, _ in _SUBJECTS))
_EACH_RE = re.compile(r"各(?:学生|教工|教师)?党?(?:支部|班级|班|团支部)")

_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+")
_CLAUSE_RE = re.compile(r"[^，,]+")
_FILLER_RE = re.compile(
    r"^(?:至少|不少于|不低于|最少|要|应|须|必须|需要?|按时|组织|召开|开展|举行|举办|进行|"
    r"安排|参加|落实|对|的|各|一次|\s)+"
)
_QUOTES = "\"'“”‘’《》「」"


def _level_of(subject: str) -> str:
    for pattern, level in _SUBJECTS:
        if re.fullmatch(pattern, subject):
            return level
    return "general"


def _nearest_subject(text: str) -> str | None:
    """Level of the last subject word in `text`, or None."""
    found = list(_SUBJECT_RE.finditer(text))
    return _level_of(found[-1].group(0)) if found else None


def _kinds_in(text: str) -> list[tuple[str, int, int]]:
    """Known kinds in `text` as (kind, start, end), non-overlapping, in order."""
    hits = [(m.start(), -(m.end() - m.start()), kind, m.end())
            for kind, rx in _KIND_RE for m in rx.finditer(text)]
    chosen: list[tuple[str, int, int]] = []
    last_end = -1
    for start, _, kind, end in sorted(hits):
        if start >= last_end:
            chosen.append((kind, start, end))
            last_end = end
    return chosen


def _level(kind: str, sentence_before: str, clause_before: str) -> str:
    if kind in _FIXED_LEVEL:
        return _FIXED_LEVEL[kind]
    return (_nearest_subject(clause_before) or _nearest_subject(sentence_before)
            or _KIND_LEVEL.get(kind, "general"))


def _cadence(m: re.Match) -> tuple[str, int, int | None]:
    """(cadence, default count, weekday) of a cadence token."""
    if m["fortnight"]:
        return "month", 2, None
    if m["week"]:
        return "week", 1, _WEEKDAYS.get(m["wd"] or "")
    for name in ("month", "quarter", "semester"):
        if m[name]:
            return name, 1, None
    if m["halfyear"]:
        return "semester", 1, None
    return "year", 1, None


def _requirement(text, kind, cadence, count, weekday, level) -> dict:
    return {"text": text, "kind": kind, "cadence": cadence, "count": count,
            "weekday": weekday, "level": level}


def _unknown_kind(segment: str) -> str:
    """A short noun phrase to stand in for a kind we do not know."""
    phrase = _COUNT_RE.sub("", segment)
    phrase = _FILLER_RE.sub("", phrase).strip(_QUOTES + " 、")
    return phrase[:12]


def _clause_requirements(clause: str, sentence_before: str) -> tuple[list[dict], list[str]]:
    reqs: list[dict] = []
    warnings: list[str] = []
    text = clause.strip()
    kinds_all = _kinds_in(clause)
    shyk = _SHYK_RE.search(clause)
    if shyk:
        level = _nearest_subject(clause[:shyk.start()]) or _nearest_subject(sentence_before) or "branch"
        level = "branch" if level in ("general", "class") else level
        reqs += [_requirement(text, k, c, n, None, level) for k, c, n in SAN_HUI_YI_KE]
    cadences = list(_CADENCE_RE.finditer(clause))
    if not cadences:
        # Without a cadence only a duty of "each unit" counts, e.g. 各班级利用主题班会….
        for kind, start, _ in kinds_all:
            each = _EACH_RE.search(clause[:start])
            if each and kind in DEFAULT_CADENCE:
                cadence, count = DEFAULT_CADENCE[kind]
                level = _level(kind, sentence_before, clause[:start])
                reqs.append(_requirement(text, kind, cadence, count, None, level))
        return reqs, warnings
    for i, m in enumerate(cadences):
        seg_start = cadences[i - 1].end() if i else 0
        seg_end = cadences[i + 1].start() if i + 1 < len(cadences) else len(clause)
        cadence, count, weekday = _cadence(m)
        found = _COUNT_RE.search(clause, m.end(), seg_end)
        if found:
            written = cn_to_int(found["n"]) or 1
            count = written * 2 if m["fortnight"] else written  # 每两周一次 = 2 a month
        kinds = [k for k in kinds_all if m.end() <= k[1] < seg_end]
        before = [k for k in kinds_all if seg_start <= k[1] < m.start()][-1:]
        if before and all(clause[k[1]:k[2]] in _GENERIC for k in kinds):
            kinds = before  # "党课每季度不少于1次", "中心组每月集中学习一次": noun comes first
        for kind, start, _ in kinds:
            level = _level(kind, sentence_before, clause[:start])
            reqs.append(_requirement(text, kind, cadence, count, weekday, level))
        if not kinds and not shyk:
            name = _unknown_kind(clause[m.end():seg_end])
            if not name:
                warnings.append(f"“{text}”中的周期要求未能识别活动类型，请人工核对")
                continue
            level = _nearest_subject(clause[:m.end()]) or _nearest_subject(sentence_before) \
                or "general"
            reqs.append(_requirement(text, name, cadence, count, weekday, level))
            warnings.append(f"“{text}”中的活动类型“{name}”不在已知类型中，已按原文记录，请人工核对")
    return reqs, warnings


def find_requirements(text: str) -> tuple[list[dict], list[str]]:
    """All recurring obligations in `text`, deduplicated, plus warning fragments."""
    reqs: list[dict] = []
    warnings: list[str] = []
    seen: set[tuple] = set()
    for sentence in _SENTENCE_RE.finditer(text or ""):
        s = sentence.group(0)
        for clause in _CLAUSE_RE.finditer(s):
            found, warns = _clause_requirements(clause.group(0), s[:clause.start()])
            warnings += warns
            for req in found:
                key = (req["kind"], req["cadence"], req["count"], req["weekday"], req["level"])
                if key not in seen:
                    seen.add(key)
                    reqs.append(req)
    return reqs, warnings
