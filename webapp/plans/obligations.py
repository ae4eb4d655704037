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
- 每N个月 becomes the cadence with that many periods a year (每两个月 -> year, 6;
  每三个月 -> quarter; 每六个月 -> semester); 每两年 is no yearly duty: it is left
  out with a warning. 每月第一周 is monthly.
- An explicit cadence for a kind overrides a default (三会一课, "各班级利用主题班会")
  for the same kind anywhere in the text: the two are never both emitted.
  Defaults are reported by `find_requirements_detailed` so the reader can warn.
- Inspection, assessment and report sentences (每月考核…, 每学期检查…, 每三个月汇报一次)
  are obligations of their own kinds (REPORT_KINDS); a meeting named after such a
  verb is its object, not a meeting owed.
- A clause with a cadence but no kind takes the kind named by the clause before it
  in the same sentence ("支部党员大会，一般每季度召开一次").
"""

from __future__ import annotations

import re

from .timelimits import cn_to_int

# Canonical kind -> aliases (regex). Longest match at the earliest position wins.
_KIND_ALIASES: list[tuple[str, str]] = [
    ("支部党员大会", r"支部党员大会|党员大会|支部大会"),
    ("支部委员会", r"支部委员会(?:会议)?|支委会"),
    ("党小组会", r"党小组会(?:议)?"),
    ("党课", r"党课"),
    ("主题党日", r"主题党日|党日活动"),
    ("政治学习", r"政治(?:理论)?学习|理论学习|集中学习"),
    ("中心组学习", r"理论学习中心组(?:学习)?|中心组(?:理论)?学习"),
    ("党政联席会议", r"党政联席会议?"),
    ("意识形态研判会", r"研判会议?|意识形态(?:工作)?研判|研判意识形态|意识形态工作(?:专题)?会议?"),
    ("警示教育会", r"警示教育(?:会议?)?"),
    ("摸排清查", r"摸排清查|摸排|排查|清查"),
    ("主题班会", r"主题班会|班会"),
    ("主题团日", r"主题团日(?:活动)?|团日活动"),
    ("组织生活会", r"组织生活会"),
    ("民主生活会", r"民主生活会"),
    ("谈心谈话", r"谈心谈话|谈心"),
    ("工作检查", r"(?:督促|监督|专项|工作)?检查|督查|督导|巡查|抽查"),
    ("考核评议", r"考核|考评|测评|评议"),
    ("工作汇报", r"汇报|报告(?!会)|上报|通报"),
]
# Duties that are not meetings: proof is a report or a record, not an activity of a
# standard kind; services links them to an activity kind only when one exists.
REPORT_KINDS: frozenset[str] = frozenset({"工作检查", "考核评议", "工作汇报"})
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
    r"(?P<biennial>每两年|每二年|每隔一年|每隔两年|每三年|每五年)"
    r"|(?P<months>每(?:隔)?(?P<nm>[两二三四六]|\d{1,2})个月)"
    r"|(?P<fortnight>每两周|每双周|隔周|每半个?月)"
    r"|(?P<week>每周|每星期|每个?礼拜)(?P<wd>[一二三四五六日天1-7](?![次回个天节场]))?"
    r"|(?P<month>每个?月度?)"
    r"|(?P<quarter>每个?季度?)"
    r"|(?P<semester>每个?学期)"
    r"|(?P<halfyear>每半年)"
    r"|(?P<year>每一?学?年度?)"
    r"|(?P<yearcount>(?:一|全)年)(?=[^，,。；;]{0,10}?(?:至少|不少于|不低于|最少)?\s*"
    r"(?:\d+|[一二两三四五六七八九十]+)\s*[次场回期轮])"
)
_COUNT_RE = re.compile(
    r"(?<!第)(?P<n>\d+|[一二两三四五六七八九十]+)\s*(?:[-~～至到]\s*(?:\d+|[一二两三四五六七八九十]+)\s*)?"
    r"(?:次|场|回|期|轮|件|篇)"
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


_ANY_KIND_RE = re.compile("|".join(f"(?:{alias})" for _, alias in _KIND_ALIASES))


def _kinds_in(text: str) -> list[tuple[str, int, int]]:
    """Known kinds in `text` as (kind, start, end), non-overlapping, in order."""
    if not _ANY_KIND_RE.search(text):
        return []  # most clauses name no kind: one scan instead of one per alias
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


_MONTHS_CADENCE = {1: ("month", 1), 2: ("year", 6), 3: ("quarter", 1), 4: ("year", 3),
                   6: ("semester", 1), 12: ("year", 1)}


def _cadence(m: re.Match) -> tuple[str, int, int | None] | None:
    """(cadence, default count, weekday) of a cadence token; None when no period fits."""
    if m["biennial"]:
        return None
    if m["months"]:
        found = _MONTHS_CADENCE.get(cn_to_int(m["nm"]) or 0)
        return (found[0], found[1], None) if found else None
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


def _requirement(text, kind, cadence, count, weekday, level, default=False) -> dict:
    req = {"text": text, "kind": kind, "cadence": cadence, "count": count,
           "weekday": weekday, "level": level}
    if default:
        req["_default"] = True  # internal: removed by find_requirements_detailed
    return req


def _unknown_kind(segment: str) -> str:
    """A short noun phrase to stand in for a kind we do not know."""
    phrase = _COUNT_RE.sub("", segment)
    phrase = re.sub(r"^\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月(?:份|底|初|中旬|下旬|上旬)?", "", phrase)  # 每年5月开展…
    phrase = _FILLER_RE.sub("", phrase)
    phrase = re.sub(r"(?:不少于|不低于|至少|以上)+$", "", phrase).strip(_QUOTES + " 、（）()〔〕【】[]")
    return phrase[:12]


def _clause_requirements(clause: str, sentence_before: str,
                         carried: tuple[str, int, int] | None = None,
                         kinds_all: list | None = None) -> tuple[list[dict], list[str]]:
    reqs: list[dict] = []
    warnings: list[str] = []
    text = clause.strip()
    kinds_all = _kinds_in(clause) if kinds_all is None else kinds_all
    if not kinds_all and carried is not None:
        kinds_all = [(carried[0], -1, -1)]  # the kind named by the clause before carries on
    shyk = _SHYK_RE.search(clause)
    if shyk and any(k[0] in REPORT_KINDS and 0 <= k[1] < shyk.start() for k in kinds_all):
        shyk = None  # 检查…三会一课记录: the check is owed, not the meetings
    if shyk:
        level = _nearest_subject(clause[:shyk.start()]) or _nearest_subject(sentence_before) or "branch"
        level = "branch" if level in ("general", "class") else level
        reqs += [_requirement(text, k, c, n, None, level, default=True) for k, c, n in SAN_HUI_YI_KE]
    cadences = list(_CADENCE_RE.finditer(clause))
    if not cadences:
        # Without a cadence only a duty of "each unit" counts, e.g. 各班级利用主题班会…;
        # a written count ("召开一次") makes it a one-off.
        if _COUNT_RE.search(clause):
            return reqs, warnings
        for kind, start, _ in kinds_all:
            each = _EACH_RE.search(clause[:start])
            if each and kind in DEFAULT_CADENCE:
                cadence, count = DEFAULT_CADENCE[kind]
                level = _level(kind, sentence_before, clause[:start])
                reqs.append(_requirement(text, kind, cadence, count, None, level, default=True))
        return reqs, warnings
    for i, m in enumerate(cadences):
        seg_start = cadences[i - 1].end() if i else 0
        seg_end = cadences[i + 1].start() if i + 1 < len(cadences) else len(clause)
        read = _cadence(m)
        if read is None:
            warnings.append(f"“{text}”的周期“{m.group(0)}”不是按周、月、季度、学期或年度计的要求，"
                            "未列为周期要求，请人工核对")
            continue
        cadence, count, weekday = read
        found = _COUNT_RE.search(clause, m.end(), seg_end)
        if found:
            written = cn_to_int(found["n"]) or 1
            # 每两周一次 = 2 a month; 每两个月一次 = 6 a year
            count = written * count if m["fortnight"] or m["months"] else written
        kinds = [k for k in kinds_all if m.end() <= k[1] < seg_end]
        before = [k for k in kinds_all if (seg_start <= k[1] or (i == 0 and k[1] < 0)) and k[1] < m.start()][-1:]
        if before and all(clause[k[1]:k[2]] in _GENERIC for k in kinds):
            kinds = before  # "党课每季度不少于1次", "中心组每月集中学习一次": noun comes first
        if kinds and kinds[0][0] in REPORT_KINDS:
            kinds = kinds[:1]  # 每月考核主题党日…: the check is owed, the meeting is its object
        elif any(k[0] in REPORT_KINDS for k in kinds):
            # 每年向党员大会报告一次: the meeting is whom the report goes to, not a meeting owed.
            kinds = [k for k in kinds if k[0] in REPORT_KINDS or not clause[:k[1]].endswith("向")]
        for kind, start, _ in kinds:
            level = _level(kind, sentence_before, clause[:max(start, 0)])
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
    reqs, warnings, _ = find_requirements_detailed(text)
    return reqs, warnings


def find_requirements_detailed(text: str) -> tuple[list[dict], list[str], list[dict]]:
    """Like `find_requirements`, plus the requirements whose cadence is a default
    (the text names the kind as a duty but not how often)."""
    found_all: list[dict] = []
    warnings: list[str] = []
    for sentence in _SENTENCE_RE.finditer(text or ""):
        s = sentence.group(0)
        if not _ANY_KIND_RE.search(s) and not _CADENCE_RE.search(s) and "三会一课" not in s:
            continue  # no kind and no cadence: nothing can be owed (the usual sentence)
        carried = None
        for clause in _CLAUSE_RE.finditer(s):
            c = clause.group(0)
            kinds = _kinds_in(c)
            found, warns = _clause_requirements(c, s[:clause.start()], carried, kinds)
            warnings += warns
            found_all += found
            has_cadence = bool(_CADENCE_RE.search(c))
            if kinds and not has_cadence:
                carried = kinds[-1]
            elif kinds or has_cadence:
                carried = None
    explicit = {req["kind"] for req in found_all if not req.get("_default")}
    reqs: list[dict] = []
    defaulted: list[dict] = []
    seen: set[tuple] = set()
    for req in found_all:
        default = req.pop("_default", False)
        if default and req["kind"] in explicit:
            continue  # an explicit cadence for the kind wins over the default
        key = (req["kind"], req["cadence"], req["count"], req["weekday"], req["level"])
        if key not in seen:
            seen.add(key)
            reqs.append(req)
            if default:
                defaulted.append(req)
    return reqs, warnings, defaulted
