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

from sqlalchemy import select, update

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


def _seed_tree_kinds(plan: Plan) -> None:
    """The standard kinds for the plan's tree, if it has none yet (a tree made before kinds were seeded)."""
    from ..activities.services import seed_standard_kinds
    from .queries import tree_top
    top = tree_top(plan.unit)
    if not kinds_visible_from(top):
        seed_standard_kinds(top)


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


class AlreadyDone(PlanError):
    """The action was already done (a second click, another tab): nothing changed; str() is for the user."""


def _claim_status(plan: Plan, before: str, after: str) -> None:
    """Move the plan from `before` to `after` in one UPDATE ... WHERE status = before, first thing in the
    transaction: of two identical requests (a double click, two workers) exactly one gets past here."""
    result = db.session.execute(update(Plan).where(Plan.id == plan.id, Plan.status == before)
                                .values(status=after).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        now = db.session.execute(select(Plan.status).where(Plan.id == plan.id)).scalar_one_or_none()
        raise AlreadyDone(_("Nothing changed: the plan is already %(status)s.",
                            status=plan_status_label(now or "deleted")))
    plan.status = after


def plan_status_label(status: str) -> str:
    from ..labels import PLAN_STATUS_LABELS
    return str(PLAN_STATUS_LABELS.get(status, status))


def publish(plan: Plan) -> int:
    """Publish a draft: one ledger row per (task, assigned unit). Returns the number of ledger rows."""
    _require_draft(plan)
    if not plan.tasks:
        raise PlanError(_("A plan without tasks cannot be published."))
    _claim_status(plan, "draft", "published")
    _seed_tree_kinds(plan)
    _resolve_kinds(plan)
    rows = 0
    for task in plan.tasks:
        for assignment in task.assignments:
            _add_ledger_row(task, assignment.unit_id)
            rows += 1
    plan.published_at = utcnow()
    record("plan", plan.id, "publish", unit_id=plan.unit_id, field="status", before="draft", after="published")
    db.session.commit()
    return rows


# ---- a plan's life after publishing ----------------------------------------------------------------

def withdraw(plan: Plan) -> None:
    """A published plan leaves every ledger, dashboard and grid; its rows, evidence and activities stay."""
    _claim_status(plan, "published", "withdrawn")
    record("plan", plan.id, "withdraw", unit_id=plan.unit_id, field="status", before="published", after="withdrawn")
    db.session.commit()


def restore(plan: Plan) -> None:
    _claim_status(plan, "withdrawn", "published")
    record("plan", plan.id, "restore", unit_id=plan.unit_id, field="status", before="withdrawn", after="published")
    db.session.commit()


def delete_draft(plan: Plan) -> None:
    """A draft has no ledger rows yet: it goes with its sections, tasks, requirements and assignments."""
    _claim_status(plan, "draft", "deleting")
    record("plan", plan.id, "delete", unit_id=plan.unit_id,
           before={"title": plan.title, "year": plan.year, "tasks": len(plan.tasks)})
    db.session.delete(plan)
    db.session.commit()


@dataclass
class PublishImpact:
    """What a confirmation says before a plan is withdrawn or published."""
    rows: int
    units: list[str]


def impact(plan: Plan) -> PublishImpact:
    """The plan's ledger rows (or, for a draft, the rows publishing would create) and the units they belong to."""
    from .queries import plan_row_units
    return PublishImpact(*plan_row_units(plan))


def publish_warnings(plan: Plan) -> list[str]:
    """What the admin should know before publishing: a likely duplicate, a year that differs from the document's."""
    from .queries import published_plans_of
    warnings = []
    titles = {task.title.strip() for task in plan.tasks}
    for other in published_plans_of(plan.unit_id, plan.year):
        if other.id in (plan.id, plan.revision_of_id):
            continue
        other_titles = {task.title.strip() for task in other.tasks if not task.archived}
        shared = len(titles & other_titles)
        if other.title.strip() == plan.title.strip() or (titles and shared * 2 >= len(titles)):
            warnings.append(_("%(unit)s already has a published plan for %(year)s, %(title)s, with %(shared)s of "
                              "these %(count)s tasks: publishing this one too lists them twice on every page.",
                              unit=plan.unit.name, year=plan.year, title=f"《{other.title}》", shared=shared,
                              count=len(titles)))
    title_year = document_year(plan.title)
    if title_year is not None and title_year != plan.year:
        warnings.append(_("The plan is for %(year)s but its title says %(title_year)s.",
                          year=plan.year, title_year=title_year))
    return warnings


_YEAR_RE = re.compile(r"(20\d\d|21\d\d)\s*年")


def document_year(title: str) -> int | None:
    found = _YEAR_RE.search(title or "")
    return int(found.group(1)) if found else None


# ---- a new version of a published plan ----------------------------------------------------------------

@dataclass
class RevisionResult:
    added: int
    archived: int
    changed: int
    rows_added: int


def revise_published(plan: Plan, document: Document) -> RevisionResult:
    """Apply a new version of the document to a published plan as a diff: new tasks get their ledger rows,
    tasks the document no longer has are archived (their rows keep their progress and leave the pages),
    changed tasks take the new text; what units wrote in their rows is never touched."""
    result = _apply_revision(plan, document)
    db.session.commit()
    return result


def _apply_revision(plan: Plan, document: Document) -> RevisionResult:
    """revise_published in the caller's transaction."""
    if plan.status != "published":
        raise PlanError(_("Only a published plan can take a new version this way."))
    # Serialise on the plan row: two confirmations of the same version apply once.
    db.session.execute(update(Plan).where(Plan.id == plan.id).values(title=Plan.title)
                       .execution_options(synchronize_session=False))
    from .diff import task_key_map
    parsed = document.parsed
    kind_ids = _kind_ids(plan.unit)
    units = active_units_under(plan.unit)
    current = task_key_map([task for task in plan.tasks])
    read = task_key_map([dict(task, section=section) for section in parsed["sections"] for task in section["tasks"]])
    sections = {section.title: section for section in plan.sections}
    result = RevisionResult(0, 0, 0, 0)
    position = max((task.position for task in plan.tasks), default=0)
    for key, task in current.items():
        if key not in read and not task.archived:
            task.archived = True
            result.archived += 1
            record("task", task.id, "archive", unit_id=plan.unit_id, field="archived", before=False, after=True)
    for key, data in read.items():
        section_data = data["section"]
        values = {"title": data["title"], "body": data["body"], "deadline_text": data["deadline_text"],
                  "starts_on": _iso_date(data["starts_on"]), "due_on": _iso_date(data["due_on"]),
                  "ongoing": data["ongoing"]}
        task = current.get(key)
        if task is not None:
            changes = apply_changes(task, {**values, "archived": False})
            if _revise_requirements(task, data["requirements"], kind_ids, units):
                changes["requirements"] = (None, None)
            if changes:
                result.changed += 1
                record_changes("task", task.id, plan.unit_id, {k: v for k, v in changes.items() if k != "requirements"})
            continue
        section = sections.get(section_data["title"][:300])
        if section is None:
            section = Section(plan=plan, position=len(sections), number=section_data["number"][:20],
                              title=section_data["title"][:300])
            db.session.add(section)
            sections[section.title] = section
        position += 1
        task = Task(plan=plan, section=section, position=position, number=data["number"] or position,
                    lead=data["lead"], members=data["members"], **values)
        task.requirements = [_requirement(r, kind_ids) for r in data["requirements"]]
        _set_assignment_ids(task, _default_unit_ids(_levels(task), plan, units))
        db.session.add(task)
        db.session.flush()
        record("task", task.id, "create", unit_id=plan.unit_id, after={"number": task.number, "title": task.title})
        result.added += 1
        for assignment in task.assignments:
            _add_ledger_row(task, assignment.unit_id)
            result.rows_added += 1
    _resolve_kinds(plan)
    title = (parsed.get("title") or plan.title)[:200]
    record_changes("plan", plan.id, plan.unit_id, apply_changes(plan, {"title": title}))
    record("plan", plan.id, "reimport", unit_id=plan.unit_id,
           after={"added": result.added, "archived": result.archived, "changed": result.changed,
                  "file": document.filename or None})
    return result


# ---- editing a published plan: a draft revision, published as a diff --------------------------------------

def start_revision(plan: Plan) -> Plan:
    """A draft copy of a published plan to edit; publishing it applies the differences to the plan.
    Asking again returns the draft revision already started."""
    if plan.status != "published":
        raise PlanError(_("Only a published plan can be edited as a new version."))
    db.session.execute(update(Plan).where(Plan.id == plan.id).values(title=Plan.title)
                       .execution_options(synchronize_session=False))
    from .queries import revision_draft_of
    existing = revision_draft_of(plan)
    if existing is not None:
        db.session.rollback()
        return existing
    draft = _copy_plan(plan, year=plan.year, shift=lambda text: text, revision_of_id=plan.id,
                       source_text=plan.source_text, keep=lambda task: not task.archived)
    record("plan", draft.id, "copy", unit_id=draft.unit_id, after={"from_plan": plan.id, "year": draft.year})
    db.session.commit()
    return draft


def _parsed_from(draft: Plan) -> dict:
    """A draft's content in the reader's shape, so a revision is applied exactly like a re-imported document."""
    return {"title": draft.title, "year": draft.year, "warnings": [], "sections": [{
        "number": section.number, "title": section.title, "tasks": [{
            "number": task.number, "title": task.title, "body": task.body, "lead": task.lead,
            "members": task.members, "deadline_text": task.deadline_text,
            "starts_on": task.starts_on.isoformat() if task.starts_on else None,
            "due_on": task.due_on.isoformat() if task.due_on else None, "ongoing": task.ongoing,
            "requirements": [{"text": r.text, "kind": r.kind, "cadence": r.cadence, "count": r.count,
                              "weekday": r.weekday, "level": r.level, "include_children": r.include_children}
                             for r in task.requirements]} for task in section.tasks]}
        for section in draft.sections]}


def publish_revision(draft: Plan) -> RevisionResult:
    """Publish a draft revision: its differences go onto the published plan, and the draft is gone."""
    original = draft.revision_of
    if original is None:
        raise PlanError(_("The plan this draft revises no longer exists."))
    _claim_status(draft, "draft", "deleting")
    result = _apply_revision(original, Document(_parsed_from(draft), draft.source_filename or "", None))
    record("plan", draft.id, "delete", unit_id=draft.unit_id,
           before={"title": draft.title, "year": draft.year, "tasks": len(draft.tasks)})
    db.session.delete(draft)
    db.session.commit()
    return result


def _requirement_key(values) -> tuple:
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    return (get("kind"), get("cadence"), get("count"), get("weekday"), get("level"))


def _revise_requirements(task: Task, read: list[dict], kind_ids: dict[str, int], units: list[Unit]) -> bool:
    """A changed task's obligations follow the new text; units they newly name get an assignment and a ledger row
    (no unit loses one: it may have written in it)."""
    if sorted(map(_requirement_key, task.requirements), key=str) == sorted(map(_requirement_key, read), key=str):
        return False
    for requirement in list(task.requirements):
        record("requirement", requirement.id, "delete", unit_id=task.plan.unit_id,
               before={field: getattr(requirement, field) for field in REQUIREMENT_FIELDS})
    task.requirements = [_requirement(values, kind_ids) for values in read]
    assigned = {assignment.unit_id for assignment in task.assignments}
    for unit_id in sorted(_default_unit_ids(_levels(task), task.plan, units) - assigned):
        task.assignments.append(TaskAssignment(unit_id=unit_id))
        _add_ledger_row(task, unit_id)
    db.session.flush()
    for requirement in task.requirements:
        record("requirement", requirement.id, "create", unit_id=task.plan.unit_id,
               after={field: getattr(requirement, field) for field in REQUIREMENT_FIELDS})
    return True


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
    dates and "YYYY年" one year on, no ledger rows. Copying again returns the draft already made."""
    if plan.status != "published":
        raise PlanError(_("Only a published plan can be copied to the next year."))
    # Serialise on the source plan's row, then look for the copy a first click already made.
    db.session.execute(update(Plan).where(Plan.id == plan.id).values(title=Plan.title)
                       .execution_options(synchronize_session=False))
    from .queries import draft_copy_of
    existing = draft_copy_of(plan, _next_year_text(plan.title, plan.year)[:200])
    if existing is not None:
        db.session.rollback()
        return existing
    year = plan.year
    copy = _copy_plan(plan, year=year + 1, shift=lambda text: _next_year_text(text, year), dates=_next_year_date,
                      keep=lambda task: not task.archived)
    record("plan", copy.id, "copy", unit_id=copy.unit_id, after={"from_plan": plan.id, "year": copy.year})
    db.session.commit()
    return copy


def _copy_plan(plan: Plan, *, year: int, shift, dates=lambda day: day, keep=lambda task: True,
               revision_of_id: int | None = None, source_text: str | None = None) -> Plan:
    """A draft with the plan's sections, tasks, requirements and assignments (texts through `shift`, dates through
    `dates`), no ledger rows; flushed, not committed."""
    active_ids = {unit.id for unit in active_units_under(plan.unit)}
    copy = Plan(unit_id=plan.unit_id, unit=plan.unit, year=year, title=shift(plan.title)[:200],
                status="draft", source_filename=plan.source_filename, source_text=source_text, warnings="[]",
                revision_of_id=revision_of_id)
    db.session.add(copy)
    sections = {}
    for section in plan.sections:
        sections[section.id] = Section(plan=copy, position=section.position, number=section.number,
                                       title=shift(section.title))
        db.session.add(sections[section.id])
    for task in plan.tasks:
        if not keep(task):
            continue
        new_task = Task(plan=copy, section=sections[task.section_id], position=task.position, number=task.number,
                        title=shift(task.title), body=shift(task.body),
                        lead=task.lead, members=task.members, deadline_text=shift(task.deadline_text),
                        starts_on=dates(task.starts_on), due_on=dates(task.due_on),
                        ongoing=task.ongoing, needs_review=False)
        db.session.add(new_task)
        new_task.requirements = [
            Requirement(text=r.text, kind=r.kind, kind_id=r.kind_id, cadence=r.cadence, count=r.count,
                        weekday=r.weekday, level=r.level, include_children=r.include_children)
            for r in task.requirements]
        new_task.assignments = [TaskAssignment(unit_id=a.unit_id) for a in task.assignments
                                if a.unit_id in active_ids]
    db.session.flush()
    return copy
