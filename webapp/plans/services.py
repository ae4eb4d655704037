"""Every change to a plan: import, inline edits, assignment, publishing, re-import and copying.

Each public function is one user action: it changes the plan, adds its audit entries to the same
transaction and commits once.

Assignment rule (who carries out a task, `units_for_levels`): each requirement level names units
under the plan's unit: general → the plan's own unit; branch → every active branch;
faculty_branch / student_branch → the active branches of that category; class → every active
class. A task without requirements is the whole college's work: the plan's unit and every active
branch (classes only get tasks with class-level obligations). On a draft the assignment follows
the requirements until the admin changes it by hand; after that it is the admin's choice.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from ..audit import apply_changes, record, record_changes
from ..extensions import db
from ..models import ActivityKind, LedgerRow, Plan, Requirement, Section, Task, TaskAssignment, Unit
from ..models.base import utcnow
from .queries import active_units_under, kinds_visible_from
from .reader import REPORT_KINDS, read_plan
from .timelimits import parse_time_limit

TASK_FIELDS = ("title", "body", "lead", "members", "deadline_text", "starts_on", "due_on", "ongoing",
               "needs_review")
REQUIREMENT_FIELDS = ("kind", "cadence", "count", "weekday", "level", "include_children")
# A task without requirements goes to the plan's unit and every branch (see the module docstring).
LEVELS_WITHOUT_REQUIREMENTS = frozenset({"general", "branch"})


class PlanError(Exception):
    """A plan action that cannot be done in the plan's current state; str() is for the user."""


@dataclass
class Document:
    """A read plan document: the reader's dict plus where it came from."""
    parsed: dict
    filename: str
    source_text: str | None


def read_document(data: bytes | str, filename: str = "", year: int | None = None) -> Document:
    """Read an uploaded or pasted document; raises reader.ReadError with a Chinese line."""
    return Document(read_plan(data, filename=filename, year=year), filename, _source_text(data))


def _source_text(data: bytes | str) -> str | None:
    if isinstance(data, str):
        return data
    if data[:2] == b"PK":  # a .docx keeps no plain text worth storing
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


# ---- who carries out a task ----------------------------------------------------------------------

def units_for_levels(levels: Iterable[str], plan_unit: Unit, units: list[Unit]) -> list[Unit]:
    """The units (from `units`, the active subtree of `plan_unit`) that owe requirements at `levels`."""
    levels = set(levels) or LEVELS_WITHOUT_REQUIREMENTS
    picked = []
    for unit in units:
        if unit.id == plan_unit.id:
            wanted = "general" in levels
        elif unit.kind == "branch":
            wanted = ("branch" in levels or f"{unit.category}_branch" in levels)
        elif unit.kind == "class":
            wanted = "class" in levels
        else:
            wanted = False
        if wanted:
            picked.append(unit)
    return picked


def _default_unit_ids(levels: Iterable[str], plan: Plan, units: list[Unit]) -> set[int]:
    return {unit.id for unit in units_for_levels(levels, plan.unit, units)}


def _levels(task: Task) -> set[str]:
    return {requirement.level for requirement in task.requirements}


def _set_assignment_ids(task: Task, unit_ids: set[int]) -> None:
    current = {assignment.unit_id for assignment in task.assignments}
    task.assignments = ([a for a in task.assignments if a.unit_id in unit_ids]
                        + [TaskAssignment(unit_id=unit_id) for unit_id in sorted(unit_ids - current)])


def _follow_requirements(task: Task, levels_before: set[str]) -> None:
    """Re-derive a draft task's assignment from its levels unless the admin has changed it by hand."""
    units = active_units_under(task.plan.unit)
    current = {assignment.unit_id for assignment in task.assignments}
    if current == _default_unit_ids(levels_before, task.plan, units):
        _set_assignment_ids(task, _default_unit_ids(_levels(task), task.plan, units))


# ---- import ----------------------------------------------------------------------------------------

_TASK_LABEL_RE = re.compile(r"(?:([一二三四五六七八九十百]+)、)?任务(\d+)")


def _flagged_labels(warnings: list[str]) -> set[tuple[str, int]]:
    """(section number or "", task number) of every task a reader warning names ("任务3：…")."""
    return {(m.group(1) or "", int(m.group(2))) for warning in warnings for m in _TASK_LABEL_RE.finditer(warning)}


def _iso_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _kind_ids(plan_unit: Unit) -> dict[str, int]:
    return {name: kind.id for name, kind in kinds_visible_from(plan_unit).items()}


