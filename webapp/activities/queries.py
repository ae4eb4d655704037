"""Selects for the activities area. Every one runs under the ORM scope of the logged-in user."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Activity, ActivityKind, AuditEntry, Plan, Requirement, StoredFile, Task, Unit
from ..params import month_range
from ..permissions import review_queue_criteria

PAGE_SIZE = 50


@dataclass(frozen=True)
class ActivityFilters:
    unit_id: int | None = None
    kind_id: int | None = None
    status: str | None = None
    month: str | None = None  # "YYYY-MM"
    to_review: bool = False

    def month_range(self) -> tuple[date, date] | None:
        return month_range(self.month)


# ---- kinds ----------------------------------------------------------------------------------------

def all_kinds() -> list[ActivityKind]:
    """Every kind the user sees, with its owner (None when the owner is an enclosing unit, out of scope)."""
    query = select(ActivityKind).options(joinedload(ActivityKind.unit)).order_by(ActivityKind.position, ActivityKind.id)
    return list(db.session.execute(query).unique().scalars())


def active_kinds(unit: Unit) -> list[ActivityKind]:
    """Kinds offered when logging for `unit`: those visible from it, not every kind the user sees."""
    query = (select(ActivityKind).where(ActivityKind.active.is_(True), ActivityKind.visible_from(unit))
             .order_by(ActivityKind.position, ActivityKind.id))
    return list(db.session.execute(query).scalars())


def names_taken(owner: Unit, kind: ActivityKind | None = None) -> tuple[set[str], set[str]]:
    """Names a kind of `owner` cannot take: (owner's other kinds, its enclosing units' kinds)."""
    own, inherited = set(), set()
    query = select(ActivityKind.id, ActivityKind.name, ActivityKind.unit_id).where(
        ActivityKind.unit_id.in_(owner.ancestor_ids))
    for kind_id, name, unit_id in db.session.execute(query):
        if kind is not None and kind_id == kind.id:
            continue
        (own if unit_id == owner.id else inherited).add(name)
    return own, inherited


# ---- activities -----------------------------------------------------------------------------------

def active_units() -> list[Unit]:
    """Active units in the user's scope (permissions.can_log_activity picks those they may log for)."""
    return list(db.session.execute(select(Unit).where(Unit.active.is_(True)).order_by(Unit.path)).scalars())


def last_kind_id(user_id: int) -> int | None:
    """The kind of the user's most recent activity, if it is still offered: the form remembers it."""
    query = (select(Activity.kind_id).join(ActivityKind, Activity.kind_id == ActivityKind.id)
             .where(Activity.created_by_id == user_id, ActivityKind.active.is_(True))
             .order_by(Activity.created_at.desc(), Activity.id.desc()).limit(1))
    return db.session.execute(query).scalar_one_or_none()


def activity_page(filters: ActivityFilters, user, page: int = 1) -> tuple[list[Activity], int]:
    """One page of activities matching the filters, newest first, and the total count."""
    criteria = []
    if filters.unit_id:
        criteria.append(Activity.unit_id == filters.unit_id)
    if filters.kind_id:
        criteria.append(Activity.kind_id == filters.kind_id)
    if filters.status:
        criteria.append(Activity.status == filters.status)
    month = filters.month_range()
    if month:
        criteria.append(Activity.held_on.between(*month))
    if filters.to_review:
        criteria.append(review_queue_criteria(user))
    total = db.session.execute(select(func.count(Activity.id)).where(*criteria)).scalar_one()
    query = (select(Activity).where(*criteria)
             .options(joinedload(Activity.unit), joinedload(Activity.kind))
             .order_by(Activity.held_on.desc(), Activity.id.desc())
             .limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE))
    return list(db.session.execute(query).scalars()), total


def review_queue_size(user) -> int:
    return db.session.execute(select(func.count(Activity.id)).where(review_queue_criteria(user))).scalar_one()


def activity_history(activity_id: int) -> list[AuditEntry]:
    query = (select(AuditEntry).where(AuditEntry.entity == "activity", AuditEntry.entity_id == activity_id)
             .order_by(AuditEntry.at, AuditEntry.id))
    return list(db.session.execute(query).scalars())


def activities_between(unit_ids: list[int], kind_id: int | None, start: date, end: date) -> list[Activity]:
    """Every activity (any status) of a kind in some units and dates: what lies behind a compliance cell."""
    if kind_id is None:
        return []
    query = (select(Activity).where(Activity.unit_id.in_(unit_ids), Activity.kind_id == kind_id,
                                    Activity.held_on.between(start, end))
             .options(joinedload(Activity.unit)).order_by(Activity.held_on, Activity.id))
    return list(db.session.execute(query).scalars())


def subtree_unit_ids(unit: Unit) -> list[int]:
    return list(db.session.execute(Unit.subtree_ids(unit.path)).scalars())


# ---- plans, for the compliance filters ------------------------------------------------------------

def requirement_with_year(requirement_id: int) -> tuple[Requirement, int] | None:
    """A requirement reached through its (scoped) task and plan, with the plan's year."""
    query = (select(Requirement, Plan.year).join(Task, Requirement.task_id == Task.id)
             .join(Plan, Task.plan_id == Plan.id).where(Requirement.id == requirement_id))
    row = db.session.execute(query).first()
    return (row[0], row[1]) if row else None


def pending_files(user, draft: str) -> list[StoredFile]:
    """This user's files waiting under `draft` (within the scope, like every select)."""
    if not draft:
        return []
    return list(db.session.execute(
        select(StoredFile).where(StoredFile.pending_draft == draft, StoredFile.uploaded_by_id == user.id,
                                 StoredFile.activity_id.is_(None), StoredFile.ledger_row_id.is_(None))
        .order_by(StoredFile.id)).scalars())
