"""Every change to a ledger row, with its audit entries, in one transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy import update

from ..audit import record, record_changes
from ..extensions import db
from ..models import LedgerRow, StoredFile
from ..models.base import utcnow
from ..uploads import CheckedFile

ENTITY = "ledger_row"


class StaleVersion(Exception):
    """The row changed since the version the user's edit was based on; nothing was saved."""


def save_row(row: LedgerRow, changes: dict[str, Any], version: int, user_id: int) -> dict[str, tuple[Any, Any]]:
    """Compare-and-set: apply `changes` only if the row is still at `version`. Returns {field: (before, after)}.

    The UPDATE's WHERE names the version, so two workers (or app servers) saving the same row cannot
    both win: the loser matches no row and gets StaleVersion, whatever the database.
    """
    if row.version != version:
        raise StaleVersion
    diff = {field: (getattr(row, field), value) for field, value in changes.items() if getattr(row, field) != value}
    if not diff:
        return {}
    result = db.session.execute(
        update(LedgerRow)
        .where(LedgerRow.id == row.id, LedgerRow.version == version)
        .values(**{field: after for field, (_before, after) in diff.items()},
                version=LedgerRow.version + 1, updated_by_id=user_id, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise StaleVersion
    record_changes(ENTITY, row.id, row.unit_id, diff)
    db.session.commit()
    return diff


def add_evidence(row: LedgerRow, files: list[CheckedFile], user_id: int) -> None:
    """Store evidence files for the row; the row's own fields and version stay as they are."""
    for checked in files:
        db.session.add(StoredFile(unit_id=row.unit_id, ledger_row_id=row.id, filename=checked.filename,
                                  content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
                                  data=checked.data, uploaded_by_id=user_id))
        record(ENTITY, row.id, "add_file", unit_id=row.unit_id, field="files", after=checked.filename)
    db.session.commit()


def remove_evidence(stored: StoredFile) -> None:
    row_id, unit_id, filename = stored.ledger_row_id, stored.unit_id, stored.filename
    db.session.delete(stored)
    record(ENTITY, row_id, "remove_file", unit_id=unit_id, field="files", before=filename)
    db.session.commit()
