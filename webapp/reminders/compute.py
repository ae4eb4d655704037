"""What is due to whom on a day: every reminder that should exist, computed with a fixed set of queries.

One query each for units, recipients, ledger rows near or past their time limit, submitted and returned
activities, newly published plans and recent nudges, plus the compliance computation's fixed queries for
the obligations; the rest is dictionary look-ups in Python, so the cost does not grow with a query per
user or per unit. Only published plans count (a withdrawn or draft plan reminds nobody); deactivated
users and units get nothing. Every candidate lies inside a window of at most WINDOW_DAYS, shorter than
the 90 days read reminders are kept, so a purged reminder is never computed again.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from flask import current_app, url_for
from sqlalchemy import and_, select

from ..extensions import db
from ..permissions import system_job_options
from ..models import Activity, ActivityCounter, LedgerRow, Nudge, Plan, Task, Unit, User

WINDOW_DAYS = 60
EXCERPT = 60


class Candidate(NamedTuple):  # a tuple: hundreds of thousands are made per run
    user_id: int
    unit_id: int  # the unit the reminder is about
    kind: str
    item: str
    period: str
    about: str
    url: str

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.kind, self.item, self.period, self.user_id)


@dataclass(frozen=True)
class UnitInfo:
    id: int
    name: str
    kind: str
    parent_id: int | None
    path: str
    active: bool

    @property
    def ancestors_nearest_first(self) -> list[int]:
        """Ids of the units above this one, the parent first (read off the path)."""
        return [int(part) for part in reversed(self.path.strip("/").split("/")) if part][1:]


class Directory:
    """Units and active people, loaded once: who gets a unit's reminders, who reviews, who is the secretary."""

    def __init__(self):
        self.units = {row.id: UnitInfo(*row) for row in db.session.execute(
            select(Unit.id, Unit.name, Unit.kind, Unit.parent_id, Unit.path, Unit.active)
            .execution_options(**system_job_options()))}
        self.people: dict[tuple[int, str], list[int]] = defaultdict(list)
        self.users: dict[int, tuple[str, int]] = {}  # id -> (username, unit id)
        rows = db.session.execute(
            select(User.id, User.username, User.role, User.unit_id).where(User.active.is_(True))
            .order_by(User.id).execution_options(**system_job_options()))
        for user_id, username, role, unit_id in rows:
            unit = self.units.get(unit_id)
            if unit is None or not unit.active:
                continue
            self.people[(unit_id, role)].append(user_id)
            self.users[user_id] = (username, unit_id)

    def active(self, unit_id: int) -> bool:
        unit = self.units.get(unit_id)
        return unit is not None and unit.active

    def workers(self, unit_id: int) -> list[int]:
        """Who does a unit's work: its staff and class monitors; a unit with neither, its secretaries."""
        people = self.people.get((unit_id, "staff"), []) + self.people.get((unit_id, "monitor"), [])
        return people or self.people.get((unit_id, "secretary"), [])

    def reviewers(self, unit_id: int) -> list[int]:
        """The nearest reviewers of a unit's activities (can_review_activity): staff of the closest unit above
        that has staff, else admins of the closest unit (itself or above) that has admins."""
        unit = self.units[unit_id]
        for ancestor in unit.ancestors_nearest_first:
            if self.active(ancestor) and self.people.get((ancestor, "staff")):
                return self.people[(ancestor, "staff")]
        for candidate in [unit_id, *unit.ancestors_nearest_first]:
            if self.active(candidate) and self.people.get((candidate, "admin")):
                return self.people[(candidate, "admin")]
        return []

    def secretaries_above(self, unit_id: int) -> list[int]:
        parent = self.units[unit_id].parent_id
        return self.people.get((parent, "secretary"), []) if parent and self.active(parent) else []


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def _task_label(number: int, title: str) -> str:
    return _excerpt(f"{number}. {title}" if number else title)


