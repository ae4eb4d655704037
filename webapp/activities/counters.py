"""Approved activities per unit × kind × period (`activity_counter`), kept in step with the activities.

Every flush that inserts, changes or deletes an Activity adds its delta in the same transaction: the activity's
counted key (unit, kind, day) before the flush loses one in each period containing that day, the key after gains
one; only approved activities have a key. So approval, return, withdrawal, deletion and any edit of an approved
activity's kind, date or unit keep the counters true whoever makes them (the activities service, the demo, the
tests), and a stale save that rolls back takes its delta with it. Counter rows are touched in key order after the
activity UPDATEs, so two transactions never wait on each other's rows in opposite orders (no deadlocks on PostgreSQL).

A day falls in one period of each cadence (week, month, quarter, year) and in the semesters containing it
(`SEMESTERS` config; change it and run `recount`). Rows whose count went back to 0 are kept (fewer writes);
readers treat them as absent. Rebuilding and checking read the tables (Core, not the ORM entities), so the
request scope does not apply to them; they run outside requests. Bulk inserts that bypass the ORM unit of work
(`insert(Activity)` executemany, the bench generator) must call `recount()` afterwards.
"""
from __future__ import annotations

from collections import Counter
from datetime import date
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from flask import current_app, has_app_context
from sqlalchemy import Date, String, and_, delete, event, func, insert, inspect, literal, select, tuple_, union_all
from sqlalchemy.orm import Session

from ..models import Activity, ActivityCounter
from . import rollups
from .periods import DEFAULT_SEMESTERS, Period, periods

CADENCES = ("week", "month", "quarter", "semester", "year")
Key = tuple[int, int, date]  # (unit_id, kind_id, held_on) of an approved activity


def _semesters() -> tuple[tuple[str, tuple[int, ...]], ...]:
    config = (current_app.config.get("SEMESTERS") if has_app_context() else None) or DEFAULT_SEMESTERS
    return tuple((name, tuple(days)) for name, days in config.items())


@lru_cache(maxsize=4096)
def periods_of_day(day: date, semesters: tuple[tuple[str, tuple[int, ...]], ...]) -> tuple[tuple[str, Period], ...]:
    """(cadence, period) for every period of every cadence that contains `day`."""
    found: dict[tuple[str, str], Period] = {}
    config = {name: days for name, days in semesters}
    for cadence in CADENCES:
        for year in (day.year - 1, day.year, day.year + 1):
            for period in periods(cadence, year, config):
                if period.start <= day <= period.end:
                    found[(cadence, period.label)] = period
    return tuple((cadence, period) for (cadence, _), period in sorted(found.items()))


def periods_overlapping(year: int, semesters) -> list[tuple[str, Period]]:
    """Every period of every cadence that shares a day with `year` (weeks and semesters spill over its ends)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    config = {name: days for name, days in semesters}
    found: dict[tuple[str, str], Period] = {}
    for cadence in CADENCES:
        for y in (year - 1, year, year + 1):
            for period in periods(cadence, y, config):
                if period.start <= last and period.end >= first:
                    found[(cadence, period.label)] = period
    return [(cadence, period) for (cadence, _), period in sorted(found.items())]


# ---- keeping them in step --------------------------------------------------------------------------

def _key(unit_id, kind_id, held_on, status) -> Key | None:
    if status != "approved" or unit_id is None or kind_id is None or held_on is None:
        return None
    return (unit_id, kind_id, held_on)


def _old_value(state, name: str):
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.added:  # set for the first time (a new object): there was no old value
        return None
    return state.attrs[name].loaded_value


_FIELDS = ("unit_id", "kind_id", "held_on", "status")


def _deltas(session: Session) -> Counter:
    deltas: Counter = Counter()
    for activity in session.new:
        if isinstance(activity, Activity):
            after = _key(*(getattr(activity, name) for name in _FIELDS))
            if after:
                deltas[after] += 1
    for activity in session.dirty:
        if isinstance(activity, Activity) and session.is_modified(activity):
            state = inspect(activity)
            before = _key(*(_old_value(state, name) for name in _FIELDS))
            after = _key(*(getattr(activity, name) for name in _FIELDS))
            if before != after:
                if before:
                    deltas[before] -= 1
                if after:
                    deltas[after] += 1
    for activity in session.deleted:
        if isinstance(activity, Activity):
            state = inspect(activity)
            before = _key(*(_old_value(state, name) for name in _FIELDS))
            if before:
                deltas[before] -= 1
    return deltas


def _period_deltas(deltas: Mapping[Key, int]) -> list[tuple[tuple[int, int, str, str], Period, int]]:
    semesters = _semesters()
    rows: dict[tuple[int, int, str, str], list] = {}
    for (unit_id, kind_id, day), number in deltas.items():
        if not number:
            continue
        for cadence, period in periods_of_day(day, semesters):
            row = rows.setdefault((unit_id, kind_id, cadence, period.label), [period, 0])
            row[1] += number
    return [(key, period, number) for key, (period, number) in sorted(rows.items()) if number]


def apply(connection, deltas: Mapping[Key, int]) -> None:
    """Add the deltas to the counters on `connection` (inside the caller's transaction), rows in key order."""
    table = ActivityCounter.__table__
    upsert = _upsert_for(connection.dialect.name)
    for (unit_id, kind_id, cadence, label), period, number in _period_deltas(deltas):
        if number > 0:
            connection.execute(upsert, {"unit_id": unit_id, "kind_id": kind_id, "cadence": cadence, "period": label,
                                        "first_day": period.start, "last_day": period.end, "approved": number})
        else:
            connection.execute(table.update()
                               .where(table.c.unit_id == unit_id, table.c.kind_id == kind_id,
                                      table.c.cadence == cadence, table.c.period == label)
                               .values(approved=table.c.approved + number))


@lru_cache(maxsize=4)
def _upsert_for(dialect: str):
    table = ActivityCounter.__table__
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table)
    return stmt.on_conflict_do_update(index_elements=[table.c.unit_id, table.c.kind_id, table.c.cadence,
                                                      table.c.period],
                                      set_={"approved": table.c.approved + stmt.excluded.approved})


