"""Selects for the plans area. Plans, tasks, units and assignments are scoped by the ORM hook;
sections and requirements are not, so they are always reached through a scoped plan or task."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import ActivityKind, LedgerRow, Plan, Requirement, Section, Task, TaskAssignment, Unit
from .reader import KINDS

UNIT_KIND_ORDER = ("university", "general", "branch", "class")


@dataclass
class PlanListing:
    id: int
    year: int
    title: str
    status: str
    task_count: int
    published_at: datetime | None


def plan_listing() -> list[PlanListing]:
    """Every plan the user can see, newest year first, with its task count."""
    task_count = (select(func.count(Task.id)).where(Task.plan_id == Plan.id)
                  .correlate(Plan).scalar_subquery())
    rows = db.session.execute(
        select(Plan.id, Plan.year, Plan.title, Plan.status, task_count, Plan.published_at)
        .order_by(Plan.year.desc(), Plan.id.desc())).all()
    return [PlanListing(*row) for row in rows]


def published_plan_years() -> list[int]:
    """Years of the published plans the user can see, newest first (withdrawn and draft plans do not count)."""
    stmt = select(Plan.year).where(Plan.status == "published").distinct().order_by(Plan.year.desc())
    return list(db.session.execute(stmt).scalars())


def published_plans_of(unit_id: int, year: int) -> list[Plan]:
    """The unit's published plans of a year, with their tasks (for the duplicate warning)."""
    return list(db.session.execute(
        select(Plan).where(Plan.unit_id == unit_id, Plan.year == year, Plan.status == "published")
        .options(selectinload(Plan.tasks)).order_by(Plan.id)).scalars())


def plan_row_units(plan: Plan) -> tuple[int, list[str]]:
    """(ledger rows, names of the units that have them) of a plan; for a draft, what publishing would create.
    Scoped: the admin who manages the plan sees every unit below the plan's unit."""
    if plan.status == "draft":
        stmt = (select(func.count(TaskAssignment.id), Unit.name).join(Task, TaskAssignment.task_id == Task.id)
                .join(Unit, Unit.id == TaskAssignment.unit_id).where(Task.plan_id == plan.id))
    else:
        stmt = (select(func.count(LedgerRow.id), Unit.name).join(Task, LedgerRow.task_id == Task.id)
                .join(Unit, Unit.id == LedgerRow.unit_id).where(Task.plan_id == plan.id, Task.archived.is_(False)))
    rows = db.session.execute(stmt.group_by(Unit.name, Unit.path).order_by(Unit.path)).all()
    return sum(count for count, _name in rows), [name for _count, name in rows]


def revision_draft_of(plan: Plan) -> Plan | None:
    """The draft revision of a published plan someone already started, if any."""
    return db.session.execute(select(Plan).where(Plan.revision_of_id == plan.id, Plan.status == "draft")
                              .order_by(Plan.id).limit(1)).scalar_one_or_none()


def draft_copy_of(plan: Plan, title: str) -> Plan | None:
    """The draft a first "copy to next year" made of this plan, if it is still a draft."""
    return db.session.execute(select(Plan).where(
        Plan.unit_id == plan.unit_id, Plan.year == plan.year + 1, Plan.title == title, Plan.status == "draft",
        Plan.revision_of_id.is_(None))
        .order_by(Plan.id).limit(1)).scalar_one_or_none()


def plan_for_preview(plan_id: int) -> Plan:
    """The plan with everything the preview shows, loaded in a handful of queries."""
    plan = db.session.execute(
        select(Plan).where(Plan.id == plan_id).options(
            selectinload(Plan.sections).selectinload(Section.tasks).options(
                selectinload(Task.requirements),
                selectinload(Task.assignments).selectinload(TaskAssignment.unit)))
    ).scalar_one_or_none()
    if plan is None:
        abort(404)
    return plan


def _one_in_plan(stmt):
    """The single row of `stmt`, or 404: missing, in another plan and out of scope look the same."""
    found = db.session.execute(stmt).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def task_in_plan(plan: Plan, task_id: int) -> Task:
    return _one_in_plan(select(Task).where(Task.id == task_id, Task.plan_id == plan.id))


def section_in_plan(plan: Plan, section_id: int) -> Section:
    return _one_in_plan(select(Section).where(Section.id == section_id, Section.plan_id == plan.id))


def requirement_in_plan(plan: Plan, requirement_id: int) -> Requirement:
    # The join through the scoped Task keeps requirements of invisible plans out.
    return _one_in_plan(select(Requirement).join(Task)
                        .where(Requirement.id == requirement_id, Task.plan_id == plan.id))


def active_units_under(unit: Unit) -> list[Unit]:
    """The unit and every active unit below it, in tree order (path, then id)."""
    return list(db.session.execute(
        select(Unit).where(Unit.path.startswith(unit.path, autoescape=True), Unit.active.is_(True))
        .order_by(Unit.path, Unit.id)).scalars())


def units_by_kind(units: list[Unit]) -> list[tuple[str, list[Unit]]]:
    """Units grouped by kind for the assignment checkboxes (general branch first, classes last)."""
    groups: dict[str, list[Unit]] = {kind: [] for kind in UNIT_KIND_ORDER}
    for unit in units:
        groups.setdefault(unit.kind, []).append(unit)
    return [(kind, members) for kind, members in groups.items() if members]


def kinds_visible_from(unit: Unit) -> dict[str, ActivityKind]:
    """The kinds a plan of `unit` can use, by name: the unit's own and enclosing units' (nearest first), then
    its subtree's. Filtered explicitly, so the CLI (no request, no scope) never links another tree's kind."""
    query = select(ActivityKind).where(ActivityKind.visible_from(unit)).order_by(ActivityKind.position, ActivityKind.id)
    nearness = {unit_id: depth for depth, unit_id in enumerate(reversed(unit.ancestor_ids))}
    kinds: dict[str, ActivityKind] = {}
    for kind in sorted(db.session.execute(query).scalars(), key=lambda k: nearness.get(k.unit_id, len(nearness))):
        kinds.setdefault(kind.name, kind)
    return kinds


def activity_kind_names(unit: Unit) -> list[str]:
    """Kind names the admin can pick for a plan of `unit`: its visible kinds first, then the reader's canonical ones."""
    names = list(kinds_visible_from(unit))
    return names + [kind for kind in KINDS if kind not in names]


def tree_top(unit: Unit) -> Unit:
    """The top unit of `unit`'s tree. Unscoped through permissions.enclosing_units: it encloses the caller's
    subtree, so the scope would hide it from an admin below it."""
    from ..permissions import enclosing_units
    return enclosing_units(unit)[0]


def top_units() -> list[Unit]:
    """Top-level general branches or university committees (the CLI's default plan owner)."""
    return list(db.session.execute(
        select(Unit).where(Unit.parent_id.is_(None), Unit.kind.in_(("general", "university")),
                           Unit.active.is_(True)).order_by(Unit.id)).scalars())
