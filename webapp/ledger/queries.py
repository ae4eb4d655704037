"""Selects for the ledger. Every one runs through the scoped session: rows outside the user's subtree are absent."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, undefer

from ..clock import local_midnight_utc
from ..extensions import db
from ..models import LEDGER_STATUSES, AuditEntry, LedgerRow, Plan, Section, StoredFile, Task, Unit, User
from ..params import bounded_date, optional_positive_int

CHANGES_PER_PAGE = 50


def _int_arg(args, name: str) -> int | None:
    return optional_positive_int(args.get(name, ""))


def _date_arg(args, name: str) -> date | None:
    return bounded_date(args.get(name, ""))


# ---- the unit's ledger ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerFilters:
    plan: int | None = None
    status: str = ""
    overdue: bool = False
    section: int | None = None
    q: str = ""

    @classmethod
    def from_args(cls, args) -> LedgerFilters:
        status = args.get("status", "")
        return cls(plan=_int_arg(args, "plan"), status=status if status in LEDGER_STATUSES else "",
                   overdue=args.get("overdue") == "1", section=_int_arg(args, "section"),
                   q=args.get("q", "").strip()[:100])

    @property
    def active(self) -> bool:
        return bool(self.status or self.overdue or self.section or self.q)


def published_plans_for(unit_id: int) -> list[Plan]:
    """Published plans that gave this unit rows, newest year first."""
    has_rows = select(LedgerRow.id).join(Task, LedgerRow.task_id == Task.id).where(
        Task.plan_id == Plan.id, Task.archived.is_(False), LedgerRow.unit_id == unit_id).exists()
    stmt = select(Plan).where(Plan.status == "published", has_rows).order_by(Plan.year.desc(), Plan.id.desc())
    return list(db.session.execute(stmt).scalars())


def units_with_rows() -> list[Unit]:
    """Units in the user's scope that have a ledger of a published plan (for the unit selector)."""
    has_rows = (select(LedgerRow.id).join(Task, Task.id == LedgerRow.task_id).join(Plan, Plan.id == Task.plan_id)
                .where(LedgerRow.unit_id == Unit.id, Plan.status == "published", Task.archived.is_(False)).exists())
    return list(db.session.execute(select(Unit).where(has_rows).order_by(Unit.path)).scalars())


def sections_of(plan_id: int) -> list[Section]:
    return list(db.session.execute(
        select(Section).where(Section.plan_id == plan_id).order_by(Section.position)).scalars())


def _row_options():
    # Files joined too: one query, not two (rows have a handful of files at most).
    return (joinedload(LedgerRow.task), joinedload(LedgerRow.unit), joinedload(LedgerRow.updated_by),
            joinedload(LedgerRow.files))


def ledger_rows(unit_id: int, plan_id: int, filters: LedgerFilters, today: date) -> list[LedgerRow]:
    """The unit's rows of one plan in the printed order (section, then task), filtered."""
    stmt = (select(LedgerRow).join(Task, LedgerRow.task_id == Task.id).join(Section, Task.section_id == Section.id)
            .where(LedgerRow.unit_id == unit_id, Task.plan_id == plan_id, Task.archived.is_(False))
            .order_by(Section.position, Task.position, Task.id).options(*_row_options()))
    if filters.status:
        stmt = stmt.where(LedgerRow.status == filters.status)
    if filters.overdue:
        stmt = stmt.where(Task.due_on < today, LedgerRow.status != "done")
    if filters.section:
        stmt = stmt.where(Task.section_id == filters.section)
    if filters.q:
        stmt = stmt.where(or_(*(column.icontains(filters.q, autoescape=True) for column in (
            Task.title, LedgerRow.progress, LedgerRow.remarks, LedgerRow.lead, LedgerRow.members))))
    return list(db.session.execute(stmt).unique().scalars())


def group_by_section(rows: list[LedgerRow], sections: list[Section]) -> list[tuple[Section, list[LedgerRow]]]:
    """Rows (in printed order) under their sections, taken from the plan's loaded sections: no query per section."""
    by_id = {section.id: section for section in sections}
    groups: list[tuple[Section, list[LedgerRow]]] = []
    for row in rows:
        if not groups or groups[-1][0].id != row.task.section_id:
            groups.append((by_id[row.task.section_id], []))
        groups[-1][1].append(row)
    return groups


