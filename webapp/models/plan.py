"""A yearly work plan (工作方案): sections, tasks and the recurring obligations read from them."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

# A withdrawn plan keeps its rows, evidence and activities but leaves every ledger, dashboard and grid.
PLAN_STATUSES = ("draft", "published", "withdrawn")
CADENCES = ("week", "month", "quarter", "semester", "year")
LEVELS = ("general", "branch", "faculty_branch", "student_branch", "class")


class Plan(db.Model):
    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The general branch (or any unit) that issued the plan; its subtree carries it out.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    year: Mapped[int] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    source_filename: Mapped[Optional[str]] = mapped_column(String(255))
    source_text: Mapped[Optional[str]] = mapped_column(Text)
    warnings: Mapped[Optional[str]] = mapped_column(Text)  # JSON list of strings
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[Optional[datetime]]
    # A draft that edits a published plan: publishing it applies its differences to that plan (no foreign key:
    # published plans are never deleted, and the draft goes when it is published).
    revision_of_id: Mapped[Optional[int]]

    unit = relationship("Unit")
    revision_of: Mapped[Optional[Plan]] = relationship(
        primaryjoin="foreign(Plan.revision_of_id) == remote(Plan.id)", viewonly=True)
    sections: Mapped[list[Section]] = relationship(
        back_populates="plan", order_by="Section.position", cascade="all, delete-orphan")
    tasks: Mapped[list[Task]] = relationship(
        back_populates="plan", order_by="Task.position", cascade="all, delete-orphan", overlaps="section")


class Section(db.Model):
    __tablename__ = "plan_section"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    number: Mapped[str] = mapped_column(String(20), default="")
    title: Mapped[str] = mapped_column(String(300), default="")

    plan: Mapped[Plan] = relationship(back_populates="sections")
    tasks: Mapped[list[Task]] = relationship(
        back_populates="section", order_by="Task.position", overlaps="tasks,plan")


class Task(db.Model):
    __tablename__ = "plan_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("plan_section.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    number: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    lead: Mapped[str] = mapped_column(Text, default="")
    members: Mapped[str] = mapped_column(Text, default="")
    deadline_text: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[Optional[date]]
    due_on: Mapped[Optional[date]]
    ongoing: Mapped[bool] = mapped_column(default=False)
    # Set when the reader could not make sense of something a person should check.
    needs_review: Mapped[bool] = mapped_column(default=False)
    # Set when a re-published plan no longer has the task: its ledger rows keep their progress but leave the
    # ledgers, dashboards and compliance (a later version that has the task again brings them back).
    archived: Mapped[bool] = mapped_column(default=False, server_default=false())

    plan: Mapped[Plan] = relationship(back_populates="tasks", overlaps="tasks,section")
    section: Mapped[Section] = relationship(back_populates="tasks", overlaps="plan,tasks")
    requirements: Mapped[list[Requirement]] = relationship(
        back_populates="task", order_by="Requirement.id", cascade="all, delete-orphan")
    assignments: Mapped[list[TaskAssignment]] = relationship(
        back_populates="task", cascade="all, delete-orphan")


class Requirement(db.Model):
    """A recurring obligation: `count` activities of `kind` per `cadence` period, owed by units at `level`."""

    __tablename__ = "requirement"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("plan_task.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(60))
    kind_id: Mapped[Optional[int]] = mapped_column(ForeignKey("activity_kind.id"), index=True)
    cadence: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(default=1)
    weekday: Mapped[Optional[int]]
    level: Mapped[str] = mapped_column(String(20))
    # Whether activities logged by units below the owing unit count toward it.
    include_children: Mapped[bool] = mapped_column(default=False)

    task: Mapped[Task] = relationship(back_populates="requirements")
    activity_kind = relationship("ActivityKind")


class TaskAssignment(db.Model):
    __tablename__ = "task_assignment"
    __table_args__ = (UniqueConstraint("task_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("plan_task.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)

    task: Mapped[Task] = relationship(back_populates="assignments")
    unit = relationship("Unit")
