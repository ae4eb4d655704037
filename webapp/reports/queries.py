"""Selects behind the overview and the exports. Every figure comes from GROUP BY queries, so a page
costs the same number of queries whatever the number of ledger rows and activities."""
from __future__ import annotations

import calendar
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterable

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..clock import local_today
from ..extensions import db
from ..models import Activity, LedgerRow, Plan, Task, Unit
from ..params import month_range

QUARTERS = {"q1": (1, 3), "q2": (4, 6), "q3": (7, 9), "q4": (10, 12)}


# ---- the time window a report covers ------------------------------------------------------------

@dataclass(frozen=True)
class ReportWindow:
    """A year, optionally narrowed to a quarter ('q1'…'q4') or a month ('1'…'12')."""

    year: int
    period: str
    start: date
    end: date
    as_of: date
    # The day the states of obligation periods are read on: today, never clamped to the window, so a period that
    # runs into the next year (the autumn semester, the last ISO week) is in the same state as on every other page.
    today: date | None = None

    @property
    def states_as_of(self) -> date:
        return self.today or self.as_of

    @property
    def whole_year(self) -> bool:
        return self.period == ""


def report_window(year: int, period: str = "", today: date | None = None) -> ReportWindow:
    today = today or local_today()
    first_month, last_month = 1, 12
    if period in QUARTERS:
        first_month, last_month = QUARTERS[period]
    elif period.isdecimal() and 1 <= int(period) <= 12:
        first_month = last_month = int(period)
    else:
        period = ""
    start = date(year, first_month, 1)
    end = date(year, last_month, calendar.monthrange(year, last_month)[1])
    # Figures are "as of" today, or as of the window's end when it lies in the past.
    as_of = min(max(today, date(year, 1, 1)), end)
    return ReportWindow(year=year, period=period, start=start, end=end, as_of=as_of, today=today)


# ---- figures --------------------------------------------------------------------------------------

@dataclass
class TaskFigures:
    assigned: int = 0
    done: int = 0
    in_progress: int = 0
    not_started: int = 0
    overdue: int = 0
    last_update: datetime | None = None

    @property
    def rate(self) -> float | None:
        return self.done / self.assigned if self.assigned else None

    def add(self, other: TaskFigures) -> None:
        self.assigned += other.assigned
        self.done += other.done
        self.in_progress += other.in_progress
        self.not_started += other.not_started
        self.overdue += other.overdue
        self.last_update = _latest(self.last_update, other.last_update)


@dataclass
class ObligationFigures:
    period_met: int = 0
    period_required: int = 0
    ytd_met: int = 0
    ytd_required: int = 0
    # Per month 1..12: (met, owed) of the obligation periods that closed (or run) in that month.
    months: list[list[int]] = field(default_factory=lambda: [[0, 0] for _ in range(12)])

    @property
    def period_rate(self) -> float | None:
        return self.period_met / self.period_required if self.period_required else None

    @property
    def ytd_rate(self) -> float | None:
        return self.ytd_met / self.ytd_required if self.ytd_required else None

    @property
    def ytd_missing(self) -> int:
        return self.ytd_required - self.ytd_met

    def add(self, other: ObligationFigures) -> None:
        self.period_met += other.period_met
        self.period_required += other.period_required
        self.ytd_met += other.ytd_met
        self.ytd_required += other.ytd_required
        for mine, theirs in zip(self.months, other.months):
            mine[0] += theirs[0]
            mine[1] += theirs[1]


@dataclass
class UnitFigures:
    unit: Unit
    tasks: TaskFigures
    obligations: ObligationFigures
    # True for the unit's own ledger only; False when the figures roll up its whole subtree.
    own_only: bool = False
    has_children: bool = False
    activity_update: datetime | None = None

    @property
    def last_update(self) -> datetime | None:
        return _latest(self.tasks.last_update, self.activity_update)


@dataclass
class Overview:
    root: Unit
    window: ReportWindow
    rows: list[UnitFigures]
    total: UnitFigures


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(filter(None, (a, b)), default=None)


