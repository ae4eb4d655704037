"""Selects the API needs beyond the areas' own (each runs under the ORM scope of the acting user)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..activities.queries import ActivityFilters, activity_criteria
from ..extensions import db
from ..models import Activity, Plan, Section, Task


def _plan_options():
    return (selectinload(Plan.sections).selectinload(Section.tasks).selectinload(Task.requirements),)


def published_plans(after_id: int | None, limit: int) -> list[Plan]:
    """Published plans in scope (issued by the user's unit, one above it or one below), by id."""
    stmt = select(Plan).where(Plan.status == "published").order_by(Plan.id).limit(limit).options(*_plan_options())
    if after_id is not None:
        stmt = stmt.where(Plan.id > after_id)
    return list(db.session.execute(stmt).scalars())


def published_plan(plan_id: int) -> Plan | None:
    stmt = select(Plan).where(Plan.id == plan_id, Plan.status == "published").options(*_plan_options())
    return db.session.execute(stmt).scalar_one_or_none()


def activities_after(filters: ActivityFilters, user, after: tuple[date, int] | None, limit: int) -> list[Activity]:
    """The activity list's filters, newest first (held_on, then id, both descending), after a cursor."""
    stmt = (select(Activity).where(*activity_criteria(filters, user)).options(joinedload(Activity.kind))
            .order_by(Activity.held_on.desc(), Activity.id.desc()).limit(limit))
    if after is not None:
        held_on, activity_id = after
        stmt = stmt.where(or_(Activity.held_on < held_on, and_(Activity.held_on == held_on, Activity.id < activity_id)))
    return list(db.session.execute(stmt).scalars())


def activity(activity_id: int) -> Activity | None:
    stmt = select(Activity).where(Activity.id == activity_id).options(joinedload(Activity.kind),
                                                                      joinedload(Activity.unit))
    return db.session.execute(stmt).scalar_one_or_none()