def candidates(as_of: date, directory: Directory | None = None) -> list[Candidate]:
    """Every reminder that should exist on `as_of` (new or already stored)."""
    directory = directory or Directory()
    config = current_app.config
    due_days = int(config.get("REMINDER_DUE_DAYS", 7))
    obligation_days = int(config.get("REMINDER_OBLIGATION_DAYS", 5))
    result: list[Candidate] = []
    result += _ledger_rows(as_of, due_days, directory)
    result += _obligations(as_of, obligation_days, directory)
    result += _activities(as_of, directory)
    result += _plans(as_of, due_days, directory)
    result += _nudges(as_of, due_days, directory)
    return result


def _ledger_rows(as_of: date, due_days: int, directory: Directory) -> list[Candidate]:
    query = (select(LedgerRow.id, LedgerRow.unit_id, Task.due_on, Task.number, Task.title)
             .join(Task, LedgerRow.task_id == Task.id).join(Plan, Task.plan_id == Plan.id)
             .where(Plan.status == "published", LedgerRow.status != "done",
                    Task.due_on >= as_of - timedelta(days=WINDOW_DAYS), Task.due_on <= as_of + timedelta(days=due_days))
             .execution_options(**system_job_options()))
    result = []
    for row_id, unit_id, due_on, number, title in db.session.execute(query):
        if not directory.active(unit_id):
            continue
        url = url_for("ledger.unit_ledger", unit_id=unit_id, _anchor=f"row-{row_id}")
        label = _task_label(number, title)
        period = due_on.isoformat()
        kind = "due_soon" if due_on >= as_of else "overdue"
        for user_id in directory.workers(unit_id):
            result.append(Candidate(user_id, unit_id, kind, f"row:{row_id}", period, label, url))
        if kind == "overdue":
            for user_id in directory.secretaries_above(unit_id):
                result.append(Candidate(user_id, unit_id, "overdue_below", f"row:{row_id}", period, label, url))
    return result


def _obligations(as_of: date, days_left: int, directory: Directory) -> list[Candidate]:
    """Obligations not met yet in a current period that ends within `days_left` days (today counted).

    The compliance computation's own pieces (obligations, owing units, assignments, the approved-count
    query and `state_for`), but counting only the periods that are about to end: the whole year's grid
    of a university is far more than a reminder run needs.
    """
    from ..activities import compliance
    from ..activities.periods import periods, state_for
    year = as_of.year
    obligations = compliance.obligations_of_year(year)
    semesters = current_app.config.get("SEMESTERS")
    ending: dict[str, list] = {}
    for cadence in {obligation.cadence for obligation in obligations}:
        current = next((p for p in periods(cadence, year, semesters) if p.start <= as_of <= p.end), None)
        if current is not None and (current.end - as_of).days + 1 <= days_left:
            ending[cadence] = [current]
    obligations = [obligation for obligation in obligations if obligation.cadence in ending]
    if not obligations:
        return []
    units = compliance.units_in_scope()
    assigned = compliance._assigned_units(year)
    tally = compliance._Tally(_approved_counts(obligations, ending), units,
                              rollup_kind_ids={o.kind_id for o in obligations if o.include_children})
    result = []
    for obligation in obligations:
        period = ending[obligation.cadence][0]
        for unit in compliance.owing_units(obligation, units, assigned.get(obligation.task_id)):
            counts = tally.counts(unit.id, obligation.kind_id, obligation.include_children)
            done = counts.get((obligation.cadence, period.label), 0)
            if state_for(period, obligation.count, done, as_of) != "in_progress" or not directory.active(unit.id):
                continue
            url = url_for("activities.compliance_cell", unit=unit.id, requirement=obligation.id, period=period.label)
            about = _excerpt(f"{obligation.kind} {period.label}（{done}/{obligation.count}）")
            item = f"obligation:{obligation.id}:{unit.id}"
            for user_id in directory.workers(unit.id):
                result.append(Candidate(user_id, unit.id, "obligation", item, period.label, about, url))
    return result