def subtree_units(root: Unit) -> list[Unit]:
    stmt = select(Unit).where(Unit.path.startswith(root.path, autoescape=True), Unit.active.is_(True))
    return list(db.session.execute(stmt.order_by(Unit.path)).scalars())


def visible_ancestors(unit: Unit) -> list[Unit]:
    """The units above `unit` that the user may see, top first (the drill-down trail)."""
    stmt = select(Unit).where(Unit.id.in_(unit.ancestor_ids[:-1])).order_by(Unit.path)
    return list(db.session.execute(stmt).scalars())


def task_figures_by_unit(root: Unit, window: ReportWindow) -> dict[int, TaskFigures]:
    """One GROUP BY over the subtree's ledger rows of the year's published plans."""
    overdue = case((and_(Task.due_on < window.as_of, LedgerRow.status != "done"), 1), else_=0)
    # A row untouched since publishing has no editor; its creation is not an "update".
    edited_at = case((LedgerRow.updated_by_id.is_not(None), LedgerRow.updated_at))
    stmt = (select(LedgerRow.unit_id, LedgerRow.status, func.count(LedgerRow.id), func.sum(overdue),
                   func.max(edited_at))
            .join(Task, Task.id == LedgerRow.task_id).join(Plan, Plan.id == Task.plan_id)
            .where(Plan.year == window.year, Plan.status == "published", Task.archived.is_(False),
                   LedgerRow.unit_id.in_(Unit.subtree_ids(root.path)))
            .group_by(LedgerRow.unit_id, LedgerRow.status))
    if not window.whole_year:
        # Tasks due in the window, plus those without a due date (they run all year).
        stmt = stmt.where(or_(Task.due_on.is_(None), Task.due_on.between(window.start, window.end)))
    figures: dict[int, TaskFigures] = {}
    for unit_id, status, count, overdue_count, last in db.session.execute(stmt):
        unit = figures.setdefault(unit_id, TaskFigures())
        unit.add(TaskFigures(assigned=count, overdue=int(overdue_count or 0), last_update=_as_datetime(last),
                             **({status: count} if status in ("done", "in_progress", "not_started") else {})))
    return figures


def _as_datetime(value) -> datetime | None:
    # SQLite hands back MAX() over a CASE as text.
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def activity_updates_by_unit(root: Unit, window: ReportWindow) -> dict[int, datetime]:
    """Per unit of the subtree, when an activity of the year was last changed."""
    return _activity_updates(select(Unit.id).where(Unit.path.startswith(root.path, autoescape=True)), window)


def _activity_updates(units, window: ReportWindow) -> dict[int, datetime]:
    # Newest first per unit (index unit_id, updated_at, held_on): a few index steps per unit, not every activity.
    last = (select(Activity.updated_at)
            .where(Activity.unit_id == Unit.id,
                   Activity.held_on.between(date(window.year, 1, 1), date(window.year, 12, 31)))
            .order_by(Activity.updated_at.desc()).limit(1).scalar_subquery())
    return {unit_id: _as_datetime(last) for unit_id, last in db.session.execute(units.add_columns(last))
            if last is not None}


def obligation_cells(year: int, as_of: date, unit_ids: Iterable[int] | None):
    """The activities area's compliance grid (a fixed number of queries); None: every unit in scope."""
    from ..activities.compliance import compliance
    return compliance(year, as_of, None if unit_ids is None else set(unit_ids))


def obligation_figures_by_unit(units: list[Unit], window: ReportWindow) -> dict[int, ObligationFigures]:
    """Met and owed obligation periods per unit (active units in scope), cached per college while nothing they
    depend on changed (`activities.rollups`). The figures are shared: do not change them, `add` them to others."""
    from ..activities.rollups import placed
    values, _ = _cached_unit_values([(u.id, *placed(u.path)) for u in units], window, ())
    return {unit_id: figures for unit_id, (figures, _) in values.items() if figures is not None}


