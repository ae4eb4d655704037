"""The organisation tree: 党委 → 党总支 → 党支部 → 班级, any depth."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

UNIT_KINDS = ("university", "general", "branch", "class")
BRANCH_CATEGORIES = ("faculty", "student")


class Unit(db.Model):
    """A unit of the tree. `path` is the materialised path '/1/4/12/' so a subtree is one LIKE on an index."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    category: Mapped[Optional[str]] = mapped_column(String(20))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), default="", index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Optional[Unit]] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.id")

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to this unit, read off the path without a query."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    @classmethod
    def subtree_ids(cls, path: str):
        """SELECT of the ids of the unit at `path` and everything under it."""
        return select(cls.id).where(cls.path.startswith(path, autoescape=True))

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.name}>"
