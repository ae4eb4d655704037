"""Cached ledger figures of the dashboards, and the change stamps that say when they are stale.

The dashboards' task figures per unit (assigned, done, in progress, not started, overdue, last edit) come from the
year's published, unarchived tasks and the units' ledger rows. A university has ~34,000 rows; they change status
rarely. So each app process keeps, per college ("bucket", as in `activities.rollups`) and year, every unit's rows
counted per due date (and status) with the newest edit of each, and folds those into a window's figures at read time:
the window's tasks (due in it, or without a due date) and "overdue" (due before the as-of day, not done) are
decided then, so a new day or another window needs no new entry.

An entry is used while its stamps are unchanged:

- `met_rollup_stamp` row 0 (`rollups.STRUCTURE`): plans, tasks, units (every input besides the rows themselves);
- `ledger_figure_stamp` row 0 (`ALL`): ledger rows created or deleted, a bulk statement on them;
- `ledger_figure_stamp` row of the college: a row of one of its units changed status (or unit, or task). The inline
  editor's Core UPDATE calls `row_saved`; ORM flushes and ORM statements are seen by the hooks below.

Each bump is written in the same transaction as its change. A text edit moves no stamp: it changes only the
"last edit" of its unit, which is read as a delta instead. Every edit writes its audit entries in its transaction,
so a request also reads the ledger rows with an audit entry newer than the entry's mark (a larger id; on PostgreSQL
also a time less `MARGIN`, for a transaction that drew its id before another one committed) and takes the newer
edit times; for an entry covering a whole college, that delta is kept with it and the next request reads from its
own mark. An entry is recomputed after `MAX_AGE` seconds anyway, so a delta missed for any reason heals.
"""
from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta
from typing import Collection, Iterable

from sqlalchemy import String, bindparam, case, event, func, inspect, literal, select, union, union_all
from sqlalchemy.orm import Session

from ..activities import rollups
from ..clock import utcnow_naive
from ..models import AuditEntry, LedgerFigureStamp, LedgerRow, Plan, Task, Unit

ALL = 0
# The columns a figure depends on: a save that changes none of them moves no stamp.
FIGURE_FIELDS = frozenset({"status", "unit_id", "task_id"})
STATUSES = ("done", "in_progress", "not_started")
MARGIN = timedelta(seconds=5)
MAX_AGE = 300.0
_TABLE = LedgerFigureStamp.__table__
_LEDGER = LedgerRow.__table__.name


# ---- the stamps -------------------------------------------------------------------------------------

def row_saved(session, unit_id: int, fields: Collection[str]) -> None:
    """The ledger's save paths call this after their UPDATE, in their transaction: a save that changed a figure
    (the status) moves its college's stamp when the transaction commits; any other save (progress, lead, remarks…)
    costs nothing."""
    if not FIGURE_FIELDS.isdisjoint(fields):
        _pending(session)["units"].add(unit_id)


# The stamps a transaction moves are written when it commits, after every row it changed: every writer takes the
# rows' locks first and the stamps' last (a batch of rows, as the Excel re-import saves, would otherwise hold one
# college's stamp while waiting for a row an inline edit holds, and that edit wait for the stamp: a deadlock).
_PENDING = "ledger_figure_stamps"


def _pending(session) -> dict:
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {"units": set(), "scopes": set()}
    return pending


@event.listens_for(Session, "before_commit")
def _bump_pending(session: Session) -> None:
    if session.new or session.deleted or session.dirty:
        session.flush()  # the commit's own flush comes after this event: its changes must be in what is bumped
    pending = session.info.pop(_PENDING, None)
    if not pending or not (pending["units"] or pending["scopes"]):
        return
    connection = session.connection()
    scopes = set(pending["scopes"])
    if pending["units"]:
        scopes |= rollups.buckets_of(connection, pending["units"])
    rollups.bump(connection, scopes, _TABLE)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


_STRUCTURE_ROW, _LAST_AUDIT_ROW = -1, -2  # scope ids never used by a unit
_MET = rollups.MetRollupStamp.__table__
_AUDIT = AuditEntry.__table__
# One statement: this table's stamps, the structure stamp of `met_rollup_stamp` and the newest audit entry's id.
_READ_STAMPS = union_all(
    select(_TABLE.c.scope_id, _TABLE.c.stamp),
    select(literal(_STRUCTURE_ROW), _MET.c.stamp).where(_MET.c.scope_id == rollups.STRUCTURE),
    select(literal(_LAST_AUDIT_ROW), func.max(_AUDIT.c.id)))