def _cached_unit_values(units: list[tuple[int, int, bool]], window: ReportWindow, complete_buckets,
                        totals_only=()):
    """Per unit: (its obligation figures or None, when an activity of the year was last changed or None)."""
    from ..activities import rollups
    key = (db.engine.url.render_as_string(), window.year, window.period, window.as_of)
    return rollups.cached_figures(db.session, key, units, complete_buckets,
                                  lambda unit_ids: _unit_values(unit_ids, window), totals_only)


def _unit_values(unit_ids: set[int], window: ReportWindow) -> dict[int, tuple]:
    figures = _obligation_figures(unit_ids, window)
    updates = _activity_updates(select(Unit.id).where(Unit.id.in_(sorted(unit_ids))), window)
    return {unit_id: (figures.get(unit_id), updates.get(unit_id)) for unit_id in unit_ids}


def _obligation_figures(unit_ids: set[int], window: ReportWindow) -> dict[int, ObligationFigures]:
    """The compliance cells' arithmetic without building the cells (the university's dashboard has ~100,000)."""
    from ..activities.compliance import counted
    base = counted(window.year, unit_ids)
    as_of = window.as_of
    figures: dict[int, ObligationFigures] = {}
    for obligation in base.obligations:
        cadence, required = obligation.cadence, obligation.count
        # (label, month index, in the window's period) of the periods already begun (upcoming ones are not owed)
        owed = [((cadence, p.label), min(p.end, as_of).month - 1, _in_period(p.start, p.end, window))
                for p in base.periods_by_cadence[cadence] if p.start <= as_of]
        if not owed:
            continue
        for unit in base.owing(obligation, unit_ids):
            counts = base.tally.counts(unit.id, obligation.kind_id, obligation.include_children)
            unit_figures = figures.get(unit.id)
            if unit_figures is None:  # not setdefault: that would build a throw-away ObligationFigures per cell
                unit_figures = figures[unit.id] = ObligationFigures()
            months = unit_figures.months
            met_total = period_met = period_required = 0
            for key, month, in_period in owed:
                met = counts.get(key, 0) >= required
                met_total += met
                months[month][0] += met
                months[month][1] += 1
                if in_period:
                    period_met += met
                    period_required += 1
            unit_figures.ytd_met += met_total
            unit_figures.ytd_required += len(owed)
            unit_figures.period_met += period_met
            unit_figures.period_required += period_required
    return figures


def _in_period(start: date, end: date, window: ReportWindow) -> bool:
    if window.whole_year:
        return start <= window.as_of <= end  # each obligation's current period
    return start <= window.end and end >= window.start


def _figures_per_unit(root: Unit, window: ReportWindow) -> tuple[list[Unit], dict[int, UnitFigures]]:
    """Each unit of the subtree with its own figures: a fixed handful of queries."""
    units = subtree_units(root)
    tasks = task_figures_by_unit(root, window)
    obligations = obligation_figures_by_unit(units, window)
    activity = activity_updates_by_unit(root, window)
    parents = {u.parent_id for u in units}
    return units, {u.id: UnitFigures(unit=u, tasks=tasks.get(u.id, TaskFigures()), own_only=True,
                                     obligations=obligations.get(u.id, ObligationFigures()),
                                     activity_update=activity.get(u.id),
                                     has_children=u.id in parents)
                   for u in units}


@dataclass(frozen=True)
class _Subtree:
    """A root's active subtree as the overview folds it: which row each unit goes to, where its figures are cached."""
    group_of: dict[int, int]  # unit id -> the child of the root whose subtree holds it (the root: 0)
    parents: frozenset[int]
    by_bucket: dict[int, list[int]]  # college (`rollups.placed`) -> its active units under the root
    tops: frozenset[int]  # the buckets that are top units


_SUBTREES: OrderedDict = OrderedDict()  # (database, root id, root path) -> (structure stamp, _Subtree)
_SUBTREES_LOCK = threading.Lock()


