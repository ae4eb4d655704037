"""Every change to an activity or an activity kind, with its audit entry, in one transaction.

Status flow: draft → submitted → approved | returned (with a comment); a returned activity is
edited and submitted again. Staff and admins review their own subtree, so what they submit is
approved at once (permissions.submission_is_approval); a monitor's submission waits for review.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Iterable

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..audit import apply_changes, record, record_changes
from ..extensions import db
from ..models import Activity, ActivityKind, StoredFile, Unit
from ..models.base import utcnow
from ..permissions import submission_is_approval
from ..uploads import CheckedFile
from ..versioning import StaleVersion, conflicting_fields, stamped
from . import queries

ENTITY = "activity"
KIND_ENTITY = "activity_kind"
EDITABLE_FIELDS = ("kind_id", "held_on", "topic", "place", "host", "present", "expected", "summary")


class KindNameTaken(Exception):
    """A kind of this name was added by another request just now."""


class WrongState(Exception):
    """The action does not fit the activity's status (e.g. approving a draft)."""


@dataclass(frozen=True)
class ActivityData:
    kind_id: int
    held_on: date
    topic: str
    place: str
    host: str
    present: int | None
    expected: int | None
    summary: str

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in EDITABLE_FIELDS}

    @classmethod
    def of(cls, activity: Activity) -> "ActivityData":
        return cls(**{field: getattr(activity, field) for field in EDITABLE_FIELDS})


# ---- kinds ----------------------------------------------------------------------------------------

def seed_standard_kinds(top_unit: Unit) -> list[ActivityKind]:
    """Give a tree's top unit the standard kinds unless it has kinds already, with an audit entry each, in the
    caller's transaction. Called when a tree is created and when a plan is published: never on a GET."""
    from ..demo import ensure_activity_kinds
    from ..prereview.services import ensure_kinds as ensure_prereview_kinds
    created = ensure_activity_kinds(top_unit)
    for kind in created:
        record(KIND_ENTITY, kind.id, "create", unit_id=top_unit.id,
               after={"name": kind.name, "cadence": kind.cadence, "count": kind.count, "level": kind.level})
    ensure_prereview_kinds(top_unit)  # and the pre-review kinds of the register (三审), likewise never on a GET
    return created


def create_kind(user, name: str, cadence: str, count: int, level: str) -> ActivityKind:
    """A new kind belongs to the admin's own unit: their subtree sees it, nobody above or beside."""
    position = max((kind.position for kind in queries.all_kinds()), default=-1) + 1
    kind = ActivityKind(unit_id=user.unit_id, name=name, cadence=cadence, count=count, level=level,
                        position=position, active=True)
    db.session.add(kind)
    try:
        db.session.flush()
    except IntegrityError:  # the same name added at the same moment (a double submit): one kind, not two
        db.session.rollback()
        raise KindNameTaken(name) from None
    record(KIND_ENTITY, kind.id, "create", unit_id=kind.unit_id,
           after={"name": name, "cadence": cadence, "count": count, "level": level})
    db.session.commit()
    return kind


def update_kind(user, kind: ActivityKind, name: str, cadence: str, count: int, level: str) -> None:
    changes = apply_changes(kind, {"name": name, "cadence": cadence, "count": count, "level": level})
    record_changes(KIND_ENTITY, kind.id, kind.unit_id, changes)
    db.session.commit()


def set_kind_active(user, kind: ActivityKind, active: bool) -> None:
    changes = apply_changes(kind, {"active": active})
    record_changes(KIND_ENTITY, kind.id, kind.unit_id, changes, action="retire" if not active else "restore")
    db.session.commit()


# ---- activities -----------------------------------------------------------------------------------

def create_activity(user, unit: Unit, data: ActivityData, files: Iterable[CheckedFile], submit: bool,
                    pending: Iterable[StoredFile] = ()) -> Activity:
    activity = Activity(unit_id=unit.id, created_by_id=user.id, status="draft", **data.as_dict())
    db.session.add(activity)
    db.session.flush()
    record(ENTITY, activity.id, "create", unit_id=unit.id, after=data.as_dict())
    _adopt(activity, pending)
    _attach(user, activity, files)
    if submit:
        _submit(user, activity)
    db.session.commit()
    return activity


def _no_autoflush(function):
    """Run a change without autoflush, so a lazy load halfway through cannot send the version-checked UPDATE
    early (outside `_commit_unless_stale`, a concurrent save would then surface as StaleDataError, a 500)."""
    @wraps(function)
    def run(*args, **kwargs):
        with db.session.no_autoflush:
            return function(*args, **kwargs)
    return run


