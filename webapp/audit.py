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

from flask_babel import lazy_gettext as _l  # noqa: E402  (labels belong with the log they describe)

ENTITY_LABELS = {"ledger_row": _l("Ledger"), "activity": _l("Activity"), "plan": _l("Work plan"),
                 "task": _l("Task"), "section": _l("Section"), "requirement": _l("Requirement"),
                 "unit": _l("Unit"), "user": _l("User"), "activity_kind": _l("Activity kind"),
                 "nudge": _l("Nudge")}
ENTITY_LABELS["api_token"] = _l("API token")
ACTION_LABELS = {"create": _l("created"), "update": _l("changed"), "delete": _l("deleted"),
                 "import": _l("imported"), "reimport": _l("re-imported"), "publish": _l("published"),
                 "copy": _l("copied to a new year"), "assign": _l("assignment changed"),
                 "add_file": _l("added a file"), "remove_file": _l("removed a file"),
                 "attach": _l("attached a file"), "detach": _l("removed a file"), "submit": _l("submitted"),
                 "approve": _l("approved"), "return": _l("returned"), "comment": _l("commented"),
                 "retire": _l("retired"), "restore": _l("restored"), "password_reset": _l("password reset")}
ACTION_LABELS.update({"revoke": _l("revoked"), "write": _l("wrote through the API")})
FIELD_LABELS = {"lead": _l("Lead"), "members": _l("Members"), "progress": _l("Progress"),
                "completed_on": _l("Completion date"), "remarks": _l("Remarks"), "files": _l("Evidence"),
                "file": _l("File"), "title": _l("Title"), "body": _l("Details"), "deadline_text": _l("Time limit"),
                "starts_on": _l("Start date"), "due_on": _l("Due date"), "ongoing": _l("Ongoing"),
                "assignments": _l("Assigned units"), "kind": _l("Activity kind"), "kind_id": _l("Activity kind"),
                "cadence": _l("Cadence"), "count": _l("Times per period"), "weekday": _l("Weekday"),
                "level": _l("Owed by"), "text": _l("Excerpt"), "held_on": _l("Date"), "topic": _l("Topic"),
                "place": _l("Place"), "host": _l("Host"), "present": _l("Present"), "expected": _l("Expected"),
                "summary": _l("Summary"), "review_comment": _l("Comment"), "name": _l("Name"),
                "display_name": _l("Display name"), "role": _l("Role"), "unit_id": _l("Unit"),
                "parent_id": _l("Parent unit"), "category": _l("Category"), "active": _l("Active"),
                "locale": _l("Language"), "year": _l("Year"), "needs_review": _l("Needs checking"),
                "robot": _l("Group robot"), "reminder_email": _l("E-mail for reminders"),
                "reminder_digest": _l("Reminder digest"), "note": _l("Note")}
# The same column name means different things on different records.
ENTITY_FIELD_LABELS = {("ledger_row", "status"): _l("Completion status"), ("unit", "kind"): _l("Kind")}
VALUE_LABELS = {
    ("ledger_row", "status"): {"not_started": _l("Not started"), "in_progress": _l("In progress"),
                               "done": _l("Done")},
    ("activity", "status"): {"draft": _l("Draft"), "submitted": _l("Awaiting review"), "approved": _l("Approved"),
                             "returned": _l("Returned")},
    ("plan", "status"): {"draft": _l("Draft"), "published": _l("Published")},
    ("unit", "kind"): {"university": _l("Party committee"), "general": _l("General branch"),
                       "branch": _l("Branch"), "class": _l("Class")},
    ("unit", "category"): {"faculty": _l("Faculty"), "student": _l("Student")},
    ("user", "role"): {"admin": _l("Administrator"), "secretary": _l("Secretary"), "staff": _l("Branch staff"),
                       "monitor": _l("Class monitor")},
}


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