def _requirement(values: dict, kind_ids: dict[str, int]) -> Requirement:
    return Requirement(text=values.get("text", ""), kind=values["kind"][:60], kind_id=kind_ids.get(values["kind"]),
                       cadence=values["cadence"], count=values["count"], weekday=values.get("weekday"),
                       level=values["level"], include_children=bool(values.get("include_children", False)))


def _fill_plan(plan: Plan, parsed: dict) -> int:
    """Sections, tasks, requirements and default assignments from the reader's dict; returns the task count."""
    kind_ids = _kind_ids(plan.unit)
    units = active_units_under(plan.unit)
    flagged = _flagged_labels(parsed["warnings"])
    numbers = [task["number"] for section in parsed["sections"] for task in section["tasks"]]
    duplicates = {number for number in numbers if numbers.count(number) > 1}
    position = 0
    for section_position, section_data in enumerate(parsed["sections"]):
        section = Section(plan=plan, position=section_position, number=section_data["number"][:20],
                          title=section_data["title"][:300])
        db.session.add(section)
        for data in section_data["tasks"]:
            position += 1
            number = data["number"] or position
            label_section = section.number if number in duplicates else ""
            task = Task(plan=plan, section=section, position=position, number=number, title=data["title"],
                        body=data["body"], lead=data["lead"], members=data["members"],
                        deadline_text=data["deadline_text"], starts_on=_iso_date(data["starts_on"]),
                        due_on=_iso_date(data["due_on"]), ongoing=data["ongoing"],
                        needs_review=(label_section, number) in flagged)
            task.requirements = [_requirement(r, kind_ids) for r in data["requirements"]]
            _set_assignment_ids(task, _default_unit_ids(_levels(task), plan, units))
            db.session.add(task)
    return position


def _plan_title(parsed: dict) -> str:
    return (parsed["title"] or _("Work plan %(year)s", year=parsed["year"]))[:200]


def _warnings(parsed: dict) -> str:
    """The reader's warnings, plus one for every heading too long to keep whole (never a silent cut)."""
    warnings = list(parsed["warnings"])
    if len(parsed["title"] or "") > 200:
        warnings.append("方案标题超过 200 字，只保存了前 200 字，请核对")
    for section in parsed["sections"]:
        if len(section["title"]) > 300:
            warnings.append(f"第{section['number']}部分的标题超过 300 字，只保存了前 300 字，请核对")
    return json.dumps(warnings, ensure_ascii=False)


def create_draft(document: Document, unit: Unit) -> Plan:
    """A new draft plan owned by `unit` from a read document."""
    parsed = document.parsed
    plan = Plan(unit_id=unit.id, unit=unit, year=parsed["year"], title=_plan_title(parsed), status="draft",
                source_filename=document.filename[:255] or None, source_text=document.source_text,
                warnings=_warnings(parsed))
    db.session.add(plan)
    db.session.flush()
    task_count = _fill_plan(plan, parsed)
    record("plan", plan.id, "import", unit_id=plan.unit_id,
           after={"title": plan.title, "year": plan.year, "tasks": task_count, "file": plan.source_filename})
    db.session.commit()
    return plan


def replace_content(plan: Plan, document: Document) -> None:
    """Re-import onto a draft: the document's sections and tasks replace the current ones."""
    _require_draft(plan)
    before = {"title": plan.title, "tasks": len(plan.tasks)}
    plan.tasks.clear()
    db.session.flush()
    plan.sections.clear()
    db.session.flush()
    parsed = document.parsed
    plan.title = _plan_title(parsed)
    plan.warnings = _warnings(parsed)
    plan.source_filename = document.filename[:255] or None
    plan.source_text = document.source_text
    task_count = _fill_plan(plan, parsed)
    record("plan", plan.id, "reimport", unit_id=plan.unit_id, before=before,
           after={"title": plan.title, "tasks": task_count, "file": plan.source_filename})
    db.session.commit()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="plan-reimport")


def reimport_token(plan: Plan, document: Document) -> str:
    """The read document, signed, so the confirmation replaces exactly what the admin saw in the diff."""
    return _serializer().dumps({"plan": plan.id, "parsed": document.parsed, "filename": document.filename,
                                "source_text": document.source_text})


def document_from_token(plan: Plan, token: str) -> Document:
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        raise PlanError(_("The confirmation is not valid. Upload the document again."))
    if payload.get("plan") != plan.id:
        raise PlanError(_("The confirmation is not valid. Upload the document again."))
    return Document(payload["parsed"], payload["filename"], payload["source_text"])


# ---- inline edits on a draft --------------------------------------------------------------------