def _approved_counts(obligations, ending: dict[str, list]) -> list[tuple[int, int, str, str, int]]:
    """Approved activities per unit of each (kind, ending period), read off the activity counters: one small
    query per pair (the pairs are bounded by the plan's requirements, not by the data)."""
    rows = []
    for kind_id, cadence in sorted({(o.kind_id, o.cadence) for o in obligations if o.kind_id is not None}):
        period = ending[cadence][0]
        query = (select(ActivityCounter.unit_id, ActivityCounter.approved)
                 .where(ActivityCounter.kind_id == kind_id, ActivityCounter.cadence == cadence,
                        ActivityCounter.period == period.label, ActivityCounter.approved > 0)
                 .execution_options(**system_job_options()))
        rows += [(unit_id, kind_id, cadence, period.label, number) for unit_id, number in db.session.execute(query)]
    return rows


def _activities(as_of: date, directory: Directory) -> list[Candidate]:
    since = datetime.combine(as_of - timedelta(days=WINDOW_DAYS), datetime.min.time())
    submitted = and_(Activity.status == "submitted", Activity.updated_at >= since)
    returned = and_(Activity.status == "returned", Activity.reviewed_at >= since)
    query = (select(Activity.id, Activity.unit_id, Activity.status, Activity.topic, Activity.version,
                    Activity.reviewed_at, Activity.created_by_id)
             .where(submitted | returned).execution_options(**system_job_options()))
    result = []
    for activity_id, unit_id, status, topic, version, reviewed_at, created_by_id in db.session.execute(query):
        if not directory.active(unit_id):
            continue
        url = url_for("activities.detail", activity_id=activity_id)
        if status == "submitted":
            for user_id in directory.reviewers(unit_id):
                result.append(Candidate(user_id, unit_id, "review", f"activity:{activity_id}", f"v{version}",
                                        _excerpt(topic), url))
        elif created_by_id in directory.users and reviewed_at is not None:
            result.append(Candidate(created_by_id, unit_id, "returned", f"activity:{activity_id}",
                                    reviewed_at.isoformat(timespec="seconds"), _excerpt(topic), url))
    return result


def _plans(as_of: date, days: int, directory: Directory) -> list[Candidate]:
    """A plan published in the last `days` days: the staff of each unit that got ledger rows from it, once."""
    since = datetime.combine(as_of - timedelta(days=days), datetime.min.time())
    query = (select(Plan.id, Plan.title, LedgerRow.unit_id).distinct()
             .join(Task, Task.plan_id == Plan.id).join(LedgerRow, LedgerRow.task_id == Task.id)
             .where(Plan.status == "published", Plan.published_at >= since)
             .execution_options(**system_job_options()))
    result = []
    for plan_id, title, unit_id in db.session.execute(query):
        if not directory.active(unit_id):
            continue
        url = url_for("ledger.unit_ledger", unit_id=unit_id)
        for user_id in directory.workers(unit_id):
            result.append(Candidate(user_id, unit_id, "plan", f"plan:{plan_id}", "", _excerpt(title), url))
    return result


def _nudges(as_of: date, days: int, directory: Directory) -> list[Candidate]:
    since = datetime.combine(as_of - timedelta(days=days), datetime.min.time())
    query = (select(Nudge.id, Nudge.unit_id, Nudge.about, Nudge.note)
             .where(Nudge.created_at >= since).execution_options(**system_job_options()))
    result = []
    for nudge in db.session.execute(query):
        if directory.active(nudge.unit_id):
            result += nudge_candidates(nudge.id, nudge.unit_id, nudge.about, nudge.note, directory.workers(nudge.unit_id))
    return result


def nudge_candidates(nudge_id: int, unit_id: int, about: str, note: str, user_ids: list[int]) -> list[Candidate]:
    from flask_babel import force_locale
    from .labels import nudge_about_text
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):  # stored text: in the site's language
        text = _excerpt(f"{nudge_about_text(about)}{('：' + note) if note else ''}")
    url = nudge_target_url(unit_id, about)
    return [Candidate(user_id, unit_id, "nudge", f"nudge:{nudge_id}", "", text, url) for user_id in user_ids]


def nudge_target_url(unit_id: int, about: str) -> str:
    if about == "obligations":
        return url_for("activities.unit_obligations", unit_id=unit_id)
    if about == "overdue":
        return url_for("ledger.unit_ledger", unit_id=unit_id, overdue="1")
    return url_for("ledger.unit_ledger", unit_id=unit_id)
