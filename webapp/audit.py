"""Audit entries are written by services in the same transaction as the change they describe."""
from __future__ import annotations

import json
import re
from typing import Any, Iterable

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import insert, select

from .extensions import db
from .models import AuditEntry
from .models.base import utcnow
from .prepared import Prepared


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


_ENTRY_COLUMNS = ("at", "user_id", "unit_id", "entity", "entity_id", "action", "field", "before", "after")
# Compiled once, run on the session's DB-API cursor (prepared.py): one INSERT, several rows in one executemany.
_INSERT_ENTRIES = Prepared(insert(AuditEntry.__table__), _ENTRY_COLUMNS, many=True)


def insert_changes(entity: str, entity_id: int, unit_id: int | None, changes: dict[str, tuple[Any, Any]],
                   action: str = "update", user_id: int | None = None) -> None:
    """The entries `record_changes` makes, as ONE INSERT statement without ORM objects (the hot save paths)."""
    insert_entry_rows(entry_rows(entity, entity_id, unit_id, changes, action, user_id))


def entry_rows(entity: str, entity_id: int, unit_id: int | None, changes: dict[str, tuple[Any, Any]],
               action: str = "update", user_id: int | None = None) -> list[dict[str, Any]]:
    """`insert_changes`' rows, built beforehand (the inline edit builds them before it takes the write lock)."""
    actor, now = (user_id if user_id is not None else actor_id()), utcnow()
    return [{"at": now, "user_id": actor, "unit_id": unit_id, "entity": entity, "entity_id": entity_id,
             "action": action, "field": field, "before": _text(before), "after": _text(after)}
            for field, (before, after) in changes.items()]


def insert_entry_rows(rows: list[dict[str, Any]]) -> None:
    """Write `entry_rows` in one INSERT, on the session's connection (a plain table INSERT needs nothing of the ORM)."""
    if rows:
        _INSERT_ENTRIES.many(rows)


def record_changes(entity: str, entity_id: int, unit_id: int | None, changes: dict[str, tuple[Any, Any]],
                   action: str = "update", user_id: int | None = None) -> None:
    """One entry per changed field: {field: (before, after)}."""
    for field, (before, after) in changes.items():
        record(entity, entity_id, action, unit_id=unit_id, field=field, before=before, after=after, user_id=user_id)


# ---- reading the log back: labels for what the change log shows -----------------------------------

from flask_babel import lazy_gettext as _l  # noqa: E402

from .labels import (ACTION_LABELS, ENTITY_FIELD_LABELS, ENTITY_LABELS, FIELD_LABELS,  # noqa: E402,F401
                     VALUE_LABELS)


_INTERNAL_ID = re.compile(r"\s*\(#\d+\)")


def action_label(entry: AuditEntry) -> str:
    return str(ACTION_LABELS.get(entry.action, entry.action))


def _field_label(entity: str, field: str) -> str:
    label = ENTITY_FIELD_LABELS.get((entity, field)) or FIELD_LABELS.get(field)
    return str(label) if label else field


def _value_label(entity: str, field: str, value) -> str:
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    return _INTERNAL_ID.sub("", str(VALUE_LABELS.get((entity, field), {}).get(value, value)))


def field_label(entry: AuditEntry) -> str:
    return _field_label(entry.entity, entry.field) if entry.field else ""


def value_text(entry: AuditEntry, text: str | None, names: dict[tuple[str, int], str] | None = None) -> str:
    """A stored before/after value as people read it: status words, and JSON snapshots as 'field: value', with
    ids of tasks, plans, units and people replaced by what they are called (from `names`)."""
    if not text:
        return ""
    if text.startswith("{") and text.endswith("}"):
        try:
            snapshot = json.loads(text)
        except ValueError:
            return text
        return "；".join(f"{_field_label(entry.entity, key)}：{_snapshot_value(entry.entity, key, value, names)}"
                        for key, value in snapshot.items() if value not in (None, ""))
    if entry.field in _ID_KEYS and text.isdecimal():  # a changed reference (an activity's kind): its name
        return (names or {}).get((_ID_KEYS[entry.field], int(text))) or "—"
    return _value_label(entry.entity, entry.field, text) if entry.field else _INTERNAL_ID.sub("", text)


# Snapshot keys that hold the id of another record, and which kind of record.
_ID_KEYS = {"task": "task", "plan": "plan", "from_plan": "plan", "unit_id": "unit", "parent_id": "unit",
            "kind_id": "activity_kind"}


