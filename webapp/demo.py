"""Demo data: a believable college so a fresh site shows something real. Idempotent."""
from __future__ import annotations

from sqlalchemy import func, select

from .extensions import db
from .models import ActivityKind, Unit, User
from .org import add_unit, add_user

DEMO_PASSWORD = "demo-pass-2023"

# (login, display name, role, unit key)
DEMO_USERS = [
    ("admin", "党总支办公室", "admin", "general"),
    ("secretary", "王书记", "secretary", "general"),
    ("staff1", "李老师", "staff", "faculty1"),
    ("staff2", "张老师", "staff", "student1"),
    ("staff3", "赵老师", "staff", "student2"),
    ("monitor1", "陈班长", "monitor", "class1"),
    ("monitor2", "刘班长", "monitor", "class5"),
]

# The standing kinds with their usual cadence and the level that owes them (DOMAIN.md).
DEFAULT_KINDS = [
    ("支部党员大会", "quarter", 1, "branch"),
    ("支部委员会", "month", 1, "branch"),
    ("党小组会", "month", 1, "branch"),
    ("党课", "quarter", 1, "branch"),
    ("主题党日", "month", 1, "branch"),
    ("政治学习", "week", 1, "faculty_branch"),
    ("党政联席会议", "year", 2, "general"),
    ("意识形态研判会", "year", 2, "general"),
    ("警示教育会", "year", 1, "general"),
    ("摸排清查", "month", 1, "student_branch"),
    ("主题班会", "month", 1, "class"),
    ("主题团日", "month", 1, "class"),
]


def ensure_activity_kinds(owner: Unit) -> list[ActivityKind]:
    """Give a top unit the standard kinds (its whole tree sees them) unless it already has kinds of its own;
    returns the kinds it added."""
    if db.session.execute(select(ActivityKind.id).where(ActivityKind.unit_id == owner.id).limit(1)).first():
        return []
    kinds = [ActivityKind(unit_id=owner.id, name=name, cadence=cadence, count=count, level=level, position=position)
             for position, (name, cadence, count, level) in enumerate(DEFAULT_KINDS)]
    db.session.add_all(kinds)
    db.session.flush()
    return kinds


def build_org() -> dict[str, Unit]:
    general = add_unit("计算机学院党总支", "general")
    units = {"general": general}
    units["faculty1"] = add_unit("教工第一党支部", "branch", general, "faculty")
    units["faculty2"] = add_unit("教工第二党支部", "branch", general, "faculty")
    units["student1"] = add_unit("学生第一党支部", "branch", general, "student")
    units["student2"] = add_unit("学生第二党支部", "branch", general, "student")
    classes = [("student1", "2023级计算机1班"), ("student1", "2023级计算机2班"),
               ("student1", "2024级软件工程1班"), ("student1", "2024级软件工程2班"),
               ("student2", "2023级网络工程1班"), ("student2", "2023级数据科学1班"),
               ("student2", "2024级人工智能1班"), ("student2", "2024级物联网1班")]
    for index, (branch, name) in enumerate(classes, start=1):
        units[f"class{index}"] = add_unit(name, "class", units[branch])
    return units


def seed_demo(echo=print) -> bool:
    """Build the demo college unless the database already has users. Returns whether it seeded."""
    if db.session.execute(select(func.count(User.id))).scalar_one():
        echo("数据库已有数据，未重复写入演示数据。")
        return False
    units = build_org()
    ensure_activity_kinds(units["general"])
    for username, name, role, unit_key in DEMO_USERS:
        add_user(username, name, role, units[unit_key], DEMO_PASSWORD)
    db.session.flush()
    for hook in _extra_seeders():
        hook(units, echo)
    db.session.commit()
    return True


def _extra_seeders():
    """Areas add their own demo data (the plan and its ledgers, activities) after the org exists."""
    from .activities.demo import seed_activities
    from .ledger.demo import seed_ledger_progress
    from .plans.demo import seed_plan
    from .prereview.demo import seed_prereview
    return [seed_plan, seed_ledger_progress, seed_activities, seed_prereview]


def print_demo_logins(echo=print) -> None:
    echo("演示账号（密码均为 %s）：" % DEMO_PASSWORD)
    for username, name, role, unit_key in DEMO_USERS:
        echo(f"  {username:<10} {role:<10} {name}")