def read_stamps(session) -> tuple[int, dict[int, int], tuple[datetime, int]]:
    """(the structure stamp, this table's stamps, the mark edits are read from: (now, newest audit entry id))."""
    now = utcnow_naive()  # before the read: an edit after it has a later entry
    stamps = dict(session.connection().execute(_READ_STAMPS).all())
    return stamps.pop(_STRUCTURE_ROW, 0) or 0, stamps, (now, stamps.pop(_LAST_AUDIT_ROW, 0) or 0)


@event.listens_for(Session, "after_flush")
def _rows_flushed(session: Session, flush_context) -> None:
    units: set[int] = set()
    for obj in session.dirty:
        if isinstance(obj, LedgerRow) and session.is_modified(obj):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in FIGURE_FIELDS):
                units.add(obj.unit_id)
                units.update(state.attrs.unit_id.history.deleted or ())
    if any(isinstance(obj, LedgerRow) for group in (session.new, session.deleted) for obj in group):
        _pending(session)["scopes"].add(ALL)
    units.discard(None)
    if units:
        _pending(session)["units"].update(units)


@event.listens_for(Session, "do_orm_execute")
def _rows_executed(state) -> None:
    """An ORM statement on ledger rows (`save_row`'s compare-and-set, a bulk statement): the stamps it moves."""
    if state.is_select:
        return
    statement = state.statement
    table = getattr(statement, "table", None)
    if getattr(table, "name", None) != _LEDGER:
        return
    pending = _pending(state.session)
    if not state.is_update:  # a bulk insert or delete: which colleges, we cannot cheaply say
        pending["scopes"].add(ALL)
        return
    changed = {getattr(column, "key", column) for column in (getattr(statement, "_values", None) or {})}
    changed |= {getattr(column, "key", column) for column, _ in (getattr(statement, "_ordered_values", None) or ())}
    if FIGURE_FIELDS.isdisjoint(changed):
        return
    if changed & {"unit_id", "task_id"} or statement.whereclause is None:
        pending["scopes"].add(ALL)
        return
    # The units of the rows its WHERE names, read before it runs (afterwards the version in it has moved).
    rows = LedgerRow.__table__
    pending["units"].update(state.session.connection().execute(
        select(rows.c.unit_id).where(statement.whereclause)).scalars())


# ---- the cache --------------------------------------------------------------------------------------

class Entry:
    """One college's rows of a year: unit id -> ((due_on, rows, done, in progress, not started, newest edit), ...)."""
    __slots__ = ("validity", "units", "complete", "mark", "born", "recent", "_total")

    def __init__(self, validity, units: dict, complete: bool, mark: tuple[datetime, int]):
        self.validity = validity
        self.units = units
        self.complete = complete
        self.mark = mark  # (time, newest audit entry id) read before the rows were
        # Spread over ±20 %: a university's thirty entries, computed together, do not all expire in one request.
        self.born = time.monotonic() - MAX_AGE * 0.2 * (2 * random.random() - 1)
        # (edits read from this mark on, {unit id: {due_on: newest edit}}): replaced whole, never changed in place
        self.recent = (mark, {})
        self._total = None

    def total(self) -> tuple:
        """The units' items summed per due date: what a row for the whole college folds."""
        if self._total is None:
            summed: dict = {}
            for items in self.units.values():
                for due_on, count, done, in_progress, not_started, last in items:
                    slot = summed.get(due_on)
                    if slot is None:
                        summed[due_on] = [count, done, in_progress, not_started, last]
                    else:
                        slot[0] += count
                        slot[1] += done
                        slot[2] += in_progress
                        slot[3] += not_started
                        if last is not None and (slot[4] is None or last > slot[4]):
                            slot[4] = last
            self._total = tuple((due_on, *figures) for due_on, figures in summed.items())
        return self._total


class LedgerFigureCache(rollups.StampedCache):
    """Per process: (database, year, bucket) -> the bucket's ledger figures; an entry also ages out (MAX_AGE)."""

    def __init__(self, size: int = 256):
        super().__init__(size)

    @staticmethod
    def _fresh(entry: Entry, validity) -> bool:
        return entry.validity == validity and time.monotonic() - entry.born < MAX_AGE * 0.8

    def get(self, key, validity) -> Entry | None:
        with self.lock:
            return self._find(key, lambda entry: self._fresh(entry, validity))

    def put(self, key, entry: Entry) -> Entry:
        with self.lock:
            old = self._find(key, lambda found: self._fresh(found, entry.validity))
            if old is not None and not entry.complete:
                # Same stamps: add to what is there (a narrower view filled part of it); the older mark stands.
                merged = Entry(entry.validity, {**old.units, **entry.units}, old.complete,
                               min(old.mark, entry.mark))
                merged.born = old.born
                entry = merged
            return self._keep(key, entry)