def _subtree(root: Unit, structure_stamp: int) -> _Subtree:
    """Light (id, parent, path) rows of the root's active subtree, grouped; kept per process while the structure
    stamp (`activities.rollups`: every change to a unit moves it) is unchanged. Everything under a unit the user
    can see is in the user's scope, so the result is the same for every user."""
    from ..activities import rollups
    key = (db.engine.url.render_as_string(), root.id, root.path)
    if rollups.cache.enabled:
        with _SUBTREES_LOCK:
            found = _SUBTREES.get(key)
            if found is not None and found[0] == structure_stamp:
                _SUBTREES.move_to_end(key)
                return found[1]
    light = db.session.execute(select(Unit.id, Unit.parent_id, Unit.path)
                               .where(Unit.path.startswith(root.path, autoescape=True), Unit.active.is_(True))).all()
    depth = len(root.ancestor_ids)
    group_of: dict[int, int] = {}
    parents = set()
    by_bucket: dict[int, list[int]] = {}
    tops = set()
    for unit_id, parent_id, path in light:
        parents.add(parent_id)
        chain = path.strip("/").split("/")
        group_of[unit_id] = int(chain[depth]) if len(chain) > depth else 0
        bucket = int(chain[1] if len(chain) > 1 else chain[0])
        by_bucket.setdefault(bucket, []).append(unit_id)
        if len(chain) == 1:
            tops.add(bucket)
    subtree = _Subtree(group_of, frozenset(parents), by_bucket, frozenset(tops))
    if rollups.cache.enabled:
        with _SUBTREES_LOCK:
            _SUBTREES[key] = (structure_stamp, subtree)
            while len(_SUBTREES) > 256:
                _SUBTREES.popitem(last=False)
    return subtree


def clear_subtrees() -> None:
    with _SUBTREES_LOCK:
        _SUBTREES.clear()


def overview(root: Unit, window: ReportWindow) -> Overview:
    """The root's own ledger and one row per child unit rolling up that child's subtree.

    Works on the subtree's light rows (cached while no unit changes) and folds every figure straight into the rows
    shown: ORM units only for the root and its children, and each college's ledger and obligation figures summed
    once per cache entry (`reports.ledger_rollups`, `activities.rollups`), so a university's page does not build an
    object, or take a step, per unit."""
    from . import ledger_rollups
    stamps_read = ledger_rollups.read_stamps(db.session)  # first: before any input of the figures is read
    subtree = _subtree(root, stamps_read[0])
    group_of, parents = subtree.group_of, subtree.parents
    children = list(db.session.execute(select(Unit).where(Unit.parent_id == root.id, Unit.active.is_(True))
                                       .order_by(Unit.path)).scalars())
    groups: dict[int, UnitFigures] = {0: UnitFigures(unit=root, tasks=TaskFigures(), obligations=ObligationFigures(),
                                                     own_only=True, has_children=root.id in parents)}
    for gid in set(group_of.values()) - {0}:
        groups[gid] = UnitFigures(unit=None, tasks=TaskFigures(), obligations=ObligationFigures(), own_only=False,
                                  has_children=gid in parents)
    _fold_tasks(root, window, subtree, groups, stamps_read)
    _fold_obligations(root, window, subtree, groups, stamps_read[0])  # the subtree's stamp
    total = UnitFigures(unit=root, tasks=TaskFigures(), obligations=ObligationFigures(), own_only=False,
                        has_children=True)
    for group in groups.values():
        total.tasks.add(group.tasks)
        total.obligations.add(group.obligations)
        total.activity_update = _latest(total.activity_update, group.activity_update)
    rows = [groups[0]] if root.id in group_of else []
    for child in children:
        row = groups.get(child.id) or UnitFigures(unit=child, tasks=TaskFigures(), obligations=ObligationFigures(),
                                                  has_children=child.id in parents)
        row.unit = child
        rows.append(row)
    return Overview(root=root, window=window, rows=rows, total=total)


