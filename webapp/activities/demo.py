"""Demo activities: this year's meetings of the demo college, mostly approved, with deliberate gaps.

Deterministic (a seeded random generator) and bulk-inserted. Gaps on purpose, so the compliance grid
shows both met and missing cells: 教工第二党支部 skips some weeks of 政治学习, 2023级计算机2班 misses
April's 主题班会, 2024级人工智能1班 misses September's 主题团日, and the most recent class meetings are
still waiting for review, returned or drafts.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert, select

from ..extensions import db
from ..models import Activity, ActivityKind, Plan, User
from ..clock import local_today

SEED = 20230301

TOPICS = {
    "政治学习": ["学习党的二十大精神", "学习习近平新时代中国特色社会主义思想专题", "学习《中国共产党章程》",
             "学习教育法律法规", "学习师德师风建设文件", "学习意识形态工作责任制"],
    "支部委员会": ["研究本月支部工作安排", "研究发展党员工作", "研究党费收缴情况", "研究主题党日活动方案"],
    "党小组会": ["交流学习体会", "讨论支部工作计划", "开展批评与自我批评"],
    "主题党日": ["参观红色教育基地", "志愿服务进社区", "重温入党誓词", "观看主题教育影片"],
    "支部党员大会": ["讨论接收预备党员", "听取支部工作报告", "民主评议党员"],
    "党课": ["书记讲党课：坚定理想信念", "专题党课：意识形态工作", "党课：传承红色基因"],
    "摸排清查": ["“校园贷”风险摸排", "传销风险排查", "校园欺凌事件清查"],
    "主题班会": ["诚信考试主题班会", "网络安全主题班会", "防范校园贷主题班会", "心理健康主题班会",
             "学风建设主题班会", "安全教育主题班会"],
    "主题团日": ["学习团章团史", "青年大学习交流", "五四青年节主题团日", "志愿服务主题团日"],
    "党政联席会议": ["研究学院年度重点工作", "研究学院下半年工作安排"],
    "意识形态研判会": ["上半年意识形态形势研判", "下半年意识形态形势研判"],
    "警示教育会": ["观看警示教育片"],
}
PLACES = ["学院会议室", "学院报告厅", "教学楼301", "实验楼报告厅", "线上会议"]
HOSTS = {"general": "党总支书记", "branch": "支部书记", "class": "班长"}

# (unit key, kind) -> periods to skip on purpose: ISO week numbers for weekly kinds, months otherwise.
SKIPS = {
    ("faculty2", "政治学习"): {9, 14, 15, 22, 31, 38, 43},
    ("class2", "主题班会"): {4},
    ("class7", "主题团日"): {9},
    ("student2", "摸排清查"): {6},
}


def seed_activities(units, echo, today: date | None = None):
    """Add the demo units' activities of the demo year, up to `today` (tests pass a fixed day)."""
    visible = ActivityKind.visible_from(units["general"])  # no request scope here: say which tree's kinds
    kinds = {kind.name: kind.id for kind in db.session.execute(select(ActivityKind).where(visible)).scalars()}
    users = {user.unit_id: user for user in db.session.execute(select(User)).scalars() if user.role != "secretary"}
    today = today or local_today()
    year = _demo_year(units["general"].id, today)
    end = min(today, date(year, 12, 31))
    rng = random.Random(SEED)
    rows = []
    for key, unit in units.items():
        for kind_name, days in _schedule(key, unit, year, end, rng):
            if kind_name in kinds:
                rows += [_row(unit, kinds[kind_name], kind_name, day, rng) for day in days]
    _assign_people_and_statuses(rows, units, users)
    if rows:
        db.session.execute(insert(Activity), rows)
        from .counters import recount  # a bulk insert bypasses the flush that keeps the counters
        recount(db.session, year)
    echo(f"演示活动记录：{len(rows)} 条（{year} 年）。")


def _demo_year(general_id: int, today: date) -> int:
    """The published demo plan's year when there is one (so its obligations meet activities), else this year."""
    years = db.session.execute(select(Plan.year).where(Plan.unit_id == general_id, Plan.status == "published",
                                                       Plan.year <= today.year)).scalars().all()
    return max(years, default=today.year)


