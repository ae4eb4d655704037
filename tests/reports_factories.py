"""Test data for reports, built directly with the models: a published plan, ledgers, activities."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from webapp.extensions import db
from webapp.models import (Activity, ActivityKind, LedgerRow, Plan, Requirement, Section, StoredFile, Task,
                           TaskAssignment)

# Last year: every figure is "as of" its end, so tests do not depend on today's date.
YEAR = date.today().year - 1
PLAN_TITLE = f"计算机学院{YEAR}年意识形态工作方案"


@dataclass
class PlanData:
    plan_id: int
    task_ids: list[int]
    # (task number, unit id) -> ledger row id
    rows: dict[tuple[int, int], int] = field(default_factory=dict)
    kind_ids: dict[str, int] = field(default_factory=dict)


# (section number, section title, [(task number, title, due date or None)])
SECTIONS = [
    ("一", "加强组织领导", [(1, "制定年度重点任务清单。", date(YEAR, 3, 31)),
                           (2, "落实意识形态工作责任制。", None)]),
    ("二", "抓好理论学习", [(3, "组织教职工政治学习。", date(YEAR, 6, 30)),
                           (4, "开展主题班会和主题团日活动。", date(YEAR, 12, 31))]),
]


def make_plan(general_id: int, title: str = PLAN_TITLE, year: int = YEAR, extra_tasks: int = 0) -> PlanData:
    """A published plan of the general branch with two sections, four tasks (plus `extra_tasks`) and one requirement."""
    plan = Plan(unit_id=general_id, year=year, title=title, status="published", published_at=datetime(year, 1, 5))
    db.session.add(plan)
    tasks: list[Task] = []
    position = 0
    for s_pos, (number, s_title, items) in enumerate(SECTIONS):
        section = Section(plan=plan, position=s_pos, number=number, title=s_title)
        db.session.add(section)
        for t_number, t_title, due in items:
            position += 1
            tasks.append(Task(plan=plan, section=section, position=position, number=t_number, title=t_title,
                              body=f"{t_title}具体内容：按计划推进。", deadline_text="全年", due_on=due,
                              ongoing=due is None))
    last_section = plan.sections[-1]
    for extra in range(extra_tasks):
        position += 1
        tasks.append(Task(plan=plan, section=last_section, position=position, number=len(tasks) + 1,
                          title=f"补充任务{extra + 1}。", due_on=date(year, 2, 1)))
    db.session.add_all(tasks)
    kind = db.session.execute(db.select(ActivityKind).where(
        ActivityKind.name == "主题班会", ActivityKind.unit_id == plan.unit_id)).scalar_one_or_none()
    if kind is None:
        kind = ActivityKind(unit_id=plan.unit_id, name="主题班会", cadence="month", count=1, level="class")
        db.session.add(kind)
    db.session.flush()
    db.session.add(Requirement(task=tasks[3], text="各班级每月召开主题班会", kind="主题班会", kind_id=kind.id,
                               cadence="month", count=1, level="class"))
    db.session.flush()
    return PlanData(plan_id=plan.id, task_ids=[t.id for t in tasks], kind_ids={"主题班会": kind.id})


def assign(data: PlanData, unit_id: int, statuses: list[str], **values) -> list[int]:
    """TaskAssignment + LedgerRow for every task of the plan in `unit_id`; statuses apply in task order."""
    ids = []
    tasks = db.session.execute(db.select(Task).where(Task.id.in_(data.task_ids)).order_by(Task.position)).scalars()
    for index, task in enumerate(tasks):
        status = statuses[index] if index < len(statuses) else "not_started"
        db.session.add(TaskAssignment(task_id=task.id, unit_id=unit_id))
        row = LedgerRow(task_id=task.id, unit_id=unit_id, status=status,
                        completed_on=date(YEAR, 3, 15) if status == "done" else None,
                        updated_at=datetime(YEAR, 3, 1) + timedelta(days=index), **values)
        db.session.add(row)
        db.session.flush()
        data.rows[(task.number, unit_id)] = row.id
        ids.append(row.id)
    return ids


def add_evidence(row_id: int, unit_id: int, filename: str) -> None:
    db.session.add(StoredFile(unit_id=unit_id, ledger_row_id=row_id, filename=filename,
                              content_type="application/pdf", size=3, sha256="0" * 64, data=b"pdf"))


def add_activity(unit_id: int, kind_id: int, held_on: date, status: str = "approved", topic: str = "主题班会") -> int:
    activity = Activity(unit_id=unit_id, kind_id=kind_id, held_on=held_on, topic=topic, status=status,
                        present=30, expected=32, place="教室", host="班长")
    db.session.add(activity)
    db.session.flush()
    return activity.id


def build_college(org) -> PlanData:
    """Statuses in task order (tasks due 31 Mar, none, 30 Jun, 31 Dec); theme class meetings monthly per class."""
    data = make_plan(org.units["general"])
    assign(data, org.units["faculty1"], ["done", "in_progress", "not_started", "not_started"],
           updated_by_id=org.users["staff1"])
    assign(data, org.units["student1"], ["done", "done"])
    assign(data, org.units["class1"], ["done"] * 4)
    assign(data, org.units["class2"], [])
    assign(data, org.units["class3"], ["in_progress", "done", "done", "done"])
    kind = data.kind_ids["主题班会"]
    for month in (1, 2, 3):
        add_activity(org.units["class1"], kind, date(YEAR, month, 10))
    add_activity(org.units["class1"], kind, date(YEAR, 4, 10), status="submitted")  # not approved: not counted
    add_activity(org.units["class3"], kind, date(YEAR, 1, 20))
    db.session.commit()
    return data
