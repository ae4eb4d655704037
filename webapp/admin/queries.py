"""Selects for the admin area. The ORM scope hook limits every one of them to the admin's subtree."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select, union_all

from ..extensions import db
from ..models import (Activity, ActivityKind, LedgerRow, Plan, PrereviewFile, PrereviewItem, PrereviewKind, PrereviewStep,
                      StoredFile, TaskAssignment, Unit, User)
from ..permissions import login_name_exists, references_to_unit


@dataclass
class UnitListing:
    """One line of the unit tree: the unit, its depth below the admin's own unit, and its head count."""

    unit: Unit
    depth: int
    parent_name: str | None
    user_count: int


def _user_counts(unit_ids: list[int] | None = None) -> dict[int, int]:
    query = select(User.unit_id, func.count(User.id)).group_by(User.unit_id)
    if unit_ids is not None:
        query = query.where(User.unit_id.in_(unit_ids))
    return dict(db.session.execute(query).all())


def _in_tree_order(units: list[Unit]) -> list[Unit]:
    """Depth first, siblings in creation order; a unit whose parent is not visible starts a tree."""
    by_id = {unit.id: unit for unit in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in by_id else None
        children.setdefault(parent, []).append(unit)
    ordered: list[Unit] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        unit = stack.pop()
        ordered.append(unit)
        stack.extend(reversed(children.get(unit.id, [])))
    return ordered


def unit_tree(base_depth: int, search: str = "") -> list[UnitListing]:
    """Every unit in scope in tree order, optionally only those whose name contains `search`."""
    units = list(db.session.execute(select(Unit).order_by(Unit.id)).scalars())
    names = {unit.id: unit.name for unit in units}
    counts = _user_counts()
    needle = search.strip().casefold()
    return [UnitListing(unit, unit.depth - base_depth, names.get(unit.parent_id), counts.get(unit.id, 0))
            for unit in _in_tree_order(units) if needle in unit.name.casefold()]


def unit_listing(unit: Unit, base_depth: int) -> UnitListing:
    parent = db.session.execute(select(Unit.name).where(Unit.id == unit.parent_id)).scalar_one_or_none()
    return UnitListing(unit, unit.depth - base_depth, parent, _user_counts([unit.id]).get(unit.id, 0))


def is_scope_root(unit: Unit) -> bool:
    """The admin's own top unit: its parent is outside the scope, so it cannot be moved from here."""
    if unit.parent_id is None:
        return True
    return db.session.execute(select(Unit.id).where(Unit.id == unit.parent_id)).first() is None


def unit_holdings(unit: Unit) -> dict[str, int]:
    """What still hangs on a unit, by kind; a unit may only be deleted when every count is zero."""
    counted = {
        "users": select(func.count(User.id)).where(User.unit_id == unit.id),
        "units": select(func.count(Unit.id)).where(Unit.parent_id == unit.id),
        "ledger_rows": select(func.count(LedgerRow.id)).where(LedgerRow.unit_id == unit.id),
        "activities": select(func.count(Activity.id)).where(Activity.unit_id == unit.id),
        "plans": select(func.count(Plan.id)).where(Plan.unit_id == unit.id),
        "files": select(func.count(StoredFile.id)).where(StoredFile.unit_id == unit.id),
        "assignments": select(func.count(TaskAssignment.id)).where(TaskAssignment.unit_id == unit.id),
        "kinds": select(func.count(ActivityKind.id)).where(ActivityKind.unit_id == unit.id),
        # Pre-review rows reference the unit without ON DELETE: counted, or the delete ends in a foreign-key 500.
        "prereview": select(func.count()).select_from(
            union_all(*(select(model.id).where(model.unit_id == unit.id)
                        for model in (PrereviewKind, PrereviewItem, PrereviewStep, PrereviewFile))).subquery()),
    }
    # Unscoped: a delete must see every row that references the unit, or the foreign key fails.
    return {key: references_to_unit(query) for key, query in counted.items()}


def parent_clashes(unit: Unit) -> list[str]:
    """Records of the unit that its parent also has (same task's ledger row or assignment, same kind name):
    those cannot move up. Unscoped like unit_holdings."""
    parent_id = unit.parent_id
    clashes = []
    for model, column, label in ((LedgerRow, LedgerRow.task_id, "ledger_rows"),
                                 (TaskAssignment, TaskAssignment.task_id, "assignments"),
                                 (ActivityKind, ActivityKind.name, "kinds")):
        theirs = select(column).where(model.unit_id == parent_id)
        query = select(func.count(model.id)).where(model.unit_id == unit.id, column.in_(theirs))
        if references_to_unit(query):
            clashes.append(label)
    return clashes


@dataclass
class UserFilters:
    search: str = ""
    role: str = ""
    unit_id: int | None = None
    active: str = ""  # "1", "0" or "" for both

    def as_args(self) -> dict[str, str]:
        args = {"q": self.search, "role": self.role, "unit": self.unit_id or "", "active": self.active}
        return {key: str(value) for key, value in args.items() if value}


def users(filters: UserFilters) -> list[User]:
    """Users in scope matching the filters, grouped by unit (tree order of paths), then login name."""
    query = select(User).join(Unit, User.unit_id == Unit.id).order_by(Unit.path, User.username)
    if filters.search:
        pattern = filters.search.strip()
        query = query.where(or_(User.username.icontains(pattern, autoescape=True),
                                User.display_name.icontains(pattern, autoescape=True)))
    if filters.role:
        query = query.where(User.role == filters.role)
    if filters.active in ("1", "0"):
        query = query.where(User.active.is_(filters.active == "1"))
    if filters.unit_id is not None:
        unit = db.session.execute(select(Unit).where(Unit.id == filters.unit_id)).scalar_one_or_none()
        path = unit.path if unit is not None else "/none/"  # a unit out of scope matches nobody
        query = query.where(User.unit_id.in_(Unit.subtree_ids(path)))
    return list(db.session.execute(query).scalars())


def username_taken(username: str) -> bool:
    # Unscoped: login names are unique across the whole site, not only in this admin's subtree.
    return login_name_exists(username)
