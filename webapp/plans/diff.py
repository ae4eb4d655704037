"""What re-importing a document would change in a draft plan: tasks added, removed and changed.

Tasks are matched by number (and, when a number repeats, by its n-th occurrence), since the
number is what people refer to when they discuss the plan.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..models import Plan

COMPARED_FIELDS = ("section", "title", "body", "lead", "members", "deadline_text", "starts_on", "due_on", "ongoing")

RequirementKey = tuple  # (kind, cadence, count, weekday, level)


@dataclass
class FieldChange:
    field: str
    before: object
    after: object


@dataclass
class TaskChange:
    number: int
    title: str
    fields: list[FieldChange] = field(default_factory=list)
    requirements_before: list[RequirementKey] = field(default_factory=list)
    requirements_after: list[RequirementKey] = field(default_factory=list)

    @property
    def requirements_changed(self) -> bool:
        return self.requirements_before != self.requirements_after


@dataclass
class PlanDiff:
    title_before: str
    title_after: str
    added: list[tuple[int, str]] = field(default_factory=list)
    removed: list[tuple[int, str]] = field(default_factory=list)
    changed: list[TaskChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return self.title_before == self.title_after and not (self.added or self.removed or self.changed)


def _requirement_keys(requirements) -> list[RequirementKey]:
    return sorted((r["kind"], r["cadence"], r["count"], r["weekday"], r["level"]) for r in requirements)


def _keyed(tasks: list[dict]) -> dict[tuple[int, int], dict]:
    seen: Counter = Counter()
    keyed = {}
    for task in tasks:
        keyed[(task["number"], seen[task["number"]])] = task
        seen[task["number"]] += 1
    return keyed


def task_key_map(tasks: list) -> dict[tuple[int, int], object]:
    """Tasks (models or the reader's dicts) by (number, n-th occurrence of that number): how versions are matched."""
    seen: Counter = Counter()
    keyed = {}
    for task in tasks:
        number = task["number"] if isinstance(task, dict) else task.number
        keyed[(number, seen[number])] = task
        seen[number] += 1
    return keyed


def _current_tasks(plan: Plan) -> list[dict]:
    """The plan's tasks in the reader's shape, so both sides compare value for value."""
    return [{
        "section": task.section.title, "number": task.number, "title": task.title, "body": task.body,
        "lead": task.lead, "members": task.members, "deadline_text": task.deadline_text,
        "starts_on": task.starts_on.isoformat() if task.starts_on else None,
        "due_on": task.due_on.isoformat() if task.due_on else None, "ongoing": task.ongoing,
        "requirements": [{"kind": r.kind, "cadence": r.cadence, "count": r.count, "weekday": r.weekday,
                          "level": r.level} for r in task.requirements],
    } for task in plan.tasks]


def _read_tasks(parsed: dict) -> list[dict]:
    return [{**task, "section": section["title"]} for section in parsed["sections"] for task in section["tasks"]]


def diff_plan(plan: Plan, parsed: dict) -> PlanDiff:
    before, after = _keyed(_current_tasks(plan)), _keyed(_read_tasks(parsed))
    diff = PlanDiff(title_before=plan.title, title_after=parsed["title"] or plan.title)
    diff.added = [(task["number"], task["title"]) for key, task in after.items() if key not in before]
    diff.removed = [(task["number"], task["title"]) for key, task in before.items() if key not in after]
    for key, old in before.items():
        new = after.get(key)
        if new is None:
            continue
        change = TaskChange(number=new["number"], title=new["title"],
                            fields=[FieldChange(name, old[name], new[name]) for name in COMPARED_FIELDS
                                    if old[name] != new[name]],
                            requirements_before=_requirement_keys(old["requirements"]),
                            requirements_after=_requirement_keys(new["requirements"]))
        if change.fields or change.requirements_changed:
            diff.changed.append(change)
    return diff
