"""Every change to a pre-review item or kind, with its audit entry, in one transaction.

Status flow: draft → submitted (under review at stage 0, 1, …) → approved after the last stage passes;
any stage may return the item (the organiser edits and resubmits: review resumes at the stage that
returned it, in a new round) or reject it. After approval an event is marked held or cancelled, a post
published. Each decision is a version compare-and-set: of two decisions on the same version one lands,
the other raises StaleVersion (the route answers 409).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

from sqlalchemy.orm.exc import StaleDataError

from ..audit import apply_changes, record, record_changes
from ..extensions import db
from ..models import PrereviewFile, PrereviewItem, PrereviewKind, PrereviewStep, Unit
from ..models.prereview import DEFAULT_LEAD_DAYS, OPEN_STATUSES
from ..permissions import can_decide_prereview
from ..uploads import CheckedFile
from . import clock

ENTITY = "prereview_item"
KIND_ENTITY = "prereview_kind"
EDITABLE_FIELDS = ("kind_id", "title", "held_on", "place", "channel", "speaker", "summary")
DECISIONS = ("pass", "return", "reject")
OUTCOMES = {"event": ("held", "cancelled"), "post": ("published", "cancelled")}
# An item whose date is this near (or past) without final approval is flagged red.
RED_DAYS = 3

# The standard kinds (DOMAIN.md): events are checked 初审 → 复审, posts go through 三审.
_EVENT_STAGES = [{"name": "初审", "role": "staff", "level": "branch"},
                 {"name": "复审", "role": "secretary", "level": "general"}]
_POST_STAGES = [{"name": "初审", "role": "staff", "level": "branch"},
                {"name": "复审", "role": "admin", "level": "general"},
                {"name": "终审", "role": "secretary", "level": "general"}]
DEFAULT_KINDS = [("讲座", "event", _EVENT_STAGES), ("论坛", "event", _EVENT_STAGES), ("会议", "event", _EVENT_STAGES),
                 ("报告会", "event", _EVENT_STAGES), ("出版物", "post", _EVENT_STAGES),
                 ("论文/文章", "post", _EVENT_STAGES), ("新媒体推送", "post", _POST_STAGES)]


class StaleVersion(Exception):
    """Someone changed the item after this page was loaded."""


class WrongState(Exception):
    """The action does not fit the item's status (e.g. deciding a draft)."""


class NotYourStage(Exception):
    """The user may not decide the item's current stage (or submitted it themselves)."""


@dataclass(frozen=True)
class ItemData:
    kind_id: int
    title: str
    held_on: date
    place: str
    channel: str
    speaker: str
    summary: str

    def as_dict(self) -> dict:
        return {field: getattr(self, field) for field in EDITABLE_FIELDS}


# ---- deadlines ------------------------------------------------------------------------------------

def submission_deadline(item: PrereviewItem) -> date:
    return item.held_on - timedelta(days=item.kind.lead_days)


def is_late(held_on: date, lead_days: int, submitted_on: date) -> bool:
    """逾期报备: submitted fewer than `lead_days` days before the date."""
    return submitted_on > held_on - timedelta(days=lead_days)


def is_red(item: PrereviewItem, today: date) -> bool:
    """The date is near (or past) and the item is not finally decided."""
    return item.status in OPEN_STATUSES and (item.held_on - today).days <= RED_DAYS


def overdue_for_review(item: PrereviewItem, today: date) -> bool:
    """Waiting for a reviewer while its date is near or past."""
    return item.status == "submitted" and (item.held_on - today).days <= RED_DAYS


# ---- kinds ----------------------------------------------------------------------------------------

def ensure_kinds(root: Unit) -> None:
    """Give the top unit the standard kinds (its whole tree uses them) unless it has kinds already."""
    # Scoped is enough: a tree's top unit and its kinds enclose every scope inside the tree.
    exists = db.session.execute(db.select(PrereviewKind.id).where(PrereviewKind.unit_id == root.id).limit(1)).first()
    if exists:
        return
    for position, (name, category, stages) in enumerate(DEFAULT_KINDS):
        kind = PrereviewKind(unit_id=root.id, name=name, category=category, lead_days=DEFAULT_LEAD_DAYS,
                             position=position, active=True)
        kind.stages = stages
        db.session.add(kind)
    db.session.flush()


def _kind_snapshot(kind: PrereviewKind) -> dict:
    return {"name": kind.name, "category": kind.category, "lead_days": kind.lead_days,
            "stages": " → ".join(f"{s['name']}（{s['role']}@{s['level']}）" for s in kind.stages)}


def create_kind(user, name: str, category: str, lead_days: int, stages: list[dict]) -> PrereviewKind:
    """A new kind belongs to the admin's own unit: their subtree sees it."""
    position = db.session.execute(db.select(db.func.max(PrereviewKind.position))).scalar() or 0
    kind = PrereviewKind(unit_id=user.unit_id, name=name, category=category, lead_days=lead_days,
                         position=position + 1, active=True)
    kind.stages = stages
    db.session.add(kind)
    db.session.flush()
    record(KIND_ENTITY, kind.id, "create", unit_id=kind.unit_id, after=_kind_snapshot(kind))
    db.session.commit()
    return kind


def update_kind(user, kind: PrereviewKind, name: str, category: str, lead_days: int, stages: list[dict],
                active: bool) -> None:
    before = _kind_snapshot(kind)
    changes = apply_changes(kind, {"name": name, "category": category, "lead_days": lead_days, "active": active})
    kind.stages = stages
    if before["stages"] != _kind_snapshot(kind)["stages"]:
        changes["stages"] = (before["stages"], _kind_snapshot(kind)["stages"])
    record_changes(KIND_ENTITY, kind.id, kind.unit_id, changes)
    db.session.commit()


