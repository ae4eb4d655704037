"""Personal access tokens for the JSON API: stored hashed, shown to their owner once."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the secret: tokens are long random strings, so a fast hash is enough and lookups stay one index probe.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the secret, so its owner can tell tokens apart ("tzk_AbCd…").
    prefix: Mapped[str] = mapped_column(String(16))
    can_write: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]
    # The throttle's fixed window (epoch seconds of its start) and the requests counted in it: kept in the
    # database so every gunicorn worker and app server counts against the same number.
    window_start: Mapped[int] = mapped_column(default=0)
    window_count: Mapped[int] = mapped_column(default=0)

    user = relationship("User")

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}>"