cache = LedgerFigureCache()


def _as_datetime(value) -> datetime | None:
    # SQLite hands back MAX() over a CASE as text.
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _compute_statement():
    by_status = [func.sum(case((LedgerRow.status == status, 1), else_=0)) for status in STATUSES]
    edited_at = case((LedgerRow.updated_by_id.is_not(None), LedgerRow.updated_at))
    return (select(LedgerRow.unit_id, Task.due_on, func.count(LedgerRow.id), *by_status, func.max(edited_at))
            .join(Task, Task.id == LedgerRow.task_id).join(Plan, Plan.id == Task.plan_id)
            .where(Plan.year == bindparam("year"), Plan.status == "published", Task.archived.is_(False),
                   LedgerRow.unit_id.in_(bindparam("unit_ids", expanding=True)))
            .group_by(LedgerRow.unit_id, Task.due_on))


# Built once (building it per call cost more than the SQL for a college's hundred units).
_COMPUTE = _compute_statement()


def _compute(session, year: int, unit_ids: Collection[int]) -> dict[int, tuple]:
    """Every asked unit's rows of the year's published tasks per due date: (due_on, rows, done, in progress, not
    started, newest edit or None)."""
    found: dict[int, list] = {}
    # On the connection, without the ORM's scope criteria: the unit ids come from the caller's scoped read, and a
    # unit's rows are those of its plans' tasks.
    rows = session.connection().execute(_COMPUTE, {"year": year, "unit_ids": sorted(unit_ids)})
    for unit_id, due_on, count, done, in_progress, not_started, last in rows:
        found.setdefault(unit_id, []).append((due_on, count, int(done or 0), int(in_progress or 0),
                                              int(not_started or 0), _as_datetime(last)))
    return {unit_id: tuple(found.get(unit_id, ())) for unit_id in unit_ids}


def cached_units(session, key: tuple, year: int, by_bucket: dict[int, list[int]], complete_buckets: Collection[int],
                 totals_only: Collection[int] = (), stamps_read: tuple | None = None
                 ) -> tuple[dict[int, tuple], dict[int, Entry], dict[int, Entry], tuple[datetime, int]]:
    """Items of the units in `by_bucket` (bucket -> ids of active units in the caller's scope), from the cache where
    the stamps allow. `stamps_read`: what `read_stamps` gave at the start of the request, before any input.

    Returns (items per unit id, leaving out the units of buckets in `totals_only`; the entries of `complete_buckets`,
    for their totals; every entry used, by bucket; the mark of this read, for `recent_edits`). `key` names the
    database (and anything else the entries depend on)."""
    # First: before any input of the figures is read.
    structure, stamps, mark = stamps_read if stamps_read is not None else read_stamps(session)
    result: dict[int, tuple] = {}
    entries: dict[int, Entry] = {}
    missing: dict[int, list[int]] = {}
    for bucket, ids in by_bucket.items():
        validity = (structure, stamps.get(ALL, 0), stamps.get(bucket, 0))
        entry = cache.get((*key, year, bucket), validity) if cache.enabled else None
        if entry is not None and (entry.complete or all(i in entry.units for i in ids)):
            if bucket not in totals_only:
                values = entry.units
                for unit_id in ids:
                    result[unit_id] = values[unit_id]
            entries[bucket] = entry
        else:
            missing[bucket] = ids
    if missing:
        computed = _compute(session, year, [unit_id for ids in missing.values() for unit_id in ids])
        for bucket, ids in missing.items():
            values = {unit_id: computed[unit_id] for unit_id in ids}
            if bucket not in totals_only:
                result.update(values)
            entry = Entry((structure, stamps.get(ALL, 0), stamps.get(bucket, 0)), values,
                          bucket in complete_buckets, mark)
            entries[bucket] = cache.put((*key, year, bucket), entry) if cache.enabled else entry
    return result, {b: e for b, e in entries.items() if b in complete_buckets}, entries, mark


