"""A unit's ledger (台账): one row per (task, unit) of a published plan."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

LEDGER_STATUSES = ("not_started", "in_progress", "done")


class LedgerRow(db.Model):
    __tablename__ = "ledger_row"
    __table_args__ = (UniqueConstraint("task_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("plan_task.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    lead: Mapped[str] = mapped_column(Text, default="")
    members: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="not_started", index=True)
    completed_on: Mapped[Optional[date]]
    remarks: Mapped[str] = mapped_column(Text, default="")
    # Every save names the version it was based on; a stale one changes nothing (optimistic locking).
    version: Mapped[int] = mapped_column(default=1)
    # {field: version that last changed it}: a stale save of other fields merges (webapp/versioning.py).
    field_versions: Mapped[Optional[str]] = mapped_column(Text)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[Optional[datetime]] = mapped_column(default=utcnow)

    task = relationship("Task")
    unit = relationship("Unit")
    updated_by = relationship("User")
    files = relationship("StoredFile", back_populates="ledger_row", order_by="StoredFile.id")
