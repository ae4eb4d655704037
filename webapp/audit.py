"""Audit entries are written by services in the same transaction as the change they describe."""
from __future__ import annotations

import json
from typing import Any

from flask_login import current_user

from .extensions import db
from .models import AuditEntry


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def actor_id() -> int | None:
    try:
        return current_user.id if current_user and current_user.is_authenticated else None
    except RuntimeError:  # outside a request (CLI)
        return None


def record(entity: str, entity_id: int | None, action: str, *, unit_id: int | None,
           field: str | None = None, before: Any = None, after: Any = None,
           user_id: int | None = None) -> AuditEntry:
    """Add an audit entry to the current session; the caller commits it with the change."""
    entry = AuditEntry(entity=entity, entity_id=entity_id, action=action, unit_id=unit_id,
                       field=field, before=_text(before), after=_text(after),
                       user_id=user_id if user_id is not None else actor_id())
    db.session.add(entry)
    return entry


def record_changes(entity: str, entity_id: int, unit_id: int | None, changes: dict[str, tuple[Any, Any]],
                   action: str = "update", user_id: int | None = None) -> None:
    """One entry per changed field: {field: (before, after)}."""
    for field, (before, after) in changes.items():
        record(entity, entity_id, action, unit_id=unit_id, field=field, before=before, after=after, user_id=user_id)