# ---- items ----------------------------------------------------------------------------------------

def create_item(user, unit: Unit, data: ItemData, files: Iterable[CheckedFile], submit: bool) -> PrereviewItem:
    item = PrereviewItem(unit_id=unit.id, created_by_id=user.id, status="draft", **data.as_dict())
    db.session.add(item)
    db.session.flush()
    record(ENTITY, item.id, "create", unit_id=unit.id, after=data.as_dict())
    _attach(user, item, files)
    if submit:
        _submit(user, item)
    db.session.commit()
    return item


def update_item(user, item: PrereviewItem, version: int, data: ItemData, files: Iterable[CheckedFile],
                remove_file_ids: Iterable[int], submit: bool) -> None:
    """Edit a draft or a returned item: everything the organiser wrote stays until they change it."""
    if version != item.version:
        raise StaleVersion()
    _require_status(item, "draft", "returned")
    changes = apply_changes(item, data.as_dict())
    record_changes(ENTITY, item.id, item.unit_id, changes)
    _detach(item, set(remove_file_ids))
    _attach(user, item, files)
    item.version += 1
    if submit:
        item.kind = db.session.get(PrereviewKind, item.kind_id)  # the kind may have just changed
        _submit(user, item)
    _commit_unless_stale()


def submit_item(user, item: PrereviewItem, version: int) -> None:
    if version != item.version:
        raise StaleVersion()
    _submit(user, item)
    item.version += 1
    _commit_unless_stale()


def decide(user, item: PrereviewItem, version: int, decision: str, comment: str) -> None:
    """A reviewer passes, returns or rejects the item at its current stage."""
    if version != item.version:
        raise StaleVersion()
    _require_status(item, "submitted")
    if decision not in DECISIONS:
        raise WrongState(decision)
    if not can_decide_prereview(user, item):
        raise NotYourStage()
    stages = item.kind.stages
    stage, stage_index = item.current_stage, item.stage
    now = clock.utc_now()
    before = item.status
    action = decision
    if decision == "pass":
        if item.stage + 1 >= len(stages):
            item.status, item.decided_at, item.review_comment, action = "approved", now, "", "approve"
        else:
            item.stage += 1
    elif decision == "return":
        item.status, item.review_comment = "returned", comment  # the stage stays: review resumes there
    else:
        item.status, item.decided_at, item.review_comment = "rejected", now, comment
    db.session.add(PrereviewStep(item_id=item.id, unit_id=item.unit_id, round=item.round,
                                 stage=stage_index, stage_name=stage.get("name", ""), action=action,
                                 comment=comment, user_id=user.id, at=now))
    if item.status == before:  # passed to the next stage
        record(ENTITY, item.id, action, unit_id=item.unit_id, field="stage", before=stage.get("name", ""),
               after=stages[item.stage].get("name", ""))
    else:
        record(ENTITY, item.id, action, unit_id=item.unit_id, field="status", before=before, after=item.status)
    if comment:
        record(ENTITY, item.id, "comment", unit_id=item.unit_id, field="review_comment", after=comment)
    item.version += 1
    _commit_unless_stale()


def record_outcome(user, item: PrereviewItem, version: int, outcome: str, outcome_on: date | None,
                   link: str) -> None:
    """After approval: the event was held (on a date) or cancelled; the post was published (at a link)."""
    if version != item.version:
        raise StaleVersion()
    _require_status(item, "approved")
    if outcome not in OUTCOMES.get(item.kind.category, ()):
        raise WrongState(outcome)
    record(ENTITY, item.id, outcome, unit_id=item.unit_id, field="status", before=item.status, after=outcome)
    item.status = outcome
    item.outcome_on = outcome_on
    item.outcome_link = link if outcome == "published" else ""
    item.version += 1
    _commit_unless_stale()


def _submit(user, item: PrereviewItem) -> None:
    _require_status(item, "draft", "returned")
    stages = item.kind.stages
    now = clock.utc_now()
    before = item.status
    if item.status == "draft":
        item.stage = 0
        item.first_submitted_at = now
        item.late = is_late(item.held_on, item.kind.lead_days, clock.local_date(now))
    item.round += 1
    item.submitted_at, item.submitted_by_id = now, user.id
    item.stage = max(0, min(item.stage, len(stages) - 1))
    if stages:
        item.status = "submitted"
    else:  # a kind without stages needs nobody's approval
        item.status, item.decided_at = "approved", now
    stage_name = stages[item.stage].get("name", "") if stages else ""
    db.session.add(PrereviewStep(item_id=item.id, unit_id=item.unit_id, round=item.round, stage=item.stage,
                                 stage_name=stage_name, action="submit", user_id=user.id, at=now))
    record(ENTITY, item.id, "submit", unit_id=item.unit_id, field="status", before=before, after=item.status)


def _commit_unless_stale() -> None:
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleVersion() from None


def _require_status(item: PrereviewItem, *allowed: str) -> None:
    if item.status not in allowed:
        raise WrongState(item.status)


def _attach(user, item: PrereviewItem, files: Iterable[CheckedFile]) -> None:
    for checked in files:
        db.session.add(PrereviewFile(unit_id=item.unit_id, item_id=item.id, filename=checked.filename,
                                     content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
                                     data=checked.data, uploaded_by_id=user.id))
        record(ENTITY, item.id, "attach", unit_id=item.unit_id, field="file", after=checked.filename)


def _detach(item: PrereviewItem, file_ids: set[int]) -> None:
    for stored in list(item.files):
        if stored.id in file_ids:
            record(ENTITY, item.id, "detach", unit_id=item.unit_id, field="file", before=stored.filename)
            db.session.delete(stored)