def _recent_statement(by_time: bool):
    # Audit entries after the mark's id, and on PostgreSQL also since the mark's time less `MARGIN`: there an id is
    # drawn at the INSERT, so a transaction may commit after a later one was seen; SQLite has one writer at a time,
    # so its ids come in commit order. Each side on its own index (`entity = …` would have the planner walk every
    # ledger entry). On the connection, prebuilt: the rows' units must lie in the root's subtree (`:subtree`, a LIKE
    # pattern), which is inside the caller's scope.
    ledger_entry = func.coalesce(_AUDIT.c.entity, "") == "ledger_row"
    edited = select(_AUDIT.c.entity_id).where(_AUDIT.c.id > bindparam("since_id"), ledger_entry)
    if by_time:
        edited = union(edited, select(_AUDIT.c.entity_id).where(_AUDIT.c.at >= bindparam("since_at"), ledger_entry))
    return (select(LedgerRow.unit_id, Unit.path, Task.due_on, func.max(LedgerRow.updated_at))
            .join(Task, Task.id == LedgerRow.task_id).join(Plan, Plan.id == Task.plan_id)
            .join(Unit, Unit.id == LedgerRow.unit_id)
            .where(LedgerRow.id.in_(edited), LedgerRow.updated_by_id.is_not(None), Plan.year == bindparam("year"),
                   Plan.status == "published", Task.archived.is_(False),
                   Unit.path.like(bindparam("subtree", type_=String), escape="\\"))
            .group_by(LedgerRow.unit_id, Unit.path, Task.due_on))


_RECENT = {False: _recent_statement(False), True: _recent_statement(True)}


def recent_edits(session, year: int, root_path: str, used: dict[int, Entry], advance: Collection[int],
                 mark: tuple[datetime, int]) -> dict[int, dict]:
    """{unit id: {due_on: newest edit}} of rows edited since the entries in `used` (bucket -> entry) were computed
    (their kept deltas included). The entries of the buckets in `advance` (wholly inside the view) keep the new
    delta, so the next request reads edits from now on."""
    if not used:
        return {}
    since_at, since_id = min(entry.recent[0] for entry in used.values())
    if (since_at, since_id) == mark and not any(entry.recent[1] for entry in used.values()):
        return {}  # every entry was computed by this request: its rows are as new as they get
    subtree = root_path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    connection = session.connection()
    by_time = connection.dialect.name != "sqlite"
    rows = connection.execute(_RECENT[by_time], {"since_at": since_at - MARGIN, "since_id": since_id, "year": year,
                                                  "subtree": subtree})
    fresh: dict[int, dict[int, dict]] = {}  # bucket -> unit -> due_on -> newest
    for unit_id, path, due_on, last in rows:
        fresh.setdefault(rollups.bucket_of(path), {}).setdefault(unit_id, {})[due_on] = _as_datetime(last)
    merged: dict[int, dict] = {}
    for bucket, entry in used.items():
        kept = entry.recent[1]
        found = fresh.get(bucket, {})
        if found:
            combined = {unit_id: dict(dues) for unit_id, dues in kept.items()}
            for unit_id, dues in found.items():
                mine = combined.setdefault(unit_id, {})
                for due_on, last in dues.items():
                    if mine.get(due_on) is None or last > mine[due_on]:
                        mine[due_on] = last
        else:
            combined = kept
        if bucket in advance:
            entry.recent = (mark, combined)
        merged.update(combined)
    return merged


def in_window(due_on: date | None, window) -> bool:
    return window.whole_year or due_on is None or window.start <= due_on <= window.end


def fold(items: Iterable[tuple], window, figures) -> None:
    """Add a unit's (or a college's) items to `figures` (a TaskFigures) for this window and as-of day."""
    as_of = window.as_of
    whole_year, start, end = window.whole_year, window.start, window.end
    assigned = done = in_progress = not_started = overdue = 0
    last = figures.last_update
    for due_on, count, done_, in_progress_, not_started_, edited in items:
        if not (whole_year or due_on is None or start <= due_on <= end):
            continue
        assigned += count
        done += done_
        in_progress += in_progress_
        not_started += not_started_
        if due_on is not None and due_on < as_of:
            overdue += count - done_  # due before the as-of day and not done
        if edited is not None and (last is None or edited > last):
            last = edited
    figures.assigned += assigned
    figures.done += done
    figures.in_progress += in_progress
    figures.not_started += not_started
    figures.overdue += overdue
    figures.last_update = last