def _fold_tasks(root: Unit, window: ReportWindow, subtree: _Subtree, groups: dict[int, UnitFigures],
                stamps_read: tuple) -> None:
    """Each unit's ledger figures added into its group, from the per-college cache (`reports.ledger_rollups`): a
    child that is a college is its entry's total, folded for the window; edits since the entries were computed are
    read as a delta (the last edit only: a status change moves a stamp)."""
    from . import ledger_rollups
    group_of = subtree.group_of
    # As for the obligations: only when the root is a top unit or a college are whole colleges in view.
    complete = set(subtree.by_bucket) if len(root.ancestor_ids) <= 2 else set()
    values, totals, used, mark = ledger_rollups.cached_units(
        db.session, (db.engine.url.render_as_string(),), window.year, subtree.by_bucket, complete,
        complete & groups.keys(), stamps_read)
    recent = ledger_rollups.recent_edits(db.session, window.year, root.path, used, complete, mark)
    summed: set[int] = set()
    for gid, group in groups.items():
        entry = totals.get(gid)
        if gid and entry is not None:  # the child is a college: its entry's total is the whole rollup
            ledger_rollups.fold(entry.total(), window, group.tasks)
            summed.add(gid)
    for unit_id, items in values.items():
        gid = group_of.get(unit_id)
        if gid is not None and gid not in summed:
            ledger_rollups.fold(items, window, groups[gid].tasks)
    for unit_id, dues in recent.items():
        group = groups.get(group_of.get(unit_id, -1))
        if group is None:
            continue
        tasks = group.tasks
        for due_on, last in dues.items():
            if ledger_rollups.in_window(due_on, window) and (tasks.last_update is None or last > tasks.last_update):
                tasks.last_update = last


def _fold_obligations(root: Unit, window: ReportWindow, subtree: _Subtree, groups: dict[int, UnitFigures],
                      structure: int | None = None) -> None:
    from ..activities import rollups
    group_of = subtree.group_of
    # Below a college the cached entries hold more units than this subtree: only whole buckets have totals.
    complete = set(subtree.by_bucket) if len(root.ancestor_ids) <= 2 else set()
    # A child that is a college itself is one cached total: its units are not read one by one.
    key = (db.engine.url.render_as_string(), window.year, window.period, window.as_of)
    values, entries = rollups.cached_figures_by_bucket(
        db.session, key, subtree.by_bucket, subtree.tops, complete, lambda unit_ids: _unit_values(unit_ids, window),
        complete & groups.keys(), structure=structure)
    summed: set[int] = set()
    for gid, group in groups.items():
        entry = entries.get(gid)
        if gid and entry is not None:  # the child is a college: its entry's total is the whole rollup
            if entry.total is None:
                total, last = ObligationFigures(), None
                for unit_figures, update in entry.figures.values():
                    if unit_figures is not None:
                        total.add(unit_figures)
                    last = _latest(last, update)
                entry.total = (total, last)
            group.obligations.add(entry.total[0])
            group.activity_update = _latest(group.activity_update, entry.total[1])
            summed.add(gid)
    for unit_id, (unit_figures, update) in values.items():
        gid = group_of.get(unit_id)
        if gid is not None and gid not in summed:
            group = groups[gid]
            if unit_figures is not None:
                group.obligations.add(unit_figures)
            group.activity_update = _latest(group.activity_update, update)


def unit_summaries(root: Unit, window: ReportWindow) -> list[UnitFigures]:
    """Every unit of the subtree with its own figures (the summary sheet of the subtree workbook)."""
    units, own = _figures_per_unit(root, window)
    return [own[u.id] for u in units]


# ---- sorting ---------------------------------------------------------------------------------------

SORT_KEYS: dict[str, Callable[[UnitFigures], object]] = {
    "unit": lambda r: r.unit.name,
    "assigned": lambda r: r.tasks.assigned,
    "done": lambda r: r.tasks.done,
    "in_progress": lambda r: r.tasks.in_progress,
    "not_started": lambda r: r.tasks.not_started,
    "overdue": lambda r: r.tasks.overdue,
    "rate": lambda r: r.tasks.rate,
    "period": lambda r: r.obligations.period_rate,
    "ytd": lambda r: r.obligations.ytd_rate,
    "updated": lambda r: r.last_update,
}
DEFAULT_SORT = ("rate", "asc")