def ledger_row(row_id: int) -> LedgerRow | None:
    """One row with what its fragment shows; None when missing or out of scope."""
    stmt = select(LedgerRow).where(LedgerRow.id == row_id).options(*_row_options())
    return db.session.execute(stmt).unique().scalar_one_or_none()


def ledger_row_to_save(row_id: int) -> LedgerRow | None:
    """One row with what saving it needs (its unit for the permission check, its plan for the date checks) and
    what its fragment shows afterwards (files, last editor): one SELECT per save, no reload after it."""
    stmt = (select(LedgerRow).where(LedgerRow.id == row_id)
            .options(joinedload(LedgerRow.unit), joinedload(LedgerRow.task).joinedload(Task.plan),
                     joinedload(LedgerRow.updated_by), joinedload(LedgerRow.files)))
    return db.session.execute(stmt).unique().scalar_one_or_none()


def row_history(row_id: int) -> list[AuditEntry]:
    stmt = (select(AuditEntry).where(AuditEntry.entity == "ledger_row", AuditEntry.entity_id == row_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    return list(db.session.execute(stmt).scalars())


# ---- files ---------------------------------------------------------------------------------------

def stored_file_with_data(file_id: int) -> StoredFile | None:
    stmt = select(StoredFile).where(StoredFile.id == file_id).options(undefer(StoredFile.data))
    return db.session.execute(stmt).scalar_one_or_none()


def stored_file(file_id: int) -> StoredFile | None:
    return db.session.execute(select(StoredFile).where(StoredFile.id == file_id)).scalar_one_or_none()


# ---- the change log ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChangeFilters:
    unit: int | None = None
    user: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args) -> ChangeFilters:
        return cls(unit=_int_arg(args, "unit"), user=_int_arg(args, "user"), date_from=_date_arg(args, "from"),
                   date_to=_date_arg(args, "to"), page=max(_int_arg(args, "page") or 1, 1))

    def args(self, **override) -> dict:
        """The filters as URL arguments (for the pager), empty ones left out."""
        values = {"unit": self.unit, "user": self.user, "from": self.date_from and self.date_from.isoformat(),
                  "to": self.date_to and self.date_to.isoformat(), "page": self.page if self.page > 1 else None}
        values.update(override)
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class ChangePage:
    entries: list[AuditEntry]
    total: int
    page: int
    pages: int


def change_log(filters: ChangeFilters) -> ChangePage:
    """Audit entries in the user's scope (any area), most recent first, one page of them."""
    conditions = []
    if filters.unit:
        unit = db.session.execute(select(Unit).where(Unit.id == filters.unit)).scalar_one_or_none()
        conditions.append(AuditEntry.unit_id.in_(Unit.subtree_ids(unit.path)) if unit else AuditEntry.id.is_(None))
    if filters.user:
        conditions.append(AuditEntry.user_id == filters.user)
    if filters.date_from:
        conditions.append(AuditEntry.at >= local_midnight_utc(filters.date_from))
    if filters.date_to:
        conditions.append(AuditEntry.at < local_midnight_utc(filters.date_to + timedelta(days=1)))
    total = db.session.execute(select(func.count(AuditEntry.id)).where(*conditions)).scalar_one()
    pages = max((total + CHANGES_PER_PAGE - 1) // CHANGES_PER_PAGE, 1)
    page = min(filters.page, pages)
    stmt = (select(AuditEntry).where(*conditions).options(joinedload(AuditEntry.unit))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(CHANGES_PER_PAGE).offset((page - 1) * CHANGES_PER_PAGE))
    return ChangePage(entries=list(db.session.execute(stmt).unique().scalars()), total=total, page=page, pages=pages)


def units_in_scope() -> list[Unit]:
    return list(db.session.execute(select(Unit).where(Unit.active).order_by(Unit.path)).scalars())


def users_in_scope() -> list[User]:
    return list(db.session.execute(select(User).order_by(User.display_name, User.id)).scalars())
