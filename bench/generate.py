"""Build a university-scale data set: `python bench/generate.py [--quick] [--reset]`.

Full scale: one university root, 30 general branches, 300 branches, 3,000 classes, 60,000 users,
one published plan of 40 tasks with its assignments and ledger rows, 1,000,000 activities over the
year. `--quick` keeps the shape of a college but builds 3 colleges, 600 users, 10,000 activities.
The database is DATABASE_URL (SQLite or PostgreSQL); migrations are applied first. Rows go in with
SQLAlchemy Core executemany in chunks, ids and unit paths computed here, one transaction per chunk.
Every account's password is BENCH_PASSWORD (one hash computed once).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Table, func, insert, select, text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.demo import DEFAULT_KINDS  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import (Activity, ActivityKind, LedgerRow, Plan, Requirement, Section, Task,  # noqa: E402
                           TaskAssignment, Unit, User)

BENCH_PASSWORD = "bench-pass-2023"
CHUNK = 20_000
SEED = 20231


@dataclass(frozen=True)
class Scale:
    generals: int
    branches_per_general: int  # half faculty, half student
    classes_per_student_branch: int
    users: int
    activities: int
    tasks: int = 40


FULL = Scale(generals=30, branches_per_general=10, classes_per_student_branch=20, users=60_000,
             activities=1_000_000)
QUICK = Scale(generals=3, branches_per_general=10, classes_per_student_branch=20, users=600, activities=10_000)

COLLEGES = ["计算机", "外国语", "机械工程", "电气工程", "土木工程", "化学化工", "生命科学", "数学", "物理",
            "经济管理", "法学", "马克思主义", "文学", "新闻传播", "艺术设计", "音乐", "体育", "教育",
            "医学", "药学", "护理", "材料科学", "环境科学", "建筑", "交通运输", "信息工程", "软件",
            "农学", "历史文化", "国际教育"]
MAJORS = ["计算机", "软件工程", "网络工程", "数据科学", "人工智能", "物联网", "信息安全", "电子信息"]
SECTION_TITLES = ["一、加强理论武装", "二、落实意识形态工作责任制", "三、抓好阵地建设和管理",
                  "四、加强师生思想政治工作", "五、强化队伍建设和保障"]

# Task number → the requirements read from it: (kind, cadence, count, level, include_children).
REQUIREMENTS = {
    1: [("党政联席会议", "year", 2, "general", False)],
    2: [("意识形态研判会", "year", 2, "general", False)],
    3: [("政治学习", "week", 1, "faculty_branch", False)],
    4: [("支部委员会", "month", 1, "branch", False), ("支部党员大会", "quarter", 1, "branch", False),
        ("党小组会", "month", 1, "branch", False), ("党课", "quarter", 1, "branch", False)],
    5: [("摸排清查", "month", 1, "student_branch", True)],
    6: [("主题班会", "month", 1, "class", False), ("主题团日", "month", 1, "class", False)],
    7: [("主题党日", "month", 1, "branch", False)],
    8: [("警示教育会", "year", 1, "general", False)],
}
BRANCH_TASKS = range(3, 33)  # tasks 3..32 go to every branch as well as every general branch
CLASS_TASKS = (6, 9, 10, 11, 12, 13, 14, 15)  # and these to every class
KINDS_BY_LEVEL = {
    "general": ["党政联席会议", "意识形态研判会", "警示教育会", "主题党日"],
    "faculty": ["政治学习", "支部委员会", "党小组会", "支部党员大会", "党课", "主题党日"],
    "student": ["摸排清查", "支部委员会", "党小组会", "支部党员大会", "党课", "主题党日"],
    "class": ["主题班会", "主题团日"],
}
# Share of all activities logged by each level (classes log the most).
ACTIVITY_SHARE = {"general": 0.02, "branch": 0.38, "class": 0.60}
ACTIVITY_STATUS_WEIGHTS = (("approved", 85), ("submitted", 8), ("draft", 4), ("returned", 3))
LEDGER_STATUS_WEIGHTS = (("not_started", 40), ("in_progress", 40), ("done", 20))


@dataclass
class UnitRow:
    id: int
    name: str
    kind: str
    category: str | None
    parent_id: int | None
    path: str


@dataclass
class Org:
    units: list[UnitRow] = field(default_factory=list)
    # unit id → the id of a user who acts for it (creator of its activities, reviewer of its children's)
    actor: dict[int, int] = field(default_factory=dict)

    def of_kind(self, kind: str, category: str | None = None) -> list[UnitRow]:
        return [u for u in self.units if u.kind == kind and (category is None or u.category == category)]


class Timer:
    """Prints how long each step took (the brief: minutes, not hours)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}

    def step(self, name: str, started: float, rows: int) -> None:
        took = time.perf_counter() - started
        self.timings[name] = round(took, 2)
        rate = f", {rows / took:,.0f} rows/s" if took > 0 else ""
        print(f"  {name:<18} {rows:>10,} rows in {took:6.1f} s{rate}", flush=True)

    def total(self) -> float:
        return time.perf_counter() - self.started


