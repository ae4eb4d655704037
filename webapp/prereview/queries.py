"""Selects of the pre-review area. Every one runs under the ORM scope of the logged-in user."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from statistics import median

from flask import g, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import PrereviewItem, PrereviewKind, PrereviewStep, Unit, User
from ..models.prereview import APPROVED_STATUSES, PREREVIEW_STATUSES
from ..permissions import can_decide_prereview, enclosing_units, unit_kinds_on_paths
from . import clock
from .services import RED_DAYS

PAGE_SIZE = 50
# A task of the plan "asks for pre-review" when its text names it (task 8: 预审查/审查, task 3: 三审).
PREREVIEW_TASK_WORDS = re.compile(r"预审|审查|三审")


@dataclass(frozen=True)
class ItemFilters:
    unit_id: int | None = None
    kind_id: int | None = None
    status: str | None = None
    subtree: bool = True


# ---- kinds ----------------------------------------------------------------------------------------

def all_kinds() -> list[PrereviewKind]:
    query = select(PrereviewKind).options(joinedload(PrereviewKind.unit)).order_by(PrereviewKind.position,
                                                                                  PrereviewKind.id)
    return list(db.session.execute(query).unique().scalars())


def active_kinds(unit: Unit) -> list[PrereviewKind]:
    query = (select(PrereviewKind).where(PrereviewKind.active.is_(True), PrereviewKind.visible_from(unit))
             .order_by(PrereviewKind.position, PrereviewKind.id))
    return list(db.session.execute(query).scalars())


def kind_names_taken(owner: Unit, kind: PrereviewKind | None = None) -> set[str]:
    """Names visible from `owner` that a kind of its own may not take again."""
    query = select(PrereviewKind.id, PrereviewKind.name).where(PrereviewKind.unit_id.in_(owner.ancestor_ids))
    return {name for kind_id, name in db.session.execute(query) if kind is None or kind_id != kind.id}


def root_unit(user) -> Unit:
    """The top of the user's tree (it encloses the scope: permissions.enclosing_units sees it)."""
    return enclosing_units(user.unit)[0]


# ---- items ----------------------------------------------------------------------------------------

def active_units() -> list[Unit]:
    return list(db.session.execute(select(Unit).where(Unit.active.is_(True)).order_by(Unit.path)).scalars())


def _listing():
    return select(PrereviewItem).options(joinedload(PrereviewItem.unit), joinedload(PrereviewItem.kind))


