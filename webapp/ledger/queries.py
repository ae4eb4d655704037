"""Selects for the ledger. Every one is scoped (the ORM hook, or for the Core reads of the hot paths their own
WHERE clause): rows outside the user's subtree are absent."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import String, and_, bindparam, func, literal_column, or_, select
from sqlalchemy.orm import joinedload, undefer

from ..clock import local_midnight_utc
from ..extensions import db
from ..models import LEDGER_STATUSES, AuditEntry, LedgerRow, Plan, Section, StoredFile, Task, Unit, User
from ..params import bounded_date, optional_positive_int
from ..permissions import scope_path, scope_pattern

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


# ---- rows as plain values: the hot paths (the page, the row fragment, the inline edit) ------------------------
# Read with Core on the session's connection (no ORM objects, no loader criteria): the scope is in each statement's
# WHERE clause (`permissions.scope_pattern()`), the same subtree the ORM hook would add.

class TaskView:
    __slots__ = ("id", "number", "title", "body", "deadline_text", "due_on", "section_id", "plan_id", "plan")


class PlanYear:
    """What a row's fragment needs of its plan (`row.task.plan.year`: date checks, pre-review counts)."""
    __slots__ = ("id", "year")

    def __init__(self, plan_id: int, year: int):
        self.id, self.year = plan_id, year


class FileView:
    __slots__ = ("id", "filename", "size")

    def __init__(self, file_id: int, filename: str, size: int):
        self.id, self.filename, self.size = file_id, filename, size


class EditorName:
    """The last editor as the fragment shows them (`row.updated_by.display_name`)."""
    __slots__ = ("display_name",)

    def __init__(self, display_name: str):
        self.display_name = display_name


class RowView:
    """A ledger row with what its fragment shows, as plain values (attribute names as on LedgerRow)."""
    __slots__ = ("id", "task_id", "unit_id", "lead", "members", "progress", "status", "completed_on", "remarks",
                 "version", "field_versions", "updated_by_id", "updated_at", "updated_by", "task", "files")


_ROW_COLUMNS = (LedgerRow.id, LedgerRow.task_id, LedgerRow.unit_id, LedgerRow.lead, LedgerRow.members,
                LedgerRow.progress, LedgerRow.status, LedgerRow.completed_on, LedgerRow.remarks, LedgerRow.version,
                LedgerRow.field_versions, LedgerRow.updated_by_id, LedgerRow.updated_at,
                Task.number, Task.title, Task.body, Task.deadline_text, Task.due_on, Task.section_id, Task.plan_id,
                Plan.year, User.display_name, StoredFile.id, StoredFile.filename, StoredFile.size)


# The viewer's subtree (`permissions.scope_pattern()`): every statement below carries it, so a missing value is an
# error (fails closed), never an unscoped read.
# The pattern is `:scope || ''`, not the bare parameter: SQLite re-prepares a statement whose LIKE has a bare parameter on
# its right each time that parameter is bound (to try its LIKE-prefix optimisation, which a path's BINARY index cannot
# use anyway): ~0.07 ms of query planning for the page's rows on every request. Same condition, same scope.
_IN_SCOPE = Unit.path.like(bindparam("scope", type_=String).concat(literal_column("''")), escape="\\")


def _row_views_select(*conditions):
    # The last editor's name is shown to whoever sees the row, even when that person is above the viewer (as
    # permissions.actor_names does); files in file order; the row's unit must be in the viewer's subtree.
    return (select(*_ROW_COLUMNS)
            .join(Task, Task.id == LedgerRow.task_id).join(Plan, Plan.id == Task.plan_id)
            .join(Unit, Unit.id == LedgerRow.unit_id)
            .outerjoin(User, User.id == LedgerRow.updated_by_id)
            .outerjoin(StoredFile, StoredFile.ledger_row_id == LedgerRow.id)
            .where(_IN_SCOPE, *conditions))


def _views(result) -> list[RowView]:
    """One RowView per ledger row from the joined result (a row with files comes once per file, in file order)."""
    views: list[RowView] = []
    plans: dict[int, PlanYear] = {}
    last = None
    for (row_id, task_id, unit_id, lead, members, progress, status, completed_on, remarks, version, field_versions,
         updated_by_id, updated_at, number, title, body, deadline_text, due_on, section_id, plan_id, year,
         editor_name, file_id, filename, size) in result:
        if last is None or last.id != row_id:
            last = RowView()
            (last.id, last.task_id, last.unit_id, last.lead, last.members, last.progress, last.status,
             last.completed_on, last.remarks, last.version, last.field_versions, last.updated_by_id,
             last.updated_at) = (row_id, task_id, unit_id, lead, members, progress, status, completed_on, remarks,
                                 version, field_versions, updated_by_id, updated_at)
            last.updated_by = EditorName(editor_name) if editor_name is not None else None
            task = last.task = TaskView()
            (task.id, task.number, task.title, task.body, task.deadline_text, task.due_on, task.section_id,
             task.plan_id) = (task_id, number, title, body, deadline_text, due_on, section_id, plan_id)
            plan = plans.get(plan_id)
            if plan is None:
                plan = plans[plan_id] = PlanYear(plan_id, year)
            task.plan = plan
            last.files = []
            views.append(last)
        if file_id is not None:
            last.files.append(FileView(file_id, filename, size))
    return views


# Built once: a statement object reused with new values skips building and its cache key (~0.3 ms a request).
_ROW_VIEW = _row_views_select(LedgerRow.id == bindparam("row_id")).order_by(StoredFile.id)


def row_view(row_id: int) -> RowView | None:
    """One row with what its fragment (and saving it) needs, in one SELECT; None when missing or out of scope."""
    views = _views(db.session.connection().execute(_ROW_VIEW, {"row_id": row_id, "scope": scope_pattern()}))
    return views[0] if views else None


