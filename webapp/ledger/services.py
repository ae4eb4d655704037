"""Every change to a ledger row, with its audit entries, in one transaction.

`save_row(user, row_id, base_version, changes)` is the one way to change a row's fields, for the inline
editor, the Excel re-import and any other caller: it returns the saved row or raises `StaleVersion`
(carrying the current row and the fields both sides changed).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import String, bindparam, delete, literal_column, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..audit import entry_rows, insert_changes, insert_entry_rows, record
from ..extensions import db
from ..models import LedgerRow, StoredFile, Unit
from ..models.base import utcnow
from ..permissions import MONITOR, scope_pattern
from ..prepared import Prepared, commit_first
from ..reports import ledger_rollups
from ..uploads import CheckedFile
from ..versioning import StaleVersion, conflicting_fields, stamped
from .queries import _ROW_VIEW, EditorName, RowView, _views, row_view

ENTITY = "ledger_row"
# A save that loses a race re-reads the row and merges again; this many tries is far more than contention needs.
MAX_ATTEMPTS = 50

__all__ = ["StaleVersion", "RowMissing", "save_row", "row_to_edit", "save_edited_row", "apply_row_changes",
           "add_evidence", "remove_evidence"]


class RowMissing(LookupError):
    """The row does not exist (or is outside the caller's scope)."""


def _current_row(row_id: int) -> LedgerRow | None:
    """The row as it is in the database now (not as this session last saw it)."""
    return db.session.execute(select(LedgerRow).where(LedgerRow.id == row_id)
                              .execution_options(populate_existing=True)).scalar_one_or_none()


def apply_row_changes(user_id: int | None, row_id: int, base_version: int, changes: dict[str, Any],
                      row: LedgerRow | None = None) -> dict[str, tuple[Any, Any]]:
    """One compare-and-set UPDATE with its audit entries, in the caller's transaction (no commit, no retry).

    A stale `base_version` is merged when the fields it changes were not changed since; otherwise
    StaleVersion. Also StaleVersion if another writer changed the row between the read and the UPDATE.
    Returns {field: (before, after)}. `row`, if given, must have been read in this transaction (a batch
    reads all its rows in one query).
    """
    row = row if row is not None else _current_row(row_id)
    if row is None:
        raise RowMissing(row_id)
    conflicts = conflicting_fields(row, changes, base_version)
    if conflicts:
        raise StaleVersion(row, conflicts)
    diff = {field: (getattr(row, field), value) for field, value in changes.items() if getattr(row, field) != value}
    if not diff:
        return {}
    current_version = row.version
    values = {**{field: after for field, (_before, after) in diff.items()},
              "version": current_version + 1, "field_versions": stamped(row, diff, current_version + 1),
              "updated_by_id": user_id, "updated_at": utcnow()}
    # The UPDATE's WHERE names the version just read, so two writers cannot both land on it.
    result = db.session.execute(
        update(LedgerRow)
        .where(LedgerRow.id == row_id, LedgerRow.version == current_version)
        .values(**values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise StaleVersion(row, ())
    insert_changes(ENTITY, row_id, row.unit_id, diff, user_id=user_id)  # every field's entry, one INSERT
    # The row in memory now says what the UPDATE wrote (as if loaded so): the caller renders it without a reload.
    for field, value in values.items():
        set_committed_value(row, field, value)
    return diff


def save_row(user, row_id: int, base_version: int, changes: dict[str, Any], *, loaded: LedgerRow | None = None
             ) -> LedgerRow:
    """Save `changes` (field → new value) to the row the user loaded at `base_version`; returns the saved row.

    Another person's save of different fields since `base_version` is kept (the two are merged); the same
    field changed by both raises StaleVersion(current_row, fields) and saves nothing; a row that is not there (or
    not in the caller's scope) raises RowMissing. `loaded`: the row as the caller just read it, used for the
    first attempt (the UPDATE still checks its version, so a row changed since is read again, not overwritten).
    """
    user_id = getattr(user, "id", user)
    row, fresh = loaded, loaded is None
    for _attempt in range(MAX_ATTEMPTS):
        if row is None:
            row, fresh = _current_row(row_id), True
        if row is None:
            raise RowMissing(row_id)
        try:
            diff = apply_row_changes(user_id, row_id, base_version, changes, row=row)
        except StaleVersion as stale:
            db.session.rollback()
            if stale.fields and fresh:
                raise StaleVersion(_current_row(row_id), stale.fields) from None
            row = None  # lost a race, or judged on the caller's earlier read: read again and merge again
            continue
        if diff:  # the last editor is now this user
            editor = getattr(user, "_get_current_object", lambda: user)()  # current_user is a proxy
            if getattr(editor, "id", None) == user_id and editor in db.session:
                set_committed_value(row, "updated_by", editor)
            else:
                db.session.expire(row, ["updated_by"])
        _commit_keeping(row)
        return row  # as saved (apply_row_changes wrote the new values into it): no reload
    raise StaleVersion(_current_row(row_id), ())


# ---- the inline editor's save: three statements compiled once, on the session's DB-API cursor (prepared.py) ------

_ROWS = LedgerRow.__table__
_UNITS = Unit.__table__

# The row with what the checks and the fragment need: the fragment's own SELECT (`queries.row_view`'s), run prepared.
_ROW_TO_EDIT = Prepared(_ROW_VIEW)


def row_to_edit(row_id: int) -> RowView | None:
    """`queries.row_view` for the inline editor's save: the same SELECT under the scope, the same RowView."""
    views = _views(_ROW_TO_EDIT.all({"row_id": row_id, "scope": scope_pattern()}))
    return views[0] if views else None


# The inline editor's compare-and-set: the version it read, and the scope and the editing permission again in the
# WHERE clause, so the UPDATE itself cannot reach a row the user may not change. The SET columns are the changed
# fields and the save's stamps (one compiled form per set of changed fields, `_save_statement`).
# The row's own unit, looked up by its key, must lie under the scope (a correlated EXISTS: `unit_id IN (units under
# the scope)` made SQLite scan every unit's path, ~0.03 ms per 300 units).
# The pattern `(:w_scope || '')`, not the bare parameter, as in queries.py: SQLite re-prepares a statement whose LIKE
# has a bare parameter on its right every time the parameter is bound (~15 µs of SQLite's compiler per save here).
_IN_SCOPE = (select(_UNITS.c.id)
             .where(_UNITS.c.id == _ROWS.c.unit_id,
                    _UNITS.c.path.like(bindparam("w_scope", type_=String).concat(literal_column("''")), escape="\\"))
             .exists())
# RETURNING what the row now says of its version and save time (the fragment's data-version and 'saved at').
_SAVE_EDITED = {
    False: update(_ROWS).where(_ROWS.c.id == bindparam("w_id"), _ROWS.c.version == bindparam("w_version"), _IN_SCOPE)
    .returning(_ROWS.c.version, _ROWS.c.updated_at),
    # Monitors edit their own class's ledger only.
    True: update(_ROWS).where(_ROWS.c.id == bindparam("w_id"), _ROWS.c.version == bindparam("w_version"), _IN_SCOPE,
                              _ROWS.c.unit_id == bindparam("w_own_unit")).returning(_ROWS.c.version, _ROWS.c.updated_at),
}
_STAMPS = ("version", "field_versions", "updated_by_id", "updated_at")
_SAVES: dict[tuple[bool, tuple[str, ...]], Prepared] = {}


def _save_statement(monitor: bool, fields: tuple[str, ...]) -> Prepared:
    prepared = _SAVES.get((monitor, fields))
    if prepared is None:  # at most 2 × 2^6 forms; a race builds one twice, harmlessly
        prepared = _SAVES[monitor, fields] = Prepared(_SAVE_EDITED[monitor], (*fields, *_STAMPS))
    return prepared


def save_edited_row(user, row, base_version: int, changes: dict[str, Any]):
    """The inline editor's save of a row it has just read (`queries.RowView`, in this request): `save_row`'s
    contract in one UPDATE and one INSERT, with no ORM object; returns the row as saved (the same object).
    `user` is the logged-in user itself (not the `current_user` proxy, which costs a lookup per attribute).

    A stale `base_version` merges field by field, the same field changed by both raises StaleVersion(row, fields);
    if another save lands between the read and the UPDATE, the general `save_row` takes over (it reads again and
    merges again) and the row is read again for the fragment.
    """
    conflicts = conflicting_fields(row, changes, base_version)
    if conflicts:
        raise StaleVersion(row, conflicts)
    diff = {field: (getattr(row, field), value) for field, value in changes.items() if getattr(row, field) != value}
    if not diff:
        return row
    new_version = row.version + 1
    values = {**{field: after for field, (_before, after) in diff.items()},
              "version": new_version, "field_versions": stamped(row, diff, new_version),
              "updated_by_id": user.id, "updated_at": utcnow(),
              "w_id": row.id, "w_version": row.version, "w_scope": scope_pattern()}
    monitor = user.role == MONITOR
    if monitor:
        values["w_own_unit"] = user.unit_id
    save = _save_statement(monitor, tuple(diff))
    entries = entry_rows(ENTITY, row.id, row.unit_id, diff, user_id=user.id)  # every field's entry, one INSERT
    # From the UPDATE to the commit this request holds SQLite's write lock, and every other writer waits for it:
    # everything is prepared before, nothing but the three statements runs in between.
    saved = save.all(values)
    if not saved:
        db.session.rollback()
        save_row(user, row.id, base_version, changes)  # lost a race: the general path (merge, 409 or 404)
        current = row_view(row.id)
        if current is None:
            raise RowMissing(row.id)
        return current
    insert_entry_rows(entries)
    ledger_rollups.row_saved(db.session, row.unit_id, diff)  # a status change moves a dashboard stamp
    commit_first()  # the stamp is written by the session's before-commit hook, still inside this transaction
    for field, (_before, after) in diff.items():
        setattr(row, field, after)
    row.field_versions, row.updated_by_id = values["field_versions"], user.id
    row.version, row.updated_at = saved[0]
    row.updated_by = EditorName(user.display_name)
    return row


def _commit_keeping(row: LedgerRow | None = None) -> None:
    """Commit without expiring what the session holds: `row` already carries what was written, and the
    fragment is rendered from it (reloading it cost a SELECT per save); the user stays loaded too."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def add_evidence(row: LedgerRow, files: list[CheckedFile], user_id: int) -> None:
    """Store evidence files for the row; the row's own fields and version stay as they are."""
    for checked in files:
        db.session.add(StoredFile(unit_id=row.unit_id, ledger_row_id=row.id, filename=checked.filename,
                                  content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
                                  data=checked.data, uploaded_by_id=user_id))
        record(ENTITY, row.id, "add_file", unit_id=row.unit_id, field="files", after=checked.filename)
    db.session.commit()


def remove_evidence(stored: StoredFile) -> bool:
    """Remove the file; False (and no audit entry) when another request removed it first."""
    row_id, unit_id, filename, file_id = stored.ledger_row_id, stored.unit_id, stored.filename, stored.id
    db.session.expunge(stored)
    removed = db.session.execute(delete(StoredFile).where(StoredFile.id == file_id)
                                 .execution_options(synchronize_session=False)).rowcount
    if removed:
        record(ENTITY, row_id, "remove_file", unit_id=unit_id, field="files", before=filename)
    db.session.commit()
    return bool(removed)
