"""Which unit met which recurring obligation in which period.

`compliance(year, as_of)` crosses every requirement of the year's published plans with every unit
that owes it and every period of its cadence, and counts the APPROVED activities of its kind there.
It runs a fixed number of SQL queries whatever the data size (requirements, assignments, units,
activity counts per unit/kind/day); the rest is arithmetic in `periods.py`. Inside a request every
select is scoped by the ORM hook, so a user only gets cells for units in their subtree.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Collection, Iterable

from flask import current_app
from sqlalchemy import String, and_, cast, literal, null, or_, select, union_all

from ..extensions import db
from ..models import ActivityKind, Plan, Requirement, Task, TaskAssignment, Unit
from ..permissions import assignments_around_scope, scope_path, unit_path_of
from . import counters
from .periods import Period, periods, state_for

EXCERPT_CHARS = 40


@dataclass(frozen=True)
class ComplianceCell:
    unit_id: int
    unit_name: str
    requirement_id: int
    requirement: str  # the requirement's text excerpt
    kind: str
    period: str  # "2026-W05", "2026-03", "2026-Q1", "2026-春季学期", "2026"
    start: date
    end: date
    required: int
    done: int
    state: str  # met | missing | in_progress | upcoming

    def as_json(self) -> dict:
        """The row of `flask compliance --json` (an outside contract: keep the keys)."""
        return {"unit": self.unit_name, "unit_id": self.unit_id, "requirement": self.requirement,
                "kind": self.kind, "period": self.period, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "required": self.required, "done": self.done, "state": self.state}


@dataclass(frozen=True)
class Obligation:
    """A requirement as compliance needs it, with its activity kind resolved."""
    id: int
    text: str
    kind: str
    kind_id: int | None
    cadence: str
    count: int
    level: str
    include_children: bool
    task_id: int
    plan_unit_id: int
    plan_id: int = 0
    plan_title: str = ""

    @property
    def same_as(self) -> tuple:
        """What makes two requirements one obligation for a unit: the kind and the cadence."""
        return (self.kind_id if self.kind_id is not None else self.kind, self.cadence)

    @cached_property
    def excerpt(self) -> str:
        text = " ".join(self.text.split())
        return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1] + "…"


@dataclass(frozen=True)
class UnitNode:
    id: int
    name: str
    kind: str
    category: str | None
    path: str
    active: bool

    @cached_property
    def ancestor_ids(self) -> frozenset[int]:
        """This unit's id and its ancestors' (read off the path once, no query)."""
        return frozenset(int(part) for part in self.path.strip("/").split("/") if part)

    def is_under(self, unit_id: int) -> bool:
        """This unit is `unit_id` or lies below it."""
        return unit_id in self.ancestor_ids


@dataclass
class Counted:
    """What every compliance computation starts from: the obligations, the units owing them, the counts."""
    obligations: list[Obligation]
    units: list[UnitNode]
    assigned: dict[int, set[int]]
    periods_by_cadence: dict[str, list[Period]]
    tally: _Tally
    owed: dict[tuple, Obligation]

    def owing(self, obligation: Obligation, unit_ids: Collection[int] | None) -> list[UnitNode]:
        """The units that owe this obligation (not one that another plan asks the same of, more often)."""
        owed = self.owed
        return [unit for unit in owing_units(obligation, self.units, self.assigned.get(obligation.task_id))
                if (unit_ids is None or unit.id in unit_ids) and owed[(unit.id, *obligation.same_as)] is obligation]


def counted(year: int, unit_ids: Collection[int] | None = None) -> Counted:
    """The fixed set of queries behind every compliance figure (the counts come from `activity_counter`)."""
    # All of the year's obligations, also when only some are asked for: which one a unit owes depends on the rest.
    obligations = obligations_of_year(year)
    units = units_in_scope()
    # Who owes what is decided for the asked units only, from their own and their ancestors' assignments.
    owing = units if unit_ids is None else [unit for unit in units if unit.id in unit_ids]
    assigned = _assigned_units(year, None if len(owing) == len(units) else
                               {a for unit in owing for a in unit.ancestor_ids})
    owed = owed_obligations(obligations, owing, assigned)
    semesters = current_app.config.get("SEMESTERS")
    periods_by_cadence = {cadence: periods(cadence, year, semesters) for cadence in {o.cadence for o in obligations}}
    # Descendants' counts only for the units that owe an obligation counting children.
    tally = _Tally(_approved_counts(obligations, periods_by_cadence, _activity_units(units, unit_ids, owed)), units,
                   rollup_kind_ids={o.kind_id for o in obligations if o.include_children})
    return Counted(obligations, owing, assigned, periods_by_cadence, tally, owed)


def compliance(year: int, as_of: date, unit_ids: Collection[int] | None = None, *,
               requirement_ids: Collection[int] | None = None) -> list[ComplianceCell]:
    base = counted(year, unit_ids)
    wanted = None if requirement_ids is None else set(requirement_ids)
    cells = []
    for obligation in base.obligations:
        if wanted is not None and obligation.id not in wanted:
            continue
        for unit in base.owing(obligation, unit_ids):
            counts = base.tally.counts(unit.id, obligation.kind_id, obligation.include_children)
            for period in base.periods_by_cadence[obligation.cadence]:
                done = counts.get((obligation.cadence, period.label), 0)
                cells.append(_cell(obligation, unit, period, done, as_of))
    return cells


def _cell(obligation: Obligation, unit: UnitNode, period: Period, done: int, as_of: date) -> ComplianceCell:
    return ComplianceCell(
        unit_id=unit.id, unit_name=unit.name, requirement_id=obligation.id, requirement=obligation.excerpt,
        kind=obligation.kind, period=period.label, start=period.start, end=period.end,
        required=obligation.count, done=done, state=state_for(period, obligation.count, done, as_of))


# ---- who owes what --------------------------------------------------------------------------------

def owed_obligations(obligations: list[Obligation], units: list[UnitNode],
                     assigned: dict[int, set[int]]) -> dict[tuple, Obligation]:
    """(unit id, kind, cadence) → the one obligation the unit owes: several plans asking for the same kind at the
    same cadence are one obligation, the larger count (the first plan's on a tie)."""
    owed: dict[tuple, Obligation] = {}
    for obligation in obligations:
        for unit in owing_units(obligation, units, assigned.get(obligation.task_id)):
            key = (unit.id, *obligation.same_as)
            if key not in owed or obligation.count > owed[key].count:
                owed[key] = obligation
    return owed


def plans_asking(obligations: list[Obligation], obligation: Obligation) -> list[str]:
    """Titles of every plan that asks for this kind at this cadence (an obligation's page lists them all)."""
    titles: list[str] = []
    for other in obligations:
        if other.same_as == obligation.same_as and other.plan_title not in titles:
            titles.append(other.plan_title)
    return titles


def owing_units(obligation: Obligation, units: Iterable[UnitNode],
                assigned_unit_ids: Collection[int] | None) -> list[UnitNode]:
    """Active units at the requirement's level under the plan's unit (and under an assigned unit, if any)."""
    result = []
    for unit in units:
        if not unit.active or not unit.is_under(obligation.plan_unit_id):
            continue
        if not _at_level(unit, obligation):
            continue
        if assigned_unit_ids is not None and unit.ancestor_ids.isdisjoint(assigned_unit_ids):
            continue
        result.append(unit)
    return result


def _at_level(unit: UnitNode, obligation: Obligation) -> bool:
    level = obligation.level
    if level == "general":
        return unit.id == obligation.plan_unit_id
    if level == "class":
        return unit.kind == "class"
    if unit.kind != "branch" or unit.id == obligation.plan_unit_id:
        return False
    if level == "faculty_branch":
        return unit.category == "faculty"
    if level == "student_branch":
        return unit.category == "student"
    return level == "branch"


PeriodCounts = dict[tuple[str, str], int]  # (cadence, period label) -> approved activities


class _Tally:
    """Approved activities per (unit, kind) and period, optionally with the unit's descendants added."""

    EMPTY: PeriodCounts = {}

    def __init__(self, rows: Iterable[tuple[int, int, str, str, int]], units: list[UnitNode],
                 rollup_kind_ids: set[int]):
        self.rollup_kind_ids = rollup_kind_ids
        self.own: dict[tuple[int, int], PeriodCounts] = {}
        own = self.own
        for unit_id, kind_id, cadence, label, number in rows:
            counts = own.get((unit_id, kind_id))
            if counts is None:  # not a defaultdict: lookups of absent keys must not add entries
                counts = own[(unit_id, kind_id)] = {}
            counts[(cadence, label)] = number
        self.units = {unit.id: unit for unit in units}
        self.subtree: dict[tuple[int, int], PeriodCounts] | None = None

    def counts(self, unit_id: int, kind_id: int | None, include_children: bool) -> PeriodCounts:
        if kind_id is None:
            return self.EMPTY
        table = self._subtree_counts() if include_children else self.own
        return table.get((unit_id, kind_id), self.EMPTY)

    def _subtree_counts(self) -> dict[tuple[int, int], PeriodCounts]:
        # Each unit's counts added to itself and every ancestor: linear in the rows, not units squared.
        if self.subtree is None:
            self.subtree = defaultdict(lambda: defaultdict(int))
            for (unit_id, kind_id), counts in self.own.items():
                if kind_id not in self.rollup_kind_ids:
                    continue
                unit = self.units.get(unit_id)
                for ancestor_id in unit.ancestor_ids if unit else (unit_id,):
                    totals = self.subtree[(ancestor_id, kind_id)]
                    for key, number in counts.items():
                        totals[key] += number
        return self.subtree


# ---- the fixed set of queries ---------------------------------------------------------------------

def obligations_of_year(year: int, requirement_ids: Collection[int] | None = None) -> list[Obligation]:
    """Requirements of the year's published plans (visible ones, in a request), kind resolved by id or name."""
    plan_path = unit_path_of(Plan.unit_id)
    # By name only among the kinds of the plan's unit and the units enclosing it (their ids are on its path).
    on_plan_line = plan_path.contains(literal("/") + cast(ActivityKind.unit_id, String) + literal("/"))
    kind_match = or_(ActivityKind.id == Requirement.kind_id,
                     and_(Requirement.kind_id.is_(None), ActivityKind.name == Requirement.kind, on_plan_line))
    query = (select(Requirement.id, Requirement.text, Requirement.kind, ActivityKind.id, ActivityKind.name,
                    Requirement.cadence, Requirement.count, Requirement.level, Requirement.include_children,
                    Task.id, Plan.unit_id, Plan.id, Plan.title)
             .join(Task, Requirement.task_id == Task.id)
             .join(Plan, Task.plan_id == Plan.id)
             .outerjoin(ActivityKind, kind_match)
             .where(Plan.year == year, Plan.status == "published", Task.archived.is_(False))
             .order_by(Plan.id, Task.position, Task.id, Requirement.id))
    if requirement_ids is not None:
        query = query.where(Requirement.id.in_(list(requirement_ids)))
    return [Obligation(id=rid, text=text, kind=kind_name or kind, kind_id=kind_id, cadence=cadence,
                       count=max(count or 1, 1), level=level, include_children=bool(children),
                       task_id=task_id, plan_unit_id=plan_unit_id, plan_id=plan_id, plan_title=plan_title)
            for rid, text, kind, kind_id, kind_name, cadence, count, level, children, task_id, plan_unit_id, plan_id,
            plan_title in db.session.execute(query)]


def _assigned_units(year: int, only: Collection[int] | None = None) -> dict[int, set[int]]:
    """Per task that has assignments: its assigned units that can matter to the viewer.

    Those are the units in the viewer's subtree and above it; an assignment elsewhere cannot contain a
    unit the viewer sees, but it still makes the task "assigned" (then with an empty set: nobody here owes it).
    Unscoped, because the units above the viewer's subtree are outside the ORM scope. With `only`, just the
    assignments to those units (the asked units and their ancestors: all that decides whether they owe).
    """
    published_tasks = (select(Task.id).join(Plan, Task.plan_id == Plan.id)
                       .where(Plan.year == year, Plan.status == "published", Task.archived.is_(False)))
    has_assignments = select(TaskAssignment.id).where(TaskAssignment.task_id == Task.id).exists()
    tasks = published_tasks.add_columns(null()).where(has_assignments)
    units = select(TaskAssignment.task_id, TaskAssignment.unit_id).where(TaskAssignment.task_id.in_(published_tasks))
    path = scope_path()
    if path is not None:
        above = [int(part) for part in path.strip("/").split("/") if part]
        units = units.where(or_(TaskAssignment.unit_id.in_(above), TaskAssignment.unit_id.in_(Unit.subtree_ids(path))))
    if only is not None:
        units = units.where(TaskAssignment.unit_id.in_(sorted(only)))
    assigned: dict[int, set[int]] = {}
    for task_id, unit_id in assignments_around_scope(union_all(tasks, units)):
        unit_ids = assigned.setdefault(task_id, set())  # a NULL unit: the task is assigned somewhere
        if unit_id is not None:
            unit_ids.add(unit_id)
    return assigned


def units_in_scope() -> list[UnitNode]:
    """Every unit the caller may see, parents before children."""
    rows = db.session.execute(select(Unit.id, Unit.name, Unit.kind, Unit.category, Unit.path, Unit.active))
    nodes = [UnitNode(*row) for row in rows]
    return sorted(nodes, key=lambda unit: unit.ancestor_ids)


def _activity_units(units: list[UnitNode], unit_ids: Collection[int] | None,
                    owed: dict[tuple, Obligation] | None = None) -> list[int] | None:
    """Units whose activities the cells of `unit_ids` can count: they, and the descendants of those owing an
    obligation that counts children (all descendants when `owed` is not given); None: all in scope."""
    if unit_ids is None:
        return None
    wanted = set(unit_ids)
    rolled = wanted if owed is None else {key[0] for key, o in owed.items() if o.include_children and key[0] in wanted}
    relevant = [unit.id for unit in units if unit.id in wanted or not rolled.isdisjoint(unit.ancestor_ids)]
    return None if len(relevant) == len(units) else relevant


def _approved_counts(obligations: list[Obligation], periods_by_cadence: dict[str, list[Period]],
                     unit_ids: list[int] | None) -> list[tuple[int, int, str, str, int]]:
    """Approved activities per unit, kind and period of that kind's cadences, read off the counters.

    `activity_counter` holds one row per unit · kind · period, kept by every change to an activity
    (`counters.py`), so this reads as many rows as there are non-empty cells, not the activities.
    """
    wanted = sorted({(o.kind_id, o.cadence) for o in obligations if o.kind_id is not None})
    if not wanted:
        return []
    spanned = [p for cadence in {c for _, c in wanted} for p in periods_by_cadence[cadence]]
    first_day, last_day = min(p.start for p in spanned), max(p.end for p in spanned)
    return counters.counts_for(db.session, wanted, first_day, last_day, unit_ids)


# ---- shaping cells for pages -----------------------------------------------------------------------

@dataclass
class GridRow:
    unit_id: int
    unit_name: str
    cells: list[ComplianceCell]


@dataclass
class GridBlock:
    """One requirement as a table: units down, periods across."""
    obligation: Obligation
    periods: list[ComplianceCell]  # the first row's cells, for the column heads
    rows: list[GridRow]

    def count(self, state: str) -> int:
        return sum(cell.state == state for row in self.rows for cell in row.cells)


def grid(obligations: list[Obligation], cells: list[ComplianceCell]) -> list[GridBlock]:
    rows_by_requirement: dict[int, dict[int, GridRow]] = defaultdict(dict)
    for cell in cells:
        rows = rows_by_requirement[cell.requirement_id]
        if cell.unit_id not in rows:
            rows[cell.unit_id] = GridRow(cell.unit_id, cell.unit_name, [])
        rows[cell.unit_id].cells.append(cell)
    blocks = []
    for obligation in obligations:
        rows = list(rows_by_requirement.get(obligation.id, {}).values())
        if rows:
            blocks.append(GridBlock(obligation, rows[0].cells, rows))
    return blocks


@dataclass
class UnitObligation:
    """What one unit owes for one requirement: the current period and the periods it missed."""
    obligation: Obligation
    current: ComplianceCell | None
    missed: list[ComplianceCell]
    plans: list[str] = field(default_factory=list)  # every plan asking for it

    @property
    def owed(self) -> bool:
        return self.current is not None and self.current.state != "met"


def obligations_now(today: date, unit_ids: Collection[int]) -> tuple[list[Obligation], list[ComplianceCell]]:
    """This year's obligations of these units, plus last year's periods that run into this year (the autumn
    semester, the last ISO week): the unit's page and home page show them in the state the grid shows."""
    obligations = obligations_of_year(today.year)
    cells = compliance(today.year, today, unit_ids)
    running = [cell for cell in compliance(today.year - 1, today, unit_ids) if cell.end.year >= today.year]
    if running:
        ids = {cell.requirement_id for cell in running}
        obligations = obligations + [o for o in obligations_of_year(today.year - 1) if o.id in ids]
        cells = cells + running
    return obligations, cells


def unit_obligations(obligations: list[Obligation], cells: list[ComplianceCell], as_of: date) -> list[UnitObligation]:
    by_requirement: dict[int, list[ComplianceCell]] = defaultdict(list)
    for cell in cells:
        by_requirement[cell.requirement_id].append(cell)
    result = []
    for obligation in obligations:
        own = by_requirement.get(obligation.id)
        if not own:
            continue
        current = next((cell for cell in own if cell.start <= as_of <= cell.end), None)
        result.append(UnitObligation(obligation, current, [cell for cell in own if cell.state == "missing"],
                                     plans_asking(obligations, obligation)))
    return sorted(result, key=lambda item: not item.owed)

