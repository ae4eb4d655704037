"""The audit log: who changed what, when, from what to what."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_target", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The unit the change belongs to; it decides who may read the entry.
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[Optional[int]]
    action: Mapped[str] = mapped_column(String(40))
    field: Mapped[Optional[str]] = mapped_column(String(60))
    before: Mapped[Optional[str]] = mapped_column(Text)
    after: Mapped[Optional[str]] = mapped_column(Text)

    user = relationship("User", lazy="joined")
    unit = relationship("Unit")