def _schedule(key: str, unit, year: int, end: date, rng: random.Random):
    """(kind, days) pairs: what this unit held this year up to `end`."""
    if unit.kind == "general":
        yield "党政联席会议", _on([date(year, 3, 12), date(year, 9, 10)], end)
        yield "意识形态研判会", _on([date(year, 6, 18), date(year, 12, 16)], end)
        yield "警示教育会", _on([date(year, 5, 20)], end)
        return
    if unit.kind == "class":
        for kind in ("主题班会", "主题团日"):
            yield kind, _monthly(year, end, rng, SKIPS.get((key, kind), set()))
        return
    for kind in ("支部委员会", "党小组会", "主题党日"):
        yield kind, _monthly(year, end, rng, SKIPS.get((key, kind), set()))
    for kind in ("支部党员大会", "党课"):
        yield kind, _quarterly(year, end, rng)
    if unit.category == "faculty":
        yield "政治学习", _weekly(year, end, rng, SKIPS.get((key, "政治学习"), set()))
    if unit.category == "student":
        yield "摸排清查", _monthly(year, end, rng, SKIPS.get((key, "摸排清查"), set()))


def _on(days: list[date], end: date) -> list[date]:
    return [day for day in days if day <= end]


def _monthly(year: int, end: date, rng: random.Random, skip: set[int]) -> list[date]:
    days = [date(year, month, rng.randint(3, 26)) for month in range(1, 13) if month not in skip]
    return _on(days, end)


def _quarterly(year: int, end: date, rng: random.Random) -> list[date]:
    return _on([date(year, 3 * q - rng.randint(0, 2), rng.randint(5, 25)) for q in range(1, 5)], end)


def _weekly(year: int, end: date, rng: random.Random, skip: set[int]) -> list[date]:
    """Thursdays mostly; now and then moved to Tuesday or Wednesday (it still counts for the week)."""
    day = date(year, 1, 1) + timedelta(days=(3 - date(year, 1, 1).weekday()) % 7)
    days = []
    while day.year == year:
        if day.isocalendar().week not in skip:
            days.append(day - timedelta(days=rng.choice([0, 0, 0, 0, 1, 2])))
        day += timedelta(days=7)
    return _on(days, end)


def _row(unit, kind_id: int, kind_name: str, day: date, rng: random.Random) -> dict:
    expected = rng.randint(30, 45) if unit.kind == "class" else rng.randint(12, 26)
    at = datetime.combine(day, time(16, 0)) + timedelta(hours=rng.randint(1, 30))
    return {"unit_id": unit.id, "kind_id": kind_id, "held_on": day, "topic": rng.choice(TOPICS[kind_name]),
            "place": rng.choice(PLACES), "host": HOSTS.get(unit.kind, "支部书记"),
            "present": expected - rng.randint(0, 3), "expected": expected,
            "summary": f"{kind_name}按计划召开，围绕主题开展学习讨论，会后整理了会议记录和照片。",
            "status": "approved", "review_comment": "", "created_at": at, "updated_at": at, "reviewed_at": at,
            "version": 1}


def _assign_people_and_statuses(rows: list[dict], units, users: dict) -> None:
    """Who logged and who approved each row; the latest class meetings are still in review."""
    by_id = {unit.id: unit for unit in units.values()}
    admin = users.get(units["general"].id)
    for row in rows:
        unit = by_id[row["unit_id"]]
        reviewer = (users.get(unit.parent_id) if unit.kind == "class" else users.get(unit.id)) or admin
        logger = users.get(unit.id) or reviewer
        row["created_by_id"] = logger.id if logger else None
        row["reviewed_by_id"] = reviewer.id if reviewer else None
    class_rows = sorted((row for row in rows if by_id[row["unit_id"]].kind == "class"),
                        key=lambda row: (row["held_on"], row["unit_id"]), reverse=True)
    pending = [("submitted", ""), ("submitted", ""), ("returned", "请补充签到表照片，并写明出席人数。"),
               ("draft", ""), ("submitted", "")]
    for row, (status, comment) in zip(class_rows, pending):
        row.update(status=status, review_comment=comment)
        if status != "returned":
            row.update(reviewed_by_id=None, reviewed_at=None)