@event.listens_for(Session, "after_flush")
def _keep_counters(session: Session, flush_context) -> None:
    # In after_flush the new/dirty/deleted sets and the attribute histories still show the state before the flush.
    if not any(isinstance(obj, Activity) for group in (session.new, session.dirty, session.deleted) for obj in group):
        return
    deltas = _deltas(session)
    if any(deltas.values()):
        apply(session.connection(), deltas)  # (rollups' own hook moves the colleges' stamps)


# ---- rebuilding them -------------------------------------------------------------------------------

def _period_table(rows: Sequence[tuple[str, Period]]):
    selects = [select(literal(cadence, String).label("cadence"), literal(period.label, String).label("label"),
                      literal(period.start, Date).label("first_day"), literal(period.end, Date).label("last_day"))
               for cadence, period in rows]
    return union_all(*selects).cte("counted_period")


def _count_selects(session: Session, years: Iterable[int]):
    """One SELECT per year counting approved activities per unit · kind · period (each period counted once)."""
    semesters = _semesters()
    activity = Activity.__table__
    seen: set[tuple[str, str]] = set()
    for each in years:
        rows = [(c, p) for c, p in periods_overlapping(each, semesters) if (c, p.label) not in seen]
        seen.update((c, p.label) for c, p in rows)
        if not rows:
            continue
        periods_cte = _period_table(rows)
        yield (select(activity.c.unit_id, activity.c.kind_id, periods_cte.c.cadence, periods_cte.c.label,
                      periods_cte.c.first_day, periods_cte.c.last_day, func.count())
               .join(periods_cte, and_(activity.c.held_on >= periods_cte.c.first_day,
                                       activity.c.held_on <= periods_cte.c.last_day))
               .where(activity.c.status == "approved")
               .group_by(activity.c.unit_id, activity.c.kind_id, periods_cte.c.cadence, periods_cte.c.label,
                         periods_cte.c.first_day, periods_cte.c.last_day)
               # Written in unit order: a unit's (a subtree's) counters then sit on few pages, not one page per row.
               .order_by(activity.c.unit_id, activity.c.kind_id, periods_cte.c.cadence, periods_cte.c.label))


def _years(session: Session) -> range:
    activity = Activity.__table__
    first, last = session.execute(select(func.min(activity.c.held_on), func.max(activity.c.held_on))).one()
    if first is None:
        return range(0)
    return range(_as_date(first).year, _as_date(last).year + 1)


def recount(session: Session, year: int | None = None, *, stamp: bool = True) -> int:
    """Rebuild the counters (of the periods touching `year`, or all) from the approved activities. Returns rows.

    Also moves the stamp that makes every cached dashboard figure stale (`rollups`; not before that table
    exists: `stamp=False` in the migration that creates the counters). The caller commits."""
    table = ActivityCounter.__table__
    if year is None:
        session.execute(delete(table))
        years = _years(session)
    else:
        session.execute(delete(table).where(table.c.first_day <= date(year, 12, 31),
                                            table.c.last_day >= date(year, 1, 1)))
        years = [year]
    for counted in _count_selects(session, years):
        session.execute(insert(table).from_select(
            ["unit_id", "kind_id", "cadence", "period", "first_day", "last_day", "approved"], counted))
    if stamp:
        rollups.bump(session if hasattr(session, "dialect") else session.connection(), [rollups.STRUCTURE])
    return session.execute(select(func.count()).select_from(table)).scalar()


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def snapshot(session: Session) -> dict[tuple[int, int, str, str], int]:
    """The non-zero counters as a dict (for checks: counters == recount)."""
    table = ActivityCounter.__table__
    rows = session.execute(select(table.c.unit_id, table.c.kind_id, table.c.cadence, table.c.period,
                                  table.c.approved).where(table.c.approved != 0))
    return {(u, k, c, p): n for u, k, c, p, n in rows}


def expected(session: Session) -> dict[tuple[int, int, str, str], int]:
    """What a recount would write, computed without writing (the same SELECTs as `recount`)."""
    result: dict = {}
    for counted in _count_selects(session, _years(session)):
        for u, k, c, p, _first, _last, n in session.execute(counted):
            result[(u, k, c, p)] = n
    return result


def check(session: Session) -> list[str]:
    """Differences between the counters and a recount, as lines (empty: they agree)."""
    have, want = snapshot(session), expected(session)
    return [f"{key}: counter {have.get(key, 0)}, recount {want.get(key, 0)}"
            for key in sorted(set(have) | set(want)) if have.get(key, 0) != want.get(key, 0)]


def counts_for(session: Session, pairs: Iterable[tuple[int, str]], first_day: date, last_day: date,
               unit_ids: list[int] | None):
    """(unit_id, kind_id, cadence, label, approved) of the periods within [first_day, last_day] of these
    (kind, cadence) pairs; scoped by the request like any select."""
    c = ActivityCounter
    query = (select(c.unit_id, c.kind_id, c.cadence, c.period, c.approved)
             .where(tuple_(c.kind_id, c.cadence).in_(sorted(set(pairs))), c.first_day >= first_day,
                    c.last_day <= last_day, c.approved > 0))
    if unit_ids is not None:
        query = query.where(c.unit_id.in_(unit_ids))
    return session.execute(query).all()
