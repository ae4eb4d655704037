"""Cached obligation figures of the dashboards, and the change stamps that say when they are stale.

The dashboards' met/owed figures per unit (`reports.queries.obligation_figures_by_unit`) are a pure function of the
year's published requirements, the task assignments, the units, the activity kinds, the activity counters and the
day (and the window asked for). Computing them for a whole university reads ~90,000 counter rows and makes
~100,000 met/owed checks; they change only when one of those inputs does. So each app process keeps them per
college ("bucket": the unit two levels down the tree, or a top unit itself) and reuses them while the stamps in
`met_rollup_stamp` are unchanged:

- row 0 (`STRUCTURE`) moves with every INSERT/UPDATE/DELETE of a plan, task, requirement, assignment, unit or
  activity kind, whether through the ORM unit of work (`after_flush`) or an ORM-executed statement (`do_orm_execute`,
  e.g. `update(Plan)`), and with every `recount`;
- a college's row moves with every change to its units' activity counters (`counters._keep_counters` calls
  `touch_units`), which are themselves kept in the same transaction as every activity change.

Each bump is written in the same transaction as the change it stands for, so it commits or rolls back with it.
A request reads the stamps BEFORE the figures' inputs: a change committed after that read moves a stamp the next
request sees, so a cached figure is never older than its stamps say (at worst one is recomputed needlessly).
A top unit's figures can count its whole tree (requirements with `include_children`), so they are valid only
while every stamp is unchanged. Writes that bypass the Session (raw SQL on a connection, the bench generator's
bulk inserts) must be followed by `flask recount`, which bumps row 0. Rows are never deleted; a new row starts at
a time-based value, so a recreated table cannot repeat an old stamp.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Collection, Iterable

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from ..models import Activity, ActivityKind, MetRollupStamp, Plan, Requirement, Task, TaskAssignment, Unit

STRUCTURE = 0
_STRUCTURAL = (Plan, Task, Requirement, TaskAssignment, Unit, ActivityKind)
_STRUCTURAL_TABLES = frozenset(model.__table__.name for model in _STRUCTURAL)
_WATCHED_TABLES = _STRUCTURAL_TABLES | {Activity.__table__.name}


def bucket_of(path: str) -> int:
    """The college a unit's figures are cached under: its ancestor two levels down, or the top unit itself."""
    parts = path.strip("/").split("/")
    return int(parts[1] if len(parts) > 1 else parts[0])


# ---- the stamps -------------------------------------------------------------------------------------

def bump(connection, scope_ids: Iterable[int], table=None) -> None:
    """Move these stamps on `connection`, inside the caller's transaction (in key order: no lock-order deadlocks).
    `table`: another stamp table of the same shape (`ledger_figure_stamp`); this module's by default."""
    upsert = _upsert_for(connection.dialect.name, MetRollupStamp.__table__ if table is None else table)
    start = time.time_ns() // 1000
    for scope_id in sorted(set(scope_ids)):
        connection.execute(upsert, {"scope_id": scope_id, "stamp": start})


_UPSERTS: dict = {}


def _upsert_for(dialect: str, table):
    if (dialect, table.name) not in _UPSERTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        stmt = dialect_insert(table)
        _UPSERTS[dialect, table.name] = stmt.on_conflict_do_update(index_elements=[table.c.scope_id],
                                                                   set_={"stamp": table.c.stamp + 1})
    return _UPSERTS[dialect, table.name]


def buckets_of(connection, unit_ids: Collection[int]) -> set[int]:
    """The colleges ("buckets") of these units, read on `connection`."""
    unit = Unit.__table__
    paths = connection.execute(select(unit.c.path).where(unit.c.id.in_(sorted(set(unit_ids))))).scalars()
    return {bucket_of(path) for path in paths}


def touch_units(connection, unit_ids: Collection[int]) -> None:
    """The counters of these units changed: move their colleges' stamps."""
    if unit_ids:
        bump(connection, buckets_of(connection, unit_ids))


def read_stamps(session) -> dict[int, int]:
    table = MetRollupStamp.__table__
    return dict(session.execute(select(table.c.scope_id, table.c.stamp)).all())


@event.listens_for(Session, "after_flush")
def _structure_flushed(session: Session, flush_context) -> None:
    for group in (session.new, session.deleted):
        if any(isinstance(obj, _STRUCTURAL) for obj in group):
            bump(session.connection(), [STRUCTURE])
            return
    if any(isinstance(obj, _STRUCTURAL) and session.is_modified(obj) for obj in session.dirty):
        bump(session.connection(), [STRUCTURE])


@event.listens_for(Session, "do_orm_execute")
def _structure_executed(state) -> None:
    if state.is_select:
        return
    table = getattr(state.statement, "table", None)
    # A statement on activities (a bulk insert) cannot say which colleges it touches: all of them, then.
    if getattr(table, "name", None) in _WATCHED_TABLES:
        bump(state.session.connection(), [STRUCTURE])


@event.listens_for(Session, "after_flush")
def _activities_flushed(session: Session, flush_context) -> None:
    """Any change to an activity (its unit's "last update" is cached too; approvals also move the counters)."""
    unit_ids = set()
    for group in (session.new, session.dirty, session.deleted):
        for obj in group:
            if isinstance(obj, Activity) and (group is not session.dirty or session.is_modified(obj)):
                unit_ids.add(obj.unit_id)
                history = inspect(obj).attrs.unit_id.history
                unit_ids.update(history.deleted or ())
    unit_ids.discard(None)
    if unit_ids:
        touch_units(session.connection(), unit_ids)


# ---- the cache --------------------------------------------------------------------------------------

