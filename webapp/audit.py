"""Audit entries are written by services in the same transaction as the change they describe."""
from __future__ import annotations

import json
from typing import Any, Iterable

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


def apply_changes(obj: Any, values: dict[str, Any], allowed: Iterable[str] | None = None) -> dict[str, tuple[Any, Any]]:
    """Set the attributes that differ (only `allowed` ones, if given); returns {field: (before, after)}."""
    changes = {}
    for field in (values if allowed is None else [f for f in allowed if f in values]):
        before = getattr(obj, field)
        if before != values[field]:
            changes[field] = (before, values[field])
            setattr(obj, field, values[field])
    return changes


def record_changes(entity: str, entity_id: int, unit_id: int | None, changes: dict[str, tuple[Any, Any]],
                   action: str = "update", user_id: int | None = None) -> None:
    """One entry per changed field: {field: (before, after)}."""
    for field, (before, after) in changes.items():
        record(entity, entity_id, action, unit_id=unit_id, field=field, before=before, after=after, user_id=user_id)


# ---- reading the log back: labels for what the change log shows -----------------------------------

from flask_babel import lazy_gettext as _l  # noqa: E402

from .labels import (ACTION_LABELS, ENTITY_FIELD_LABELS, ENTITY_LABELS, FIELD_LABELS,  # noqa: E402,F401
                     VALUE_LABELS)


def action_label(entry: AuditEntry) -> str:
    return str(ACTION_LABELS.get(entry.action, entry.action))


def _field_label(entity: str, field: str) -> str:
    label = ENTITY_FIELD_LABELS.get((entity, field)) or FIELD_LABELS.get(field)
    return str(label) if label else (str(_l("Status")) if field == "status" else field)


def _value_label(entity: str, field: str, value) -> str:
    return str(VALUE_LABELS.get((entity, field), {}).get(value, value))


def field_label(entry: AuditEntry) -> str:
    return _field_label(entry.entity, entry.field) if entry.field else ""


def value_text(entry: AuditEntry, text: str | None) -> str:
    """A stored before/after value as people read it: status words, and JSON snapshots as 'field: value'."""
    if not text:
        return ""
    if text.startswith("{") and text.endswith("}"):
        try:
            snapshot = json.loads(text)
        except ValueError:
            return text
        return "；".join(f"{_field_label(entry.entity, key)}：{_value_label(entry.entity, key, value)}"
                        for key, value in snapshot.items() if value not in (None, ""))
    return _value_label(entry.entity, entry.field, text) if entry.field else text