def chunks(rows: Iterable[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def bulk_insert(table: Table, rows: Iterable[dict]) -> int:
    """executemany in chunks, one transaction per chunk."""
    count = 0
    for batch in chunks(rows):
        with db.engine.begin() as connection:
            connection.execute(insert(table), batch)
        count += len(batch)
    return count


def build_units(scale: Scale) -> Org:
    org = Org()
    root = UnitRow(1, "某某大学党委", "university", None, None, "/1/")
    org.units.append(root)
    next_id = 2
    generals = []
    for g in range(scale.generals):
        college = COLLEGES[g % len(COLLEGES)] + ("" if g < len(COLLEGES) else str(g // len(COLLEGES) + 1))
        general = UnitRow(next_id, f"{college}学院党总支", "general", None, root.id, f"{root.path}{next_id}/")
        org.units.append(general)
        generals.append(general)
        next_id += 1
    branches = []
    half = scale.branches_per_general // 2
    for general in generals:
        for b in range(scale.branches_per_general):
            category = "faculty" if b < half else "student"
            number = b + 1 if b < half else b - half + 1
            name = f"{'教工' if category == 'faculty' else '学生'}第{number}党支部"
            branch = UnitRow(next_id, name, "branch", category, general.id, f"{general.path}{next_id}/")
            org.units.append(branch)
            branches.append(branch)
            next_id += 1
    for branch in (b for b in branches if b.category == "student"):
        for c in range(scale.classes_per_student_branch):
            name = f"{2022 + c % 4}级{MAJORS[c % len(MAJORS)]}{c // 4 + 1}班"
            org.units.append(UnitRow(next_id, name, "class", None, branch.id, f"{branch.path}{next_id}/"))
            next_id += 1
    return org


def unit_dicts(org: Org, now: datetime) -> Iterator[dict]:
    for unit in org.units:
        yield {"id": unit.id, "name": unit.name, "kind": unit.kind, "category": unit.category,
               "parent_id": unit.parent_id, "path": unit.path, "active": True, "created_at": now}


def user_plan(org: Org, total: int) -> Iterator[tuple[str, str, int]]:
    """(username, role, unit id) for every account: fixed officers, then staff per branch, then monitors."""
    root = org.units[0]
    generals, branches, classes = org.of_kind("general"), org.of_kind("branch"), org.of_kind("class")
    fixed = [("admin", "admin", root.id), ("secretary", "secretary", root.id)]
    for g, general in enumerate(generals, start=1):
        fixed += [(f"g{g}-admin", "admin", general.id), (f"g{g}-secretary", "secretary", general.id),
                  (f"g{g}-secretary2", "secretary", general.id)]
    fixed += [(f"b{branch.id}-secretary", "secretary", branch.id) for branch in branches]
    remaining = max(0, total - len(fixed))
    staff_per_branch = max(1, int(remaining * 0.1) // max(1, len(branches)))
    monitors = max(0, remaining - staff_per_branch * len(branches))
    yield from fixed
    for branch in branches:
        for k in range(1, staff_per_branch + 1):
            yield f"b{branch.id}-staff{k}", "staff", branch.id
    for index in range(monitors):
        unit = classes[index % len(classes)]
        yield f"c{unit.id}-monitor{index // len(classes) + 1}", "monitor", unit.id


def user_dicts(org: Org, total: int, password_hash: str, now: datetime) -> Iterator[dict]:
    for user_id, (username, role, unit_id) in enumerate(user_plan(org, total), start=1):
        org.actor.setdefault(unit_id, user_id)
        yield {"id": user_id, "username": username, "display_name": f"用户{username}", "password_hash": password_hash,
               "role": role, "unit_id": unit_id, "active": True, "locale": "zh_Hans_CN", "session_epoch": 0,
               "created_at": now}


def ensure_kinds(root_id: int) -> dict[str, int]:
    """The standard kinds, owned by the root unit like on a real site."""
    owned = select(ActivityKind.name, ActivityKind.id).where(ActivityKind.unit_id == root_id)
    with db.engine.begin() as connection:
        existing = set(connection.execute(owned).scalars())
        missing = [{"unit_id": root_id, "name": name, "cadence": cadence, "count": count, "level": level,
                    "position": position, "active": True}
                   for position, (name, cadence, count, level) in enumerate(DEFAULT_KINDS) if name not in existing]
        if missing:
            connection.execute(insert(ActivityKind.__table__), missing)
        return dict(connection.execute(owned).all())


def build_plan(org: Org, scale: Scale, year: int, kinds: dict[str, int], now: datetime) -> dict[str, list[dict]]:
    """The plan, its sections, tasks and requirements, issued by the root and published."""
    root = org.units[0]
    plan = {"id": 1, "unit_id": root.id, "year": year, "title": f"{year}年意识形态工作任务清单", "status": "published",
            "source_filename": "bench.txt", "source_text": None, "warnings": "[]", "created_at": now,
            "published_at": now}
    sections = [{"id": i + 1, "plan_id": 1, "position": i, "number": title.split("、")[0], "title": title}
                for i, title in enumerate(SECTION_TITLES)]
    per_section = -(-scale.tasks // len(sections))
    tasks, requirements = [], []
    for number in range(1, scale.tasks + 1):
        tasks.append({
            "id": number, "plan_id": 1, "section_id": (number - 1) // per_section + 1, "position": number,
            "number": number, "title": f"重点任务{number}。", "body": f"第{number}项任务的具体内容，按期推进并留存佐证材料。",
            "lead": "", "members": "", "deadline_text": f"{year}年全年坚持和落实。",
            "starts_on": date(year, 1, 1), "due_on": date(year, 12, 31), "ongoing": True, "needs_review": False})
        for kind, cadence, count, level, children in REQUIREMENTS.get(number, []):
            requirements.append({
                "id": len(requirements) + 1, "task_id": number, "text": f"{kind}（{cadence}×{count}）", "kind": kind,
                "kind_id": kinds[kind], "cadence": cadence, "count": count, "weekday": 3 if cadence == "week" else None,
                "level": level, "include_children": children})
    return {"plan": [plan], "sections": sections, "tasks": tasks, "requirements": requirements}


def assigned_units(org: Org, task_number: int) -> Iterator[UnitRow]:
    yield from org.of_kind("general")
    if task_number in BRANCH_TASKS:
        yield from org.of_kind("branch")
    if task_number in CLASS_TASKS:
        yield from org.of_kind("class")


def assignment_and_row_dicts(org: Org, scale: Scale, year: int, now: datetime, rng: random.Random):
    statuses, weights = zip(*LEDGER_STATUS_WEIGHTS)
    assignments, rows = [], []
    for number in range(1, scale.tasks + 1):
        for unit in assigned_units(org, number):
            assignments.append({"id": len(assignments) + 1, "task_id": number, "unit_id": unit.id})
            status = rng.choices(statuses, weights)[0]
            rows.append({
                "id": len(rows) + 1, "task_id": number, "unit_id": unit.id,
                "lead": f"负责人{unit.id % 97}", "members": f"成员{unit.id % 89}、成员{unit.id % 83}",
                "progress": "" if status == "not_started" else f"已于{rng.randint(1, 11)}月推进，形成阶段性材料。",
                "status": status,
                "completed_on": date(year, rng.randint(1, 11), rng.randint(1, 28)) if status == "done" else None,
                "remarks": "", "version": 1, "updated_by_id": org.actor.get(unit.id), "updated_at": now})
    return assignments, rows


def activity_dicts(org: Org, scale: Scale, year: int, today: date, kinds: dict[str, int],
                   rng: random.Random, now: datetime) -> Iterator[dict]:
    """Activities spread over the year so far, per level by ACTIVITY_SHARE, mostly approved."""
    statuses, weights = zip(*ACTIVITY_STATUS_WEIGHTS)
    start = date(year, 1, 1)
    days = max(1, (min(today, date(year, 12, 31)) - start).days + 1)
    levels = {"general": org.of_kind("general"), "branch": org.of_kind("branch"), "class": org.of_kind("class")}
    next_id = 1
    for level, share in ACTIVITY_SHARE.items():
        units = levels[level]
        count = round(scale.activities * share) if level != "class" else scale.activities - next_id + 1
        for index in range(count):
            unit = units[index % len(units)]
            kind_level = unit.category if level == "branch" else level
            kind_name = rng.choice(KINDS_BY_LEVEL[kind_level])
            held_on = start + timedelta(days=rng.randrange(days))
            status = rng.choices(statuses, weights)[0]
            expected = rng.randint(15, 45)
            reviewer = org.actor.get(unit.parent_id) if status in ("approved", "returned") else None
            created = datetime.combine(held_on, datetime.min.time()) + timedelta(hours=20)
            yield {
                "id": next_id, "unit_id": unit.id, "kind_id": kinds[kind_name], "held_on": held_on,
                "topic": f"{kind_name}：学习贯彻第{index % 50 + 1}讲", "place": f"教学楼{index % 9 + 1}0{index % 7 + 1}",
                "host": f"主持人{unit.id % 50}", "present": expected - rng.randint(0, 3), "expected": expected,
                "summary": "会议传达学习有关精神，结合实际开展讨论。", "status": status,
                "review_comment": "请补充签到表" if status == "returned" else "",
                "reviewed_by_id": reviewer, "reviewed_at": created + timedelta(days=2) if reviewer else None,
                "created_by_id": org.actor.get(unit.id), "created_at": created, "updated_at": created, "version": 1}
            next_id += 1


def database_is_empty() -> bool:
    with db.engine.connect() as connection:
        return not connection.execute(select(func.count()).select_from(Unit.__table__)).scalar_one()


def reset_database() -> None:
    from flask_migrate import downgrade, upgrade
    downgrade(revision="base")
    upgrade()


def fix_sequences() -> None:
    """PostgreSQL: explicit ids leave the serial sequences behind; move them past the data."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as connection:
        for table in db.metadata.sorted_tables:
            if "id" in table.c:
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 0) + 1, false)"))


def generate(scale: Scale, year: int, today: date) -> dict:
    """Insert everything; returns counts and timings."""
    timer = Timer()
    rng = random.Random(SEED)
    now = datetime(year, 1, 1, 8, 0)
    password_hash = generate_password_hash(BENCH_PASSWORD)

    started = time.perf_counter()
    org = build_units(scale)
    units = bulk_insert(Unit.__table__, unit_dicts(org, now))
    timer.step("units", started, units)

    started = time.perf_counter()
    users = bulk_insert(User.__table__, user_dicts(org, scale.users, password_hash, now))
    timer.step("users", started, users)

    started = time.perf_counter()
    kinds = ensure_kinds(org.units[0].id)
    plan = build_plan(org, scale, year, kinds, now)
    for model, key in ((Plan, "plan"), (Section, "sections"), (Task, "tasks"), (Requirement, "requirements")):
        bulk_insert(model.__table__, plan[key])
    timer.step("plan", started, len(plan["tasks"]))

    started = time.perf_counter()
    assignments, rows = assignment_and_row_dicts(org, scale, year, now, rng)
    bulk_insert(TaskAssignment.__table__, assignments)
    ledger_rows = bulk_insert(LedgerRow.__table__, rows)
    timer.step("ledger rows", started, ledger_rows)

    started = time.perf_counter()
    activities = bulk_insert(Activity.__table__, activity_dicts(org, scale, year, today, kinds, rng, now))
    timer.step("activities", started, activities)

    started = time.perf_counter()
    from webapp.activities.counters import recount  # the bulk insert bypasses the flush that keeps them
    counter_rows = recount(db.session)
    db.session.commit()
    timer.step("counters", started, counter_rows)

    fix_sequences()
    started = time.perf_counter()
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    else:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    timer.step("analyze", started, 0)
    total = timer.total()
    print(f"  total {total:.1f} s", flush=True)
    return {"units": units, "users": users, "ledger_rows": ledger_rows, "activities": activities,
            "seconds": round(total, 1), "timings": timer.timings}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 1/100 of the data (3 colleges)")
    parser.add_argument("--reset", action="store_true", help="empty the database first (downgrade + upgrade)")
    parser.add_argument("--year", type=int, default=date.today().year)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set DATABASE_URL or --database-url (sqlite:////abs/path.db or postgresql://…)")
    generate_into(args.database_url, QUICK if args.quick else FULL, args.year, reset=args.reset)
    return 0


def generate_into(database_url: str, scale: Scale, year: int, reset: bool = False) -> dict:
    app = create_app({"SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(database_url)})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        if reset:
            reset_database()
        elif not database_is_empty():
            raise SystemExit("the database already has units: pass --reset to rebuild it")
        print(f"generating {'quick' if scale == QUICK else 'full'} data set into {app.config['SQLALCHEMY_DATABASE_URI']}",
              flush=True)
        return generate(scale, year, min(date.today(), date(year, 12, 31)))


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


if __name__ == "__main__":
    sys.exit(main())