def _require_draft(plan: Plan) -> None:
    if plan.status != "draft":
        raise PlanError(_("A published plan cannot be changed."))




def update_task(task: Task, values: dict[str, Any]) -> None:
    """Save a task's fields. A changed time limit re-reads its dates (unless the dates were changed in the same
    edit) and the plan's warnings about time limits are worked out again."""
    _require_draft(task.plan)
    values = dict(values)
    limit = None
    if "deadline_text" in values and values["deadline_text"] != (task.deadline_text or ""):
        limit = parse_time_limit(values["deadline_text"], task.plan.year)
        dates_kept = all(values.get(name, getattr(task, name)) == getattr(task, name)
                         for name in ("starts_on", "due_on", "ongoing"))
        if dates_kept:
            values.update(starts_on=limit.starts_on, due_on=limit.due_on, ongoing=limit.ongoing)
    record_changes("task", task.id, task.plan.unit_id, apply_changes(task, values, TASK_FIELDS))
    task.plan.warnings = json.dumps(refreshed_warnings(task.plan, task, limit), ensure_ascii=False)
    db.session.commit()


NO_TIME_LIMIT = "以下任务没有工作时限："


def _task_labels(plan: Plan) -> dict[int, str]:
    """The reader's names for tasks in warnings: 任务8, or 二、任务8 when numbers repeat across sections."""
    numbers = [task.number for section in plan.sections for task in section.tasks]
    duplicates = {n for n in numbers if numbers.count(n) > 1}
    return {task.id: f"{section.number}、任务{task.number}" if task.number in duplicates and section.number
            else f"任务{task.number}" for section in plan.sections for task in section.tasks}


def refreshed_warnings(plan: Plan, edited: Task, limit) -> list[str]:
    """The plan's warnings after `edited` changed: its old time-limit warnings replaced by `limit`'s (if its
    time limit was re-read), and the list of tasks without a time limit worked out from the tasks as they are."""
    labels = _task_labels(plan)
    label = labels.get(edited.id, f"任务{edited.number}")
    warnings = [w for w in json.loads(plan.warnings or "[]") if not w.startswith(NO_TIME_LIMIT)]
    if limit is not None:
        warnings = [w for w in warnings if not w.startswith(f"{label}：工作时限")]
        warnings += [f"{label}：{w}" for w in limit.warnings]
    missing = [labels[task.id] for section in plan.sections for task in section.tasks
               if not (task.deadline_text or "").strip()]
    if missing:
        warnings.append(f"{NO_TIME_LIMIT}{'、'.join(missing)}")
    return warnings


def update_section(section: Section, title: str) -> None:
    _require_draft(section.plan)
    record_changes("section", section.id, section.plan.unit_id, apply_changes(section, {"title": title}))
    db.session.commit()


def update_requirement(requirement: Requirement, values: dict[str, Any]) -> None:
    task = requirement.task
    _require_draft(task.plan)
    levels_before = _levels(task)
    changes = apply_changes(requirement, values, REQUIREMENT_FIELDS)
    if "kind" in changes:
        requirement.kind_id = _kind_ids(task.plan.unit).get(requirement.kind)
    _follow_requirements(task, levels_before)
    record_changes("requirement", requirement.id, task.plan.unit_id, changes)
    db.session.commit()


def add_requirement(task: Task, values: dict[str, Any]) -> Requirement:
    _require_draft(task.plan)
    levels_before = _levels(task)
    requirement = _requirement({**values, "text": ""}, _kind_ids(task.plan.unit))
    task.requirements.append(requirement)
    _follow_requirements(task, levels_before)
    db.session.flush()
    record("requirement", requirement.id, "create", unit_id=task.plan.unit_id,
           after={field: getattr(requirement, field) for field in REQUIREMENT_FIELDS})
    db.session.commit()
    return requirement


def delete_requirement(requirement: Requirement) -> None:
    task = requirement.task
    _require_draft(task.plan)
    levels_before = _levels(task)
    record("requirement", requirement.id, "delete", unit_id=task.plan.unit_id,
           before={field: getattr(requirement, field) for field in REQUIREMENT_FIELDS})
    task.requirements.remove(requirement)
    _follow_requirements(task, levels_before)
    db.session.commit()


# ---- assignment and publishing ------------------------------------------------------------------

def _add_ledger_row(task: Task, unit_id: int) -> None:
    row = LedgerRow(task=task, unit_id=unit_id, lead=task.lead, members=task.members, version=1)
    db.session.add(row)
    db.session.flush()
    record("ledger_row", row.id, "create", unit_id=unit_id, after={"task": task.id, "plan": task.plan_id})