class _Entry:
    __slots__ = ("stamps", "figures", "complete", "total")

    def __init__(self, stamps, figures: dict, complete: bool):
        self.stamps = stamps
        self.figures = figures  # unit id -> ObligationFigures (never mutated once stored)
        self.complete = complete  # every active unit of the bucket is in `figures`
        self.total = None


class StampedCache:
    """A per-process LRU of figures behind stamps, shared by this module's cache and the ledger figures'
    (`reports.ledger_rollups`): `_find` and `_keep` under one lock; subclasses decide what valid and merged mean."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.enabled = True

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()

    def _find(self, key, valid: Callable[[object], bool]):
        """The entry of `key` if `valid(entry)`, marked as just used; else None. Call with the lock held."""
        entry = self.entries.get(key)
        if entry is not None and valid(entry):
            self.entries.move_to_end(key)
            return entry
        return None

    def _keep(self, key, entry):
        """Store `entry` as the newest, dropping the least recently used beyond `size`. Call with the lock held."""
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return entry


class FigureCache(StampedCache):
    """Per process: (year, window, as-of day, bucket) -> the figures of the bucket's units, with their stamps."""

    def __init__(self, size: int = 512):
        super().__init__(size)

    @staticmethod
    def validity(stamps: dict[int, int], bucket: int, top: bool):
        if top:  # a top unit's figures may count its whole tree
            return tuple(sorted(stamps.items()))
        return (stamps.get(STRUCTURE, 0), stamps.get(bucket, 0))

    def get(self, key, validity):
        with self.lock:
            return self._find(key, lambda entry: entry.stamps == validity)

    def put(self, key, validity, figures: dict, complete: bool) -> _Entry:
        entry = _Entry(validity, figures, complete)
        with self.lock:
            old = self._find(key, lambda found: found.stamps == validity)
            if old is not None and not complete:
                # Same stamps: add to what is there (a narrower view filled part of it).
                merged = dict(old.figures)
                merged.update(figures)
                entry = _Entry(validity, merged, old.complete)
            return self._keep(key, entry)


cache = FigureCache()


def placed(path: str) -> tuple[int, bool]:
    """(bucket, is a top unit) of a unit's path, read once."""
    parts = path.strip("/").split("/")
    return int(parts[1] if len(parts) > 1 else parts[0]), len(parts) == 1


def cached_figures(session, window_key: tuple, units: Iterable[tuple[int, int, bool]], complete_buckets: Collection[int],
                   compute: Callable[[set[int]], dict], totals_only: Collection[int] = ()
                   ) -> tuple[dict[int, object], dict[int, _Entry]]:
    """The values of `units` ((id, bucket, is top) of active units in the caller's scope, see `placed`), from the
    cache where its stamps allow, the rest from `compute(unit ids)` in one go (it must return a value for every id
    it is given). Also returns the entry of each bucket in `complete_buckets` (buckets all of whose active units
    are among `units`), for their totals; the units of buckets in `totals_only` (complete ones the caller reads
    the totals of) are left out of the values returned. Values are shared: never change one."""
    stamps = read_stamps(session)  # first: before any input of the values is read
    by_bucket: dict[int, list[int]] = {}
    tops: set[int] = set()
    for unit_id, bucket, top in units:
        ids = by_bucket.get(bucket)
        if ids is None:
            ids = by_bucket[bucket] = []
        ids.append(unit_id)
        if top:
            tops.add(bucket)
    return _cached(stamps, window_key, by_bucket, tops, complete_buckets, compute, totals_only)


def cached_figures_by_bucket(session, window_key: tuple, by_bucket: dict[int, list[int]], tops: Collection[int],
                             complete_buckets: Collection[int], compute: Callable[[set[int]], dict],
                             totals_only: Collection[int] = (), structure: int | None = None
                             ) -> tuple[dict[int, object], dict[int, _Entry]]:
    """`cached_figures` for units already grouped by bucket (`tops`: the buckets that are top units): a view of
    whole colleges then costs one step per college, not per unit. `structure`: the structure stamp the caller read
    before grouping the units (its subtree); what is computed now is kept under that stamp, so a unit added since
    the caller's read cannot leave an entry that misses it under the newer stamp."""
    stamps = read_stamps(session)
    if structure is not None and stamps.get(STRUCTURE, 0) != structure:
        stamps[STRUCTURE] = structure  # moved since: what is computed now is never taken for the newer structure
    return _cached(stamps, window_key, by_bucket, tops, complete_buckets, compute, totals_only)


def _cached(stamps, window_key, by_bucket, tops, complete_buckets, compute, totals_only):
    result: dict[int, object] = {}
    entries: dict[int, _Entry] = {}
    missing: dict[int, list[int]] = {}
    for bucket, ids in by_bucket.items():
        validity = cache.validity(stamps, bucket, bucket in tops)
        entry = cache.get((*window_key, bucket), validity) if cache.enabled else None
        values = entry.figures if entry is not None else None
        if values is not None and (entry.complete or all(i in values for i in ids)):
            if bucket not in totals_only:
                for unit_id in ids:
                    result[unit_id] = values[unit_id]
            entries[bucket] = entry
        else:
            missing[bucket] = ids
    if missing:
        computed = compute({unit_id for ids in missing.values() for unit_id in ids})
        for bucket, ids in missing.items():
            values = {unit_id: computed[unit_id] for unit_id in ids}
            if bucket not in totals_only:
                result.update(values)
            if cache.enabled:
                entries[bucket] = cache.put((*window_key, bucket), cache.validity(stamps, bucket, bucket in tops),
                                            values, bucket in complete_buckets)
            else:
                entries[bucket] = _Entry(None, values, bucket in complete_buckets)
    return result, {bucket: entry for bucket, entry in entries.items() if bucket in complete_buckets}