@_no_autoflush
def update_activity(user, activity: Activity, version: int, data: ActivityData, files: Iterable[CheckedFile],
                    remove_file_ids: Iterable[int], submit: bool, pending: Iterable[StoredFile] = (),
                    edited: Iterable[str] | None = None) -> None:
    """Save the form based on `version`. If someone saved since (a reviewer's decision, another field), the
    edit is merged unless it changes a field they changed too: then StaleVersion(activity, fields).
    `edited`: the fields this person changed in the form (the rest keep what is saved now); None: every field."""
    values = data.as_dict()
    if edited is not None:
        values = {field: value for field, value in values.items() if field in set(edited)}
    conflicts = conflicting_fields(activity, values, version)
    if conflicts:
        raise StaleVersion(activity, conflicts)
    changes = apply_changes(activity, values)
    record_changes(ENTITY, activity.id, activity.unit_id, changes, user_id=user.id)
    _detach(activity, set(remove_file_ids))
    _adopt(activity, pending)
    _attach(user, activity, files)
    if submit:
        _submit(user, activity)
    _bump(activity, [*changes, *(("status",) if submit else ())])
    _commit_unless_stale(StaleVersion)


@_no_autoflush
def submit_activity(user, activity: Activity) -> None:
    _submit(user, activity)
    _bump(activity, ("status", "review_comment"))
    _commit_unless_stale(WrongState)


@_no_autoflush
def approve_activity(user, activity: Activity) -> None:
    _require_status(activity, "submitted")
    _set_status(activity, "approved", user, action="approve")
    activity.review_comment = ""
    _bump(activity, ("status", "review_comment"))
    _commit_unless_stale(WrongState)


@_no_autoflush
def return_activity(user, activity: Activity, comment: str) -> None:
    _require_status(activity, "submitted")
    _set_status(activity, "returned", user, action="return", comment=comment)
    activity.review_comment = comment
    _bump(activity, ("status", "review_comment"))
    _commit_unless_stale(WrongState)


def _bump(activity: Activity, fields: Iterable[str]) -> None:
    """The next version, and which fields it changed (what a stale edit is merged against)."""
    activity.field_versions = stamped(activity, fields, activity.version + 1)
    activity.version += 1


def _commit_unless_stale(error: type[Exception]) -> None:
    """Commit; if someone else changed the activity since it was loaded, nothing is saved and `error` is raised."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise error() from None


def _submit(user, activity: Activity) -> None:
    _require_status(activity, "draft", "returned")
    if submission_is_approval(user):
        _set_status(activity, "approved", user, action="submit")
        activity.review_comment = ""
    else:
        _set_status(activity, "submitted", None, action="submit")


def _set_status(activity: Activity, status: str, reviewer, action: str, comment: str = "") -> None:
    record(ENTITY, activity.id, action, unit_id=activity.unit_id, field="status",
           before=activity.status, after=status)
    if comment:
        record(ENTITY, activity.id, "comment", unit_id=activity.unit_id, field="review_comment", after=comment)
    activity.status = status
    if reviewer is not None:
        activity.reviewed_by_id = reviewer.id
        activity.reviewed_at = utcnow()


def _require_status(activity: Activity, *allowed: str) -> None:
    if activity.status not in allowed:
        raise WrongState(activity.status)


def _attach(user, activity: Activity, files: Iterable[CheckedFile]) -> None:
    for checked in files:
        stored = StoredFile(unit_id=activity.unit_id, activity_id=activity.id, filename=checked.filename,
                            content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
                            data=checked.data, uploaded_by_id=user.id)
        db.session.add(stored)
        record(ENTITY, activity.id, "attach", unit_id=activity.unit_id, field="file", after=checked.filename)


# ---- pending uploads: photos kept across a form that came back with an error ---------------------

PENDING_LIFETIME = timedelta(days=1)


def keep_pending(user, unit: Unit, draft: str, files: Iterable[CheckedFile]) -> None:
    """Store files chosen on a form that failed validation under its draft key, so they need not be chosen
    again. Not audited: they are nobody's record until the activity is saved (then `_adopt` records them)."""
    for checked in files:
        db.session.add(StoredFile(unit_id=unit.id, filename=checked.filename, content_type=checked.content_type,
                                  size=checked.size, sha256=checked.sha256, data=checked.data,
                                  uploaded_by_id=user.id, pending_draft=draft))
    db.session.commit()


def drop_pending(files: Iterable[StoredFile]) -> None:
    for stored in files:
        db.session.delete(stored)
    db.session.commit()


def purge_stale_pending(now: datetime | None = None) -> int:
    """Remove pending files older than a day (forms abandoned after an error). Returns how many."""
    cutoff = (now or utcnow()) - PENDING_LIFETIME
    result = db.session.execute(delete(StoredFile).where(StoredFile.pending_draft.is_not(None),
                                                         StoredFile.uploaded_at < cutoff)
                                .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount or 0


def _adopt(activity: Activity, pending: Iterable[StoredFile]) -> None:
    """Pending files become the activity's, audited like a fresh attachment."""
    for stored in pending:  # the user's own uploads, in scope; the unit may have been changed on the form
        stored.activity_id, stored.unit_id, stored.pending_draft = activity.id, activity.unit_id, None
        record(ENTITY, activity.id, "attach", unit_id=activity.unit_id, field="file", after=stored.filename)


def _detach(activity: Activity, file_ids: set[int]) -> None:
    for stored in list(activity.files):
        if stored.id in file_ids:
            record(ENTITY, activity.id, "detach", unit_id=activity.unit_id, field="file", before=stored.filename)
            db.session.delete(stored)


