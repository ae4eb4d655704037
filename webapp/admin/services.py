"""Every change to units and users: the rules, the change and its audit entries, one commit per action.

Objects come in through the scoped session, so anything referenced by id (a parent, a user's unit)
must be visible to the acting admin or the change is refused.
"""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _, ngettext
from sqlalchemy import String, func, literal, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..extensions import db
from ..models import (Activity, ActivityKind, AuditEntry, LedgerRow, Plan, StoredFile, TaskAssignment, Unit,
                      User)
from ..org import add_unit, add_user
from ..permissions import ADMIN
from .queries import is_scope_root, parent_clashes, unit_holdings, username_taken


class InvalidChange(Exception):
    """A change the rules refuse; `field` names the form field the message belongs beside."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class UnitNotEmpty(Exception):
    """A unit that still holds users, sub-units or records cannot be deleted."""

    def __init__(self, holdings: dict[str, int]):
        self.holdings = {key: count for key, count in holdings.items() if count}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return _("This unit still holds %(holdings)s, so it cannot be deleted; you can deactivate it instead.",
                 holdings=_(", ").join(_holding_text(key, count) for key, count in self.holdings.items()))


def _holding_text(key: str, count: int) -> str:
    texts = {
        "users": lambda: ngettext("%(num)d user", "%(num)d users", count),
        "units": lambda: ngettext("%(num)d sub-unit", "%(num)d sub-units", count),
        "ledger_rows": lambda: ngettext("%(num)d ledger row", "%(num)d ledger rows", count),
        "activities": lambda: ngettext("%(num)d activity", "%(num)d activities", count),
        "plans": lambda: ngettext("%(num)d work plan", "%(num)d work plans", count),
        "files": lambda: ngettext("%(num)d file", "%(num)d files", count),
        "assignments": lambda: ngettext("%(num)d task assignment", "%(num)d task assignments", count),
        "kinds": lambda: ngettext("%(num)d activity kind", "%(num)d activity kinds", count),
        "prereview": lambda: _("%(num)d pre-review records", num=count),
    }
    return texts[key]()


def _visible_unit(unit_id: int | None, field: str) -> Unit:
    """The unit with this id if the acting admin may see it (the select is scoped), else refuse."""
    unit = None
    if unit_id is not None:
        unit = db.session.execute(select(Unit).where(Unit.id == unit_id)).scalar_one_or_none()
    if unit is None:
        raise InvalidChange(field, _("Choose a unit from the list."))
    return unit


def _unit_label(unit: Unit | None) -> str | None:
    return unit.name if unit is not None else None


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {key: (before[key], after[key]) for key in after if before[key] != after[key]}


# ---- units -------------------------------------------------------------------------------------

def create_unit(*, name: str, kind: str, category: str | None, parent_id: int | None) -> Unit:
    parent = _visible_unit(parent_id, "parent_id")
    unit = add_unit(name, kind, parent, category or None)
    audit.record("unit", unit.id, "create", unit_id=unit.id, after={
        "name": unit.name, "kind": unit.kind, "category": unit.category, "parent": _unit_label(parent)})
    db.session.commit()
    return unit


def _move(unit: Unit, new_parent: Unit) -> None:
    """Re-parent `unit` and rewrite the materialised path of its whole subtree in one UPDATE."""
    if new_parent.path.startswith(unit.path):
        raise InvalidChange("parent_id", _("A unit cannot be moved under itself or one of its own sub-units."))
    old_prefix, new_prefix = unit.path, f"{new_parent.path}{unit.id}/"
    db.session.execute(
        update(Unit).where(Unit.path.startswith(old_prefix, autoescape=True))
        .values(path=literal(new_prefix, String).concat(func.substr(Unit.path, len(old_prefix) + 1)))
        .execution_options(synchronize_session="fetch"))
    unit.parent = new_parent


def update_unit(unit: Unit, *, name: str, kind: str, category: str | None, parent_id: int | None) -> None:
    """Rename, re-kind and (unless it is the admin's own top unit) move a unit."""
    category = category if kind == "branch" else None
    old_parent = unit.parent if not is_scope_root(unit) else None
    before = {"name": unit.name, "kind": unit.kind, "category": unit.category, "parent": _unit_label(old_parent)}
    if old_parent is not None:
        new_parent = _visible_unit(parent_id, "parent_id")
        if new_parent.id != old_parent.id:
            _move(unit, new_parent)
    unit.name, unit.kind, unit.category = name, kind, category
    after = {"name": unit.name, "kind": unit.kind, "category": unit.category,
             "parent": _unit_label(unit.parent) if old_parent is not None else None}
    audit.record_changes("unit", unit.id, unit.id, _changed(before, after))
    db.session.commit()


def set_unit_active(unit: Unit, actor: User, active: bool) -> None:
    if not active and unit.id == actor.unit_id:
        raise InvalidChange("active", _("You cannot deactivate the unit you belong to."))
    if unit.active != active:
        audit.record_changes("unit", unit.id, unit.id, {"active": (unit.active, active)})
        unit.active = active
    db.session.commit()


class CannotMove(Exception):
    """What a unit holds cannot all move to its parent; str() is for the user."""


def move_holdings_to_parent(unit: Unit) -> dict[str, int]:
    """Everything a unit holds (sub-units, users, plans, kinds, ledger rows, activities, files, assignments)
    moves to its parent, in the caller's transaction; refused when the parent already has the same record."""
    parent = unit.parent
    if parent is None or is_scope_root(unit):
        raise CannotMove(_("The top unit has no parent to take over what it holds."))
    clashes = parent_clashes(unit)
    if clashes:
        texts = {"ledger_rows": _("ledger rows of the same tasks"), "assignments": _("assignments to the same tasks"),
                 "kinds": _("activity kinds of the same names")}
        raise CannotMove(_("%(parent)s already has %(things)s, so they cannot be moved; deactivate this unit "
                           "instead.", parent=parent.name, things=_(", ").join(texts[key] for key in clashes)))
    moved = unit_holdings(unit)
    for child in list(unit.children):
        _move(child, parent)
    _move_counted_activities(unit.id, parent.id)
    for model in (User, Plan, ActivityKind, LedgerRow, Activity, StoredFile, TaskAssignment):
        db.session.execute(update(model).where(model.unit_id == unit.id).values(unit_id=parent.id)
                           .execution_options(synchronize_session=False))
    audit.record("unit", unit.id, "move", unit_id=parent.id, after={
        "parent": _unit_label(parent), **{key: count for key, count in moved.items() if count}})
    return moved


def _move_counted_activities(unit_id: int, parent_id: int) -> None:
    """The bulk UPDATE below bypasses the unit of work that keeps `activity_counter` (what the dashboards count):
    move the approved activities' counts to the parent in the same transaction."""
    from collections import Counter
    from ..activities import counters
    deltas: Counter = Counter()
    for kind_id, held_on in db.session.execute(select(Activity.kind_id, Activity.held_on).where(
            Activity.unit_id == unit_id, Activity.status == "approved", Activity.kind_id.is_not(None),
            Activity.held_on.is_not(None))):
        deltas[(unit_id, kind_id, held_on)] -= 1
        deltas[(parent_id, kind_id, held_on)] += 1
    if deltas:
        counters.apply(db.session.connection(), deltas)


def delete_unit(unit: Unit, move_to_parent: bool = False) -> None:
    """Delete a unit that holds nothing (or, if the admin confirmed, whose holdings move to the parent first);
    its audit history moves to the parent so it stays readable."""
    if move_to_parent:
        move_holdings_to_parent(unit)
        db.session.flush()
        db.session.expire(unit)
    holdings = unit_holdings(unit)
    if any(holdings.values()):
        raise UnitNotEmpty(holdings)
    db.session.execute(update(AuditEntry).where(AuditEntry.unit_id == unit.id)
                       .values(unit_id=unit.parent_id).execution_options(synchronize_session=False))
    audit.record("unit", unit.id, "delete", unit_id=unit.parent_id, before={
        "name": unit.name, "kind": unit.kind, "category": unit.category, "parent": _unit_label(unit.parent)})
    db.session.delete(unit)
    db.session.commit()


# ---- users -------------------------------------------------------------------------------------

def create_user(*, username: str, display_name: str, role: str, unit_id: int | None, locale: str,
                password: str) -> User:
    if username_taken(username):
        raise InvalidChange("username", _("This login name is already taken."))
    unit = _visible_unit(unit_id, "unit_id")
    try:
        user = add_user(username, display_name, role, unit, password, locale=locale)
    except IntegrityError:  # the same name created at the same moment (a double submit, two admins)
        db.session.rollback()
        raise InvalidChange("username", _("This login name is already taken.")) from None
    audit.record("user", user.id, "create", unit_id=unit.id, after={
        "username": username, "display_name": display_name, "role": role, "unit": _unit_label(unit),
        "locale": locale})
    db.session.commit()
    return user


def _refuse_self_lockout(user: User, actor: User, *, role: str, active: bool) -> None:
    if user.id != actor.id:
        return
    if not active:
        raise InvalidChange("active", _("You cannot deactivate your own account."))
    if role != ADMIN:
        raise InvalidChange("role", _("You cannot remove your own administrator role."))


def update_user(user: User, actor: User, *, display_name: str, role: str, unit_id: int | None, locale: str,
                active: bool) -> None:
    _refuse_self_lockout(user, actor, role=role, active=active)
    unit = _visible_unit(unit_id, "unit_id")
    before = {"display_name": user.display_name, "role": user.role, "unit": _unit_label(user.unit),
              "locale": user.locale, "active": user.active}
    after = {"display_name": display_name, "role": role, "unit": _unit_label(unit), "locale": locale,
             "active": active}
    if user.active and not active:
        user.session_epoch += 1  # a deactivated account is logged out everywhere
    user.display_name, user.role, user.unit, user.locale, user.active = display_name, role, unit, locale, active
    audit.record_changes("user", user.id, unit.id, _changed(before, after))
    db.session.commit()


def set_user_active(user: User, actor: User, active: bool) -> None:
    update_user(user, actor, display_name=user.display_name, role=user.role, unit_id=user.unit_id,
                locale=user.locale, active=active)


def reset_password(user: User, password: str) -> None:
    """Set a new password and end every session; the audit entry says that it happened, nothing more."""
    user.set_password(password)
    user.session_epoch += 1
    audit.record("user", user.id, "password_reset", unit_id=user.unit_id)
    db.session.commit()