def sort_rows(rows: list[UnitFigures], key: str, direction: str) -> list[UnitFigures]:
    """Sort by a column; rows without a value (nothing assigned) go last either way."""
    get = SORT_KEYS.get(key, SORT_KEYS[DEFAULT_SORT[0]])
    present = [r for r in rows if get(r) is not None]
    absent = [r for r in rows if get(r) is None]
    present.sort(key=lambda r: (get(r), r.unit.name), reverse=direction == "desc")
    return present + absent


# ---- ledgers for export and import ----------------------------------------------------------------

def ledger_plan(unit: Unit, *, subtree: bool, plan_id: int | None = None) -> Plan | None:
    """The plan whose ledger to export: `plan_id` if it gave rows here, else the newest published one that did."""
    units = Unit.subtree_ids(unit.path) if subtree else [unit.id]
    stmt = (select(Plan).join(Task, Task.plan_id == Plan.id).join(LedgerRow, LedgerRow.task_id == Task.id)
            .where(Plan.status == "published", Task.archived.is_(False), LedgerRow.unit_id.in_(units))
            .order_by(Plan.year.desc(), Plan.id.desc()).limit(1))
    if plan_id is not None:
        stmt = stmt.where(Plan.id == plan_id)
    return db.session.execute(stmt).scalars().first()


def ledger_rows(plan: Plan, unit_ids: Iterable[int]) -> list[LedgerRow]:
    """The plan's ledger rows of these units in plan order, with task, section and evidence loaded."""
    stmt = (select(LedgerRow).join(Task, Task.id == LedgerRow.task_id)
            .where(Task.plan_id == plan.id, Task.archived.is_(False), LedgerRow.unit_id.in_(list(unit_ids)))
            .options(joinedload(LedgerRow.task).joinedload(Task.section), selectinload(LedgerRow.files))
            .order_by(LedgerRow.unit_id, Task.position))
    return list(db.session.execute(stmt).scalars())


# ---- activities ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ActivityFilter:
    unit_id: int | None = None
    kind_id: int | None = None
    status: str | None = None
    month: str | None = None  # 'YYYY-MM', as on the activities list


def activities(filters: ActivityFilter) -> list[Activity]:
    stmt = (select(Activity).options(joinedload(Activity.unit), joinedload(Activity.kind),
                                     selectinload(Activity.files))
            .order_by(Activity.held_on, Activity.id))
    if filters.unit_id:
        stmt = stmt.where(Activity.unit_id == filters.unit_id)
    if filters.kind_id:
        stmt = stmt.where(Activity.kind_id == filters.kind_id)
    if filters.status:
        stmt = stmt.where(Activity.status == filters.status)
    month = month_range(filters.month)
    if month:
        stmt = stmt.where(Activity.held_on.between(*month))
    return list(db.session.execute(stmt).unique().scalars())


# ---- the compliance grid -----------------------------------------------------------------------------

@dataclass
class ComplianceLine:
    """One unit × requirement: (met, owed) per month, periods attributed to the month they close in."""
    unit_name: str
    requirement: str
    kind: str
    months: list[list[int]] = field(default_factory=lambda: [[0, 0] for _ in range(12)])
    met: int = 0
    owed: int = 0


def compliance_report(window: ReportWindow, unit_ids: Iterable[int] | None = None) -> tuple[list[ComplianceLine], list]:
    cells = obligation_cells(window.year, window.states_as_of, unit_ids)
    lines: dict[tuple[int, int], ComplianceLine] = {}
    for cell in cells:
        line = lines.setdefault((cell.unit_id, cell.requirement_id),
                                ComplianceLine(cell.unit_name, str(cell.requirement), str(cell.kind)))
        if cell.start > window.as_of:
            continue
        met = int(cell.state == "met")
        month = line.months[min(cell.end, window.as_of).month - 1]
        month[0] += met
        month[1] += 1
        line.met += met
        line.owed += 1
    return list(lines.values()), cells
