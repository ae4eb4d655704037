"""Plans, requirements and activities built directly with the models (no import, no services)."""
from __future__ import annotations

import io
import struct
import zlib
from datetime import date

from sqlalchemy import select

from webapp.demo import ensure_activity_kinds
from webapp.extensions import db
from webapp.models import Activity, ActivityKind, Plan, Requirement, Section, Task, TaskAssignment, Unit


def standard_kinds_owner() -> Unit:
    """The first top unit (our college in the `org` fixture): it owns the standard kinds, as after the migration."""
    return db.session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)).scalar_one()


def ensure_standard_kinds() -> None:
    ensure_activity_kinds(standard_kinds_owner())


def kind_id(name: str) -> int:
    """The id of a standard kind, seeding (and committing) the standard kinds the first time."""
    query = select(ActivityKind.id).where(ActivityKind.name == name,
                                          ActivityKind.unit_id == standard_kinds_owner().id)
    found = db.session.execute(query).scalar_one_or_none()
    if found is None:
        ensure_standard_kinds()
        db.session.commit()
        found = db.session.execute(query).scalar_one()
    return found


def make_plan(unit_id: int, year: int, requirements: list[dict], *, assigned_unit_ids: list[int] = (),
              status: str = "published") -> list[int]:
    """A plan with one task carrying `requirements` (dicts of Requirement fields); returns their ids."""
    ensure_standard_kinds()
    plan = Plan(unit_id=unit_id, year=year, title=f"{year}年工作方案", status=status)
    section = Section(plan=plan, position=0, number="一", title="组织建设")
    task = Task(plan=plan, section=section, position=0, number=1, title="落实组织生活制度", body="")
    db.session.add_all([plan, section, task])
    made = []
    for spec in requirements:
        spec = {"text": f"按时开展{spec['kind']}", "count": 1, **spec}
        made.append(Requirement(task=task, **spec))
    for unit in assigned_unit_ids:
        db.session.add(TaskAssignment(task=task, unit_id=unit))
    db.session.add_all(made)
    db.session.commit()
    return [requirement.id for requirement in made]


def make_activity(unit_id: int, kind: str, held_on: date, status: str = "approved", commit: bool = True,
                  **fields) -> int | None:
    values = {"topic": f"{kind} {held_on.isoformat()}", "place": "会议室", "present": 20, "expected": 25, **fields}
    activity = Activity(unit_id=unit_id, kind_id=kind_id(kind), held_on=held_on, status=status, **values)
    db.session.add(activity)
    if not commit:
        return None
    db.session.commit()
    return activity.id


def demo_like_requirements() -> list[dict]:
    """Obligations like those the real plan text yields (DOMAIN.md), for checks on the demo activities."""
    return [
        {"kind": "政治学习", "cadence": "week", "weekday": 4, "level": "faculty_branch"},
        {"kind": "支部委员会", "cadence": "month", "level": "branch"},
        {"kind": "党课", "cadence": "quarter", "level": "branch"},
        {"kind": "主题班会", "cadence": "month", "level": "class"},
        {"kind": "主题团日", "cadence": "month", "level": "class"},
        {"kind": "摸排清查", "cadence": "month", "level": "student_branch"},
        {"kind": "党政联席会议", "cadence": "year", "count": 2, "level": "general"},
        {"kind": "意识形态研判会", "cadence": "year", "count": 2, "level": "general"},
    ]


def png_bytes(width: int = 4, height: int = 4) -> bytes:
    """A real (tiny, red) PNG image, built without any imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def upload(data: bytes, filename: str):
    return (io.BytesIO(data), filename)