def item_page(filters: ItemFilters, page: int) -> tuple[list[PrereviewItem], int]:
    criteria = []
    if filters.unit_id:
        unit = db.session.get(Unit, filters.unit_id)
        if unit is None:
            return [], 0
        criteria.append(PrereviewItem.unit_id.in_(Unit.subtree_ids(unit.path)) if filters.subtree
                        else PrereviewItem.unit_id == unit.id)
    if filters.kind_id:
        criteria.append(PrereviewItem.kind_id == filters.kind_id)
    if filters.status in PREREVIEW_STATUSES:
        criteria.append(PrereviewItem.status == filters.status)
    total = db.session.execute(select(func.count(PrereviewItem.id)).where(*criteria)).scalar_one()
    listing = (_listing().where(*criteria).order_by(PrereviewItem.held_on.desc(), PrereviewItem.id.desc())
               .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    return list(db.session.execute(listing).unique().scalars()), total


def unit_items(unit: Unit, subtree: bool = False) -> list[PrereviewItem]:
    where = PrereviewItem.unit_id.in_(Unit.subtree_ids(unit.path)) if subtree else PrereviewItem.unit_id == unit.id
    query = _listing().options(selectinload(PrereviewItem.files), selectinload(PrereviewItem.steps)).where(where).order_by(
        PrereviewItem.held_on, PrereviewItem.id)
    return list(db.session.execute(query).unique().scalars())


def review_queue(user) -> list[PrereviewItem]:
    """Items under review at a stage this user decides (never their own submissions)."""
    query = _listing().where(PrereviewItem.status == "submitted").order_by(PrereviewItem.held_on, PrereviewItem.id)
    candidates = list(db.session.execute(query).unique().scalars())
    kinds_by_id = unit_kinds_on_paths({item.unit.path for item in candidates})
    return [item for item in candidates if can_decide_prereview(user, item, kinds_by_id)]


def red_items(user) -> list[PrereviewItem]:
    """Items of the user's own unit whose date is near without final approval (the organiser's warning)."""
    today = clock.local_today()
    query = (_listing().where(PrereviewItem.unit_id == user.unit_id,
                              PrereviewItem.status.in_(("draft", "submitted", "returned")),
                              PrereviewItem.held_on <= date.fromordinal(today.toordinal() + RED_DAYS))
             .order_by(PrereviewItem.held_on))
    return list(db.session.execute(query).unique().scalars())


def item_steps(item_id: int) -> list[PrereviewStep]:
    query = (select(PrereviewStep).options(joinedload(PrereviewStep.user)).where(PrereviewStep.item_id == item_id)
             .order_by(PrereviewStep.id))
    return list(db.session.execute(query).scalars())


def rounds_of(steps: list[PrereviewStep]) -> list[tuple[int, list[PrereviewStep]]]:
    rounds: dict[int, list[PrereviewStep]] = {}
    for step in steps:
        rounds.setdefault(step.round, []).append(step)
    return sorted(rounds.items())


def user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


# ---- the ledger row of the task that asks for pre-review ------------------------------------------

def task_asks_for_prereview(task) -> bool:
    return bool(PREREVIEW_TASK_WORDS.search(f"{task.title}{task.body}"))


def approved_count(unit_id: int, year: int) -> int:
    query = select(func.count(PrereviewItem.id)).where(
        PrereviewItem.unit_id == unit_id, PrereviewItem.status.in_(APPROVED_STATUSES),
        PrereviewItem.held_on.between(date(year, 1, 1), date(year, 12, 31)))
    return db.session.execute(query).scalar_one()


# ---- the secretary's dashboard --------------------------------------------------------------------

@dataclass
class PrereviewFigures:
    submitted: int = 0
    approved: int = 0
    returned: int = 0
    rejected: int = 0
    overdue: int = 0
    decide_days: list[float] | None = None

    @property
    def median_days(self) -> float | None:
        return round(median(self.decide_days), 1) if self.decide_days else None


@dataclass(frozen=True)
class _Fact:
    path: str
    unit_id: int
    status: str
    held_on: date
    first_submitted_at: object
    decided_at: object


def dashboard_facts(root: Unit, start: date, end: date) -> list[_Fact]:
    """One select: every submitted item of the subtree dated in the window (a few columns each)."""
    query = (select(Unit.path, PrereviewItem.unit_id, PrereviewItem.status, PrereviewItem.held_on,
                    PrereviewItem.first_submitted_at, PrereviewItem.decided_at)
             .join(Unit, Unit.id == PrereviewItem.unit_id)
             .where(Unit.path.startswith(root.path, autoescape=True), PrereviewItem.first_submitted_at.is_not(None),
                    PrereviewItem.held_on.between(start, end)))
    return [_Fact(*row) for row in db.session.execute(query)]


def figures_for(facts: list[_Fact], unit: Unit, own_only: bool, today: date) -> PrereviewFigures:
    figures = PrereviewFigures(decide_days=[])
    for fact in facts:
        if (fact.unit_id != unit.id) if own_only else not fact.path.startswith(unit.path):
            continue
        figures.submitted += 1
        figures.approved += fact.status in APPROVED_STATUSES
        figures.returned += fact.status == "returned"
        figures.rejected += fact.status == "rejected"
        figures.overdue += fact.status == "submitted" and (fact.held_on - today).days <= RED_DAYS
        if fact.decided_at and fact.first_submitted_at:
            figures.decide_days.append((fact.decided_at - fact.first_submitted_at).total_seconds() / 86400)
    return figures


def dashboard_rows(overview, rows=None) -> list[tuple[object, PrereviewFigures]]:
    """(overview row, its pre-review figures) for each row (in the overview table's order), then the total."""
    today = clock.local_today()
    facts = dashboard_facts(overview.root, overview.window.start, overview.window.end)
    rows = [(row, figures_for(facts, row.unit, row.own_only, today)) for row in (rows or overview.rows)]
    return rows + [(overview.total, figures_for(facts, overview.root, False, today))]


def prereview_for_row(row):
    """For a ledger row whose task asks for pre-review: the unit's approved items this year and the register's URL."""
    task = row.task
    if not task_asks_for_prereview(task):
        return None
    cache = g.setdefault("prereview_counts", {})
    key = (row.unit_id, task.plan.year)
    if key not in cache:
        cache[key] = approved_count(row.unit_id, task.plan.year)
    return {"approved": cache[key], "url": url_for("prereview.unit_register", unit_id=row.unit_id)}
