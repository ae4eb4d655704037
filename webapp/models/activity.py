"""Activities (活动记录) that units log, and the kinds they come in."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import BigInteger, ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .org import Unit

ACTIVITY_STATUSES = ("draft", "submitted", "approved", "returned")


class ActivityKind(db.Model):
    """A kind of activity, owned by a unit: the top unit's are the standard kinds its whole tree uses."""
    __tablename__ = "activity_kind"
    __table_args__ = (UniqueConstraint("unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    cadence: Mapped[str] = mapped_column(String(20), default="month")
    count: Mapped[int] = mapped_column(default=1)
    level: Mapped[str] = mapped_column(String(20), default="branch")
    position: Mapped[int] = mapped_column(default=0)
    # Retired kinds keep their history but are not offered for new activities.
    active: Mapped[bool] = mapped_column(default=True)

    unit = relationship("Unit")

    @classmethod
    def visible_from(cls, unit: Unit) -> ColumnElement[bool]:
        """Kinds a unit may use: its enclosing units' (the standard ones), its own and its subtree's."""
        return or_(cls.unit_id.in_(unit.ancestor_ids), cls.unit_id.in_(Unit.subtree_ids(unit.path)))


class Activity(db.Model):
    __tablename__ = "activity"
    __table_args__ = (
        # Covering for compliance counts (unit · kind · period, approved only): no table lookups.
        Index("ix_activity_unit_kind_date_status", "unit_id", "kind_id", "held_on", "status"),
        # "Last update" per unit: read backwards from the newest, held_on checked in the index.
        Index("ix_activity_unit_updated_date", "unit_id", "updated_at", "held_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("activity_kind.id"), index=True)
    held_on: Mapped[date] = mapped_column(index=True)
    topic: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200), default="")
    host: Mapped[str] = mapped_column(String(100), default="")
    present: Mapped[Optional[int]]
    expected: Mapped[Optional[int]]
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[Optional[datetime]]
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    # {field: version that last changed it}: a stale save of other fields merges (webapp/versioning.py).
    field_versions: Mapped[Optional[str]] = mapped_column(Text)

    # Every UPDATE says "WHERE version = <the one loaded>" (the services bump it), so of two saves based on
    # the same version only one lands: the other gets StaleDataError instead of silently overwriting.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    unit = relationship("Unit")
    kind = relationship("ActivityKind")
    created_by = relationship("User", foreign_keys=[created_by_id])
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])
    files = relationship("StoredFile", back_populates="activity", order_by="StoredFile.id")


class ActivityCounter(db.Model):
    """Approved activities per unit × kind × period, one row for each cadence's period a day falls in.

    Kept in the same transaction as every change to an activity (`webapp/activities/counters.py`), rebuilt by
    `flask --app wsgi recount`. The dashboards and compliance read these rows instead of counting activities.
    """
    __tablename__ = "activity_counter"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("activity_kind.id", ondelete="CASCADE"), primary_key=True)
    cadence: Mapped[str] = mapped_column(String(20), primary_key=True)
    period: Mapped[str] = mapped_column(String(30), primary_key=True)  # the period's label, e.g. "2026-03"
    first_day: Mapped[date]
    last_day: Mapped[date]
    approved: Mapped[int] = mapped_column(default=0)


class MetRollupStamp(db.Model):
    """Change stamps behind the cached obligation figures of the dashboards (`webapp/activities/rollups.py`).

    Row 0 moves with every change to plans, tasks, requirements, assignments, units or activity kinds; the row of a
    college (a unit two levels down, or a top unit itself) moves with every change to its activity counters. Both
    are written in the same transaction as the change; a cached figure is used only while its stamps are unchanged.
    """
    __tablename__ = "met_rollup_stamp"

    scope_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    stamp: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerFigureStamp(db.Model):
    """Change stamps behind the cached ledger figures of the dashboards (`webapp/reports/ledger_rollups.py`).

    Row 0 moves when ledger rows are created or deleted; the row of a college (as in `met_rollup_stamp`) moves when a
    row of one of its units changes status (or unit, or task). Written in the same transaction as the change.
    """
    __tablename__ = "ledger_figure_stamp"

    scope_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    stamp: Mapped[int] = mapped_column(BigInteger, default=0)