def _like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_SEARCHED = (Task.title, LedgerRow.progress, LedgerRow.remarks, LedgerRow.lead, LedgerRow.members)
_FILTERS = {"status": LedgerRow.status == bindparam("status"),
            "overdue": (Task.due_on < bindparam("today")) & (LedgerRow.status != "done"),
            "section": Task.section_id == bindparam("section"),
            "q": or_(*(func.lower(column).like(func.lower(bindparam("q")), escape="\\") for column in _SEARCHED))}


@lru_cache(maxsize=16)
def _row_views_statement(active: tuple[str, ...]):
    return (_row_views_select(LedgerRow.unit_id == bindparam("unit_id"), Task.plan_id == bindparam("plan_id"),
                              Task.archived.is_(False), *(_FILTERS[name] for name in active))
            .join(Section, Section.id == Task.section_id)
            .order_by(Section.position, Task.position, Task.id, LedgerRow.id, StoredFile.id))


# The page's other reads, as plain rows (attribute access like the models'): the unit with its plans and their sections,
# and the unit selector, each under the scope like the rows.
_DEPTH = (func.length(Unit.path) - func.length(func.replace(Unit.path, "/", "")) - 2).label("depth")  # Unit.depth
_UNITS_WITH_ROWS = (select(Unit.id, Unit.name, _DEPTH)
                    .where(_IN_SCOPE, select(LedgerRow.id).join(Task, Task.id == LedgerRow.task_id)
                           .join(Plan, Plan.id == Task.plan_id)
                           .where(LedgerRow.unit_id == Unit.id, Plan.status == "published", Task.archived.is_(False))
                           .exists())
                    .order_by(Unit.path))


class UnitRow(NamedTuple):
    id: int
    name: str
    path: str


class PlanRow(NamedTuple):
    id: int
    year: int
    title: str


class SectionRow(NamedTuple):
    id: int
    number: str
    title: str


# The unit (in the scope), the published plans that gave it rows (newest first) and each plan's sections (in order), in
# one statement: one row per plan and section (NULL plan or section columns where there are none); no row at all when
# the unit is missing or outside the scope. A unit has rows of a handful of plans, a plan about ten sections.
_UNIT_AND_PLANS = (
    select(Unit.id, Unit.name, Unit.path, Plan.id.label("plan_id"), Plan.year, Plan.title,
           Section.id.label("section_id"), Section.number, Section.title.label("section_title"))
    .select_from(Unit)
    .outerjoin(Plan, and_(Plan.status == "published",
                          select(LedgerRow.id).join(Task, LedgerRow.task_id == Task.id)
                          .where(Task.plan_id == Plan.id, Task.archived.is_(False), LedgerRow.unit_id == Unit.id)
                          .correlate(Plan, Unit).exists()))
    .outerjoin(Section, Section.plan_id == Plan.id)
    .where(Unit.id == bindparam("unit_id"), _IN_SCOPE)
    .order_by(Plan.year.desc(), Plan.id.desc(), Section.position))


def unit_and_plans(unit_id: int) -> tuple[UnitRow | None, list[PlanRow], dict[int, list[SectionRow]]]:
    """The unit (id, name, path), its plans (`published_plans_for`: id, year, title) and each plan's sections
    (`sections_of`: id, number, title) in one SELECT; (None, [], {}) when the unit is missing or outside the scope."""
    found = db.session.connection().execute(_UNIT_AND_PLANS, {"unit_id": unit_id, "scope": scope_pattern()}).all()
    if not found:
        return None, [], {}
    first = found[0]
    plans: list[PlanRow] = []
    sections: dict[int, list[SectionRow]] = {}
    for _id, _name, _path, plan_id, year, title, section_id, number, section_title in found:
        if plan_id is None:
            continue
        if not plans or plans[-1].id != plan_id:
            plans.append(PlanRow(plan_id, year, title))
            sections[plan_id] = []
        if section_id is not None:
            sections[plan_id].append(SectionRow(section_id, number, section_title))
    return UnitRow(first[0], first[1], first[2]), plans, sections


# On SQLite text compares byte by byte, so the strings that start with the scope's path are exactly those in
# [path, path with its last character's successor): a range on ix_unit_path instead of a LIKE over every unit (the LIKE
# stays: the scope is still decided by it). PostgreSQL keeps the LIKE alone: its collation need not be byte order.
_UNITS_WITH_ROWS_RANGE = _UNITS_WITH_ROWS.where(Unit.path >= bindparam("scope_from", type_=String),
                                                Unit.path < bindparam("scope_to", type_=String))


def unit_choices() -> list:
    """`units_with_rows` as plain rows (id, name, depth)."""
    connection = db.session.connection()
    values = {"scope": scope_pattern()}  # raises without a scope
    if connection.dialect.name != "sqlite":
        return connection.execute(_UNITS_WITH_ROWS, values).all()
    path = scope_path()
    values.update(scope_from=path, scope_to=path[:-1] + chr(ord(path[-1]) + 1))
    return connection.execute(_UNITS_WITH_ROWS_RANGE, values).all()


def row_views(unit_id: int, plan_id: int, filters: LedgerFilters, today: date) -> list[RowView]:
    """`ledger_rows` as plain values: the unit's rows of one plan in the printed order, filtered; one SELECT."""
    active = tuple(name for name in ("status", "overdue", "section", "q") if getattr(filters, name))
    values = {"unit_id": unit_id, "plan_id": plan_id, "scope": scope_pattern(), "status": filters.status,
              "today": today, "section": filters.section, "q": _like_pattern(filters.q)}  # unused ones are ignored
    return _views(db.session.connection().execute(_row_views_statement(active), values).all())


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
