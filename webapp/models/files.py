"""Uploaded evidence (佐证材料). Bytes live in the database so every app server sees the same files."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..extensions import db
from .base import utcnow


class StoredFile(db.Model):
    __tablename__ = "stored_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    ledger_row_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ledger_row.id"), index=True)
    activity_id: Mapped[Optional[int]] = mapped_column(ForeignKey("activity.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A photo chosen on an activity form that came back with an error: kept under the form's draft key until
    # the activity is saved (then it belongs to the activity) or for a day (then it is removed).
    pending_draft: Mapped[Optional[str]] = mapped_column(String(64), index=True)

    ledger_row = relationship("LedgerRow", back_populates="files")
    activity = relationship("Activity", back_populates="files")
    uploaded_by = relationship("User")
