"""Optimistic locking with field-level merge, shared by ledger rows and activities.

A versioned record carries `version` (bumped by every save) and `field_versions`, a JSON map
{field: version that last changed it, "_since": version from which the map is complete}. A save based
on an older version is merged when none of the fields it changes were changed after that version;
only the same field changed by both sides is a conflict (`StaleVersion`, carrying the current record
and the conflicting fields). Records saved before the map existed have no map: every field then counts
as changed at the current version, so a stale save of them is a conflict, as before.
"""
from __future__ import annotations

import json
from typing import Any, Iterable


class StaleVersion(Exception):
    """The record changed since the version an edit was based on, in a field the edit changes too.

    `current` is the record as it is now, `fields` the fields both sides changed (empty when the
    save lost a race it could not merge); nothing was saved."""

    def __init__(self, current: Any = None, fields: Iterable[str] = ()):
        super().__init__(", ".join(fields))
        self.current = current
        self.fields = tuple(fields)


def _versions(record: Any) -> dict[str, int]:
    try:
        return json.loads(record.field_versions) if record.field_versions else {}
    except ValueError:
        return {}


def last_changed(record: Any, field: str) -> int:
    """The version at which `field` was last changed (an upper bound when it is not known exactly)."""
    versions = _versions(record)
    if field in versions:
        return versions[field]
    return versions.get("_since", record.version)


def conflicting_fields(record: Any, changes: dict[str, Any], base_version: int) -> list[str]:
    """Fields an edit based on `base_version` would change that someone else changed after that version."""
    if base_version >= record.version:
        return []
    return [field for field, value in changes.items()
            if getattr(record, field) != value and last_changed(record, field) > base_version]


def stamped(record: Any, fields: Iterable[str], new_version: int) -> str:
    """The record's field map after a save that changes `fields` and makes it `new_version`."""
    versions = _versions(record) or {"_since": record.version}
    for field in fields:
        versions[field] = new_version
    return json.dumps(versions, sort_keys=True)