def _snapshot_value(entity: str, key: str, value, names) -> str:
    if key in _ID_KEYS and isinstance(value, int):
        return (names or {}).get((_ID_KEYS[key], value)) or "—"
    return _value_label(entity, key, value)


class AuditReader:
    """Names for what a page of audit entries is about, looked up in one query per kind of record:
    the row's task (number and title), plan and unit; the activity's topic; the plan's title; the person."""

    def __init__(self, entries: list[AuditEntry]):
        from .models import Activity, ActivityKind, LedgerRow, Plan, Requirement, Task, Unit
        from .permissions import actor_names
        wanted: dict[str, set[int]] = {}
        for entry in entries:
            if entry.entity_id is not None:
                wanted.setdefault(entry.entity, set()).add(entry.entity_id)
            if entry.field in _ID_KEYS:
                for text in (entry.before, entry.after):
                    if text and text.isdecimal():
                        wanted.setdefault(_ID_KEYS[entry.field], set()).add(int(text))
            for text in (entry.before, entry.after):
                if text and text.startswith("{"):
                    try:
                        snapshot = json.loads(text)
                    except ValueError:
                        continue
                    if isinstance(snapshot, dict):
                        for key, value in snapshot.items():
                            if key in _ID_KEYS and isinstance(value, int):
                                wanted.setdefault(_ID_KEYS[key], set()).add(value)
        self.names: dict[tuple[str, int], str] = {}
        self.people = actor_names(entry.user_id for entry in entries)

        def load(entity, statement, name):
            if wanted.get(entity):
                for row in db.session.execute(statement(wanted[entity])):
                    self.names[(entity, row[0])] = name(*row[1:])

        task_name = self.task_name
        load("ledger_row", lambda ids: select(LedgerRow.id, Task.number, Task.title, Plan.title, Unit.name)
             .join(Task, Task.id == LedgerRow.task_id).join(Plan, Plan.id == Task.plan_id)
             .join(Unit, Unit.id == LedgerRow.unit_id).where(LedgerRow.id.in_(ids)),
             lambda number, title, plan, unit: f"{task_name(number, title)}（{plan} · {unit}）")
        load("task", lambda ids: select(Task.id, Task.number, Task.title, Plan.title)
             .join(Plan, Plan.id == Task.plan_id).where(Task.id.in_(ids)),
             lambda number, title, plan: f"{task_name(number, title)}（{plan}）")
        load("plan", lambda ids: select(Plan.id, Plan.title).where(Plan.id.in_(ids)), lambda title: f"《{title}》")
        load("requirement", lambda ids: select(Requirement.id, Requirement.kind).where(Requirement.id.in_(ids)),
             lambda kind: kind)
        load("activity", lambda ids: select(Activity.id, Activity.topic, Activity.held_on).where(Activity.id.in_(ids)),
             lambda topic, held_on: f"{topic}（{held_on.isoformat()}）")
        load("activity_kind", lambda ids: select(ActivityKind.id, ActivityKind.name).where(ActivityKind.id.in_(ids)),
             lambda name: name)
        load("unit", lambda ids: select(Unit.id, Unit.name).where(Unit.id.in_(ids)), lambda name: name)
        for user_id, name in actor_names(wanted.get("user", ())).items():
            self.names[("user", user_id)] = name

    @staticmethod
    def task_name(number: int, title: str) -> str:
        title = " ".join((title or "").split())
        return f"{_('Task')}{number} {title[:30]}{'…' if len(title) > 30 else ''}"

    def target(self, entry: AuditEntry) -> str:
        """What the entry changed, as people name it ("任务3 开展政治学习（2025年党建工作方案 · 教工第一党支部）")."""
        label = str(ENTITY_LABELS.get(entry.entity, entry.entity))
        name = self.names.get((entry.entity, entry.entity_id)) if entry.entity_id is not None else None
        return f"{label} {name}" if name else label

    def who(self, entry: AuditEntry) -> str:
        return self.people.get(entry.user_id) or str(_l("System"))

    def value(self, entry: AuditEntry, text: str | None) -> str:
        return value_text(entry, text, self.names)


def actor_name(user_id: int | None, loaded=None) -> str:
    """The display name of whoever acted; `loaded` is the relationship as the scoped session loaded it (None when
    the person belongs to a unit above the viewer), so the lookup runs only for those, once per person and request."""
    if loaded is not None:
        return loaded.display_name
    if user_id is None:
        return ""
    from flask import g
    from .permissions import actor_names
    known = g.setdefault("actor_names", {})
    if user_id not in known:
        known.update(actor_names([user_id]))
    return known.get(user_id, "")
