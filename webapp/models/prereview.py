"""Pre-review (预审查 / 三审): lectures, forums, meetings and publications checked before they happen.

An item is registered by its organising unit, submitted, and passed stage by stage (the stages of its
kind, configured by an admin) until it is approved; any stage may return it for changes or reject it.
The item stores the public facts of the event or publication only (speaker or author as free text).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Optional

from sqlalchemy import ColumnElement, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, or_
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .org import Unit

# "submitted" means "under review at stage `stage`"; held / cancelled / published follow approval.
PREREVIEW_STATUSES = ("draft", "submitted", "returned", "approved", "rejected", "held", "cancelled", "published")
OPEN_STATUSES = ("draft", "submitted", "returned")  # not yet finally decided
APPROVED_STATUSES = ("approved", "held", "cancelled", "published")  # passed every stage
PREREVIEW_CATEGORIES = ("event", "post")  # events have a place, posts and publications a channel
# Who decides a stage: a role at a level of the tree above (or at) the organising unit.
STAGE_ROLES = ("staff", "secretary", "admin")
STAGE_LEVELS = ("own", "branch", "general", "top")
DEFAULT_LEAD_DAYS = 7


class PrereviewKind(db.Model):
    """A kind of item (讲座, 新媒体推送, …) with its review stages; owned by a unit like activity kinds."""
    __tablename__ = "prereview_kind"
    __table_args__ = (UniqueConstraint("unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(10), default="event")
    # Submit at least this many days before the date; later is allowed but marked 逾期报备.
    lead_days: Mapped[int] = mapped_column(default=DEFAULT_LEAD_DAYS)
    # JSON list of {"name": "初审", "role": "staff", "level": "branch"}, in order.
    stages_json: Mapped[str] = mapped_column(Text, default="[]")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    unit = relationship("Unit")

    @property
    def stages(self) -> list[dict]:
        try:
            stages = json.loads(self.stages_json or "[]")
        except ValueError:
            return []
        return [s for s in stages if isinstance(s, dict)]

    @stages.setter
    def stages(self, value: list[dict]) -> None:
        self.stages_json = json.dumps(value, ensure_ascii=False)

    @classmethod
    def visible_from(cls, unit: Unit) -> ColumnElement[bool]:
        return or_(cls.unit_id.in_(unit.ancestor_ids), cls.unit_id.in_(Unit.subtree_ids(unit.path)))


class PrereviewItem(db.Model):
    __tablename__ = "prereview_item"
    __table_args__ = (Index("ix_prereview_item_unit_status", "unit_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("prereview_kind.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # The event's date, or the planned publication date of a post.
    held_on: Mapped[date] = mapped_column(index=True)
    place: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(200), default="")
    # As the organiser writes it (name and affiliation): the public facts of the event, nothing more.
    speaker: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    stage: Mapped[int] = mapped_column(default=0)  # index into the kind's stages while under review
    round: Mapped[int] = mapped_column(default=0)  # 1 on the first submission, +1 on each resubmission
    late: Mapped[bool] = mapped_column(default=False)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    outcome_on: Mapped[Optional[date]]
    outcome_link: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id"))
    submitted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id"))
    first_submitted_at: Mapped[Optional[datetime]]
    submitted_at: Mapped[Optional[datetime]]
    decided_at: Mapped[Optional[datetime]]  # approval or rejection (the final decision)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    # UPDATE … WHERE version = <loaded>: of two decisions based on one version only one lands.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    unit = relationship("Unit")
    kind = relationship("PrereviewKind")
    created_by = relationship("User", foreign_keys=[created_by_id])
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    files = relationship("PrereviewFile", back_populates="item", order_by="PrereviewFile.id")
    steps = relationship("PrereviewStep", back_populates="item", order_by="PrereviewStep.id")

    @property
    def current_stage(self) -> dict | None:
        stages = self.kind.stages
        return stages[self.stage] if self.status == "submitted" and 0 <= self.stage < len(stages) else None


class PrereviewStep(db.Model):
    """One step of an item's history: a submission or a reviewer's decision, with its round and stage."""
    __tablename__ = "prereview_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("prereview_item.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    round: Mapped[int] = mapped_column(default=1)
    stage: Mapped[int] = mapped_column(default=0)
    stage_name: Mapped[str] = mapped_column(String(60), default="")
    action: Mapped[str] = mapped_column(String(20))  # submit | pass | return | reject
    comment: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    item = relationship("PrereviewItem", back_populates="steps")
    user = relationship("User")


class PrereviewFile(db.Model):
    """Material to review (manuscript, slides, poster), checked like evidence files."""
    __tablename__ = "prereview_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("prereview_item.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    item = relationship("PrereviewItem", back_populates="files")