def set_assignments(task: Task, unit_ids: set[int]) -> None:
    """The admin's choice of units for a task. On a published plan units can only be added
    (each new one gets its ledger row); removing a unit that may have edited its row is not offered."""
    plan = task.plan
    unit_ids = unit_ids & {unit.id for unit in active_units_under(plan.unit)}
    before = sorted(assignment.unit_id for assignment in task.assignments)
    if plan.status == "published":
        for unit_id in sorted(unit_ids - set(before)):
            task.assignments.append(TaskAssignment(unit_id=unit_id))
            _add_ledger_row(task, unit_id)
    else:
        _set_assignment_ids(task, unit_ids)
    after = sorted(assignment.unit_id for assignment in task.assignments)
    if after != before:
        record("task", task.id, "assign", unit_id=plan.unit_id, field="assignments", before=before, after=after)
    db.session.commit()


def _resolve_kinds(plan: Plan) -> None:
    """Link every requirement to a kind visible from the plan's unit by name; the plan's unit owns the new ones.
    Checks, assessments and reports (reader.REPORT_KINDS) are not activities: linked only to a kind that exists."""
    kinds = kinds_visible_from(plan.unit)
    for task in plan.tasks:
        for requirement in task.requirements:
            kind = kinds.get(requirement.kind)
            if kind is None and requirement.kind in REPORT_KINDS:
                continue
            if kind is None:
                kind = ActivityKind(unit_id=plan.unit_id, name=requirement.kind, cadence=requirement.cadence,
                                    count=requirement.count, level=requirement.level, position=len(kinds))
                db.session.add(kind)
                db.session.flush()
                record("activity_kind", kind.id, "create", unit_id=plan.unit_id, after={"name": kind.name})
                kinds[kind.name] = kind
            requirement.kind_id = kind.id


def publish(plan: Plan) -> int:
    """Publish a draft: one ledger row per (task, assigned unit). Returns the number of ledger rows."""
    _require_draft(plan)
    if not plan.tasks:
        raise PlanError(_("A plan without tasks cannot be published."))
    _resolve_kinds(plan)
    rows = 0
    for task in plan.tasks:
        for assignment in task.assignments:
            _add_ledger_row(task, assignment.unit_id)
            rows += 1
    plan.status = "published"
    plan.published_at = utcnow()
    record("plan", plan.id, "publish", unit_id=plan.unit_id, field="status", before="draft", after="published")
    db.session.commit()
    return rows


# ---- copy to the next year ----------------------------------------------------------------------

def _next_year_date(day: date | None) -> date | None:
    if day is None:
        return None
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _next_year_text(text: str, year: int) -> str:
    return text.replace(f"{year}年", f"{year + 1}年")


def copy_to_next_year(plan: Plan) -> Plan:
    """A new draft for the following year: same sections, tasks, requirements and assignments,
    dates and "YYYY年" one year on, no ledger rows."""
    if plan.status != "published":
        raise PlanError(_("Only a published plan can be copied to the next year."))
    year = plan.year
    active_ids = {unit.id for unit in active_units_under(plan.unit)}
    copy = Plan(unit_id=plan.unit_id, unit=plan.unit, year=year + 1, title=_next_year_text(plan.title, year)[:200],
                status="draft", source_filename=plan.source_filename, warnings="[]")
    db.session.add(copy)
    sections = {}
    for section in plan.sections:
        sections[section.id] = Section(plan=copy, position=section.position, number=section.number,
                                       title=_next_year_text(section.title, year))
        db.session.add(sections[section.id])
    for task in plan.tasks:
        new_task = Task(plan=copy, section=sections[task.section_id], position=task.position, number=task.number,
                        title=_next_year_text(task.title, year), body=_next_year_text(task.body, year),
                        lead=task.lead, members=task.members, deadline_text=_next_year_text(task.deadline_text, year),
                        starts_on=_next_year_date(task.starts_on), due_on=_next_year_date(task.due_on),
                        ongoing=task.ongoing, needs_review=False)
        db.session.add(new_task)
        new_task.requirements = [
            Requirement(text=r.text, kind=r.kind, kind_id=r.kind_id, cadence=r.cadence, count=r.count,
                        weekday=r.weekday, level=r.level, include_children=r.include_children)
            for r in task.requirements]
        new_task.assignments = [TaskAssignment(unit_id=a.unit_id) for a in task.assignments
                                if a.unit_id in active_ids]
    db.session.flush()
    record("plan", copy.id, "copy", unit_id=copy.unit_id, after={"from_plan": plan.id, "year": copy.year})
    db.session.commit()
    return copy
