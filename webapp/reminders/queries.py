"""Reads for the bell, the reminder list, nudges and the admin's view of deliveries (all scoped)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Integer, String, and_, bindparam, case, func, literal_column, select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import LedgerRow, Nudge, Plan, Reminder, ReminderDelivery, ReminderSetting, Task, Unit, UnitRobot
from ..models.base import utcnow
from ..permissions import scope_pattern
from .services import KEEP_READ_DAYS

LIST_LIMIT = 200


# The bell runs on every full page: a prebuilt Core COUNT on the session's connection (the ORM hook does not see
# it), so neither the statement nor the scope's loader criteria are compiled or cache-keyed per request. It carries
# the same subtree the hook would add (`permissions.scope_pattern()`; a missing scope is an error), besides the
# user's own id: the count is exactly the one the scoped ORM query gave. The pattern is `:scope || ''` so that SQLite
# does not re-prepare the statement on every execution (ledger/queries.py, `_IN_SCOPE`, says why).
_UNREAD = (select(func.count()).select_from(Reminder).join(Unit, Unit.id == Reminder.unit_id)
           .where(Reminder.user_id == bindparam("user_id", type_=Integer), Reminder.read_at.is_(None),
                  Unit.path.like(bindparam("scope", type_=String).concat(literal_column("''")), escape="\\")))


def unread_count(user) -> int:
    return db.session.connection().execute(_UNREAD, {"user_id": user.id, "scope": scope_pattern()}).scalar_one()


def reminders_for(user) -> list[Reminder]:
    """Unread first, then read ones of the last 90 days; newest first in each."""
    kept = utcnow() - timedelta(days=KEEP_READ_DAYS)
    query = (select(Reminder).where(Reminder.user_id == user.id,
                                    (Reminder.read_at.is_(None)) | (Reminder.read_at >= kept))
             .order_by(Reminder.read_at.is_not(None), Reminder.created_at.desc(), Reminder.id.desc())
             .options(joinedload(Reminder.unit)).limit(LIST_LIMIT))
    return list(db.session.execute(query).scalars())


def reminder_of(user, reminder_id: int) -> Reminder | None:
    return db.session.execute(select(Reminder).where(Reminder.id == reminder_id, Reminder.user_id == user.id)
                              ).scalar_one_or_none()


def setting_of(user) -> ReminderSetting | None:
    return db.session.get(ReminderSetting, user.id)


def _subtree(path: str):
    return Unit.subtree_ids(path)


def recent_nudges(unit: Unit, limit: int = 20) -> list[Nudge]:
    """Nudges to units in `unit`'s subtree (the caller's scope decides which `unit` it may name)."""
    query = (select(Nudge).where(Nudge.unit_id.in_(_subtree(unit.path)))
             .options(selectinload(Nudge.unit), selectinload(Nudge.from_unit), selectinload(Nudge.from_user))
             .order_by(Nudge.created_at.desc(), Nudge.id.desc()).limit(limit))
    return list(db.session.execute(query).scalars())


@dataclass
class NudgeTarget:
    unit: Unit
    overdue: int


def nudge_targets(user, as_of: date, preselect: set[int]) -> list[NudgeTarget]:
    """Units below the user's own: those behind (overdue rows) first, then its direct children."""
    below = and_(Unit.path.startswith(user.unit.path, autoescape=True), Unit.id != user.unit_id, Unit.active.is_(True))
    overdue = (select(LedgerRow.unit_id, func.count().label("n")).join(Task, LedgerRow.task_id == Task.id)
               .join(Plan, Task.plan_id == Plan.id)
               .where(Plan.status == "published", LedgerRow.status != "done", Task.due_on < as_of)
               .group_by(LedgerRow.unit_id).subquery())
    behind = func.coalesce(overdue.c.n, 0)
    query = (select(Unit, behind).outerjoin(overdue, overdue.c.unit_id == Unit.id)
             .where(below, (behind > 0) | (Unit.parent_id == user.unit_id) | Unit.id.in_(list(preselect) or [0]))
             .order_by(case((behind > 0, 0), else_=1), Unit.path).limit(LIST_LIMIT))
    return [NudgeTarget(unit, count) for unit, count in db.session.execute(query)]


def units_below(user, unit_ids: list[int]) -> list[Unit]:
    """The named units that lie strictly below the user's own unit (others are silently dropped)."""
    if not unit_ids:
        return []
    query = select(Unit).where(Unit.id.in_(unit_ids), Unit.id != user.unit_id, Unit.active.is_(True),
                               Unit.path.startswith(user.unit.path, autoescape=True)).order_by(Unit.path)
    return list(db.session.execute(query).scalars())


def deliveries_in_scope(user, limit: int = 100) -> list[ReminderDelivery]:
    """Failed and pending first, then the latest sent: e-mail and robot digests of the admin's subtree."""
    query = (select(ReminderDelivery).where(ReminderDelivery.unit_id.in_(_subtree(user.unit.path)))
             .options(selectinload(ReminderDelivery.unit), selectinload(ReminderDelivery.user))
             .order_by(case((ReminderDelivery.status == "failed", 0), (ReminderDelivery.status == "pending", 1),
                            else_=2), ReminderDelivery.created_at.desc(), ReminderDelivery.id.desc())
             .limit(limit))
    return list(db.session.execute(query).scalars())


def failed_count(user) -> int:
    return db.session.execute(select(func.count()).select_from(ReminderDelivery).where(
        ReminderDelivery.unit_id.in_(_subtree(user.unit.path)), ReminderDelivery.status == "failed")).scalar_one()


def robots_in_scope(user) -> list[UnitRobot]:
    query = (select(UnitRobot).join(Unit, Unit.id == UnitRobot.unit_id).options(selectinload(UnitRobot.unit))
             .where(UnitRobot.unit_id.in_(_subtree(user.unit.path))).order_by(Unit.path))
    return list(db.session.execute(query).scalars())


def units_in_scope() -> list[Unit]:
    return list(db.session.execute(select(Unit).order_by(Unit.path)).scalars())
