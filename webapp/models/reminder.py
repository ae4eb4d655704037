"""Reminders (提醒): what the system told whom, what it sent where, and the nudges (催办) people send.

`Reminder` is the in-site channel and the source of every digest: one row per (kind, item, period,
user), unique, so a reminder exists at most once however many `remind` runs race. `ReminderDelivery`
is the sent-log of the outward channels (an e-mail digest to a person, a unit's group robot): one row
per (item, period, recipient, channel), unique, claimed before it is sent, so a digest goes out at most
once; a failed one stays `failed` with its error (the admin sees it) and is retried by the next run.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

REMINDER_KINDS = ("due_soon", "overdue", "overdue_below", "obligation", "review", "returned", "plan", "nudge")
DIGESTS = ("daily", "weekly", "none")
DELIVERY_CHANNELS = ("email", "robot")
DELIVERY_STATUSES = ("pending", "sent", "failed")
ROBOT_FORMATS = ("wecom", "json")


class Reminder(db.Model):
    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("kind", "item", "period", "user_id", name="uq_reminder_key"),
        Index("ix_reminder_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # The unit the reminder is about (whose row, activity or obligation): digests group by it.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    item: Mapped[str] = mapped_column(String(60))  # "row:12", "activity:5", "obligation:3:17", "plan:1", "nudge:4"
    period: Mapped[str] = mapped_column(String(40), default="")  # due date, period label, version…
    about: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[Optional[datetime]]
    # The digests that carried it (no foreign key: old deliveries are purged, the mark stays). No indexes here
    # or on created_at: a run inserts hundreds of thousands of rows and reads these columns once, by scanning.
    email_delivery_id: Mapped[Optional[int]]
    robot_delivery_id: Mapped[Optional[int]]

    unit = relationship("Unit")


class ReminderDelivery(db.Model):
    __tablename__ = "reminder_delivery"
    __table_args__ = (
        UniqueConstraint("item", "period", "recipient", "channel", name="uq_reminder_delivery_key"),
        Index("ix_reminder_delivery_status", "status", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # email | robot
    item: Mapped[str] = mapped_column(String(20))  # digest-daily | digest-weekly | robot
    period: Mapped[str] = mapped_column(String(20))  # "2026-03-05" or "2026-W10"
    recipient: Mapped[str] = mapped_column(String(40))  # "user:12" or "unit:5"
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(500))  # e-mail address or webhook URL at composing time
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    claim: Mapped[Optional[str]] = mapped_column(String(40))  # the run that holds it
    claimed_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[Optional[datetime]]

    unit = relationship("Unit")
    user = relationship("User")


class ReminderSetting(db.Model):
    """A person's e-mail address (optional) and how often they want a digest."""
    __tablename__ = "reminder_setting"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[Optional[str]] = mapped_column(String(254))
    digest: Mapped[str] = mapped_column(String(10), default="daily")


class UnitRobot(db.Model):
    """A unit's group-robot webhook (企业微信 group robot or a generic JSON receiver) for its digest."""
    __tablename__ = "unit_robot"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(10), default="wecom")

    unit = relationship("Unit")


class Nudge(db.Model):
    """催办: someone of a unit above reminded a unit below, about something, with a short note."""
    __tablename__ = "nudge"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)  # nudged
    from_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), index=True)
    about: Mapped[str] = mapped_column(String(20))  # overdue | obligations | other
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    unit = relationship("Unit", foreign_keys=[unit_id])
    from_unit = relationship("Unit", foreign_keys=[from_unit_id])
    from_user = relationship("User")
