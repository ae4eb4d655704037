"""One world for the hostile-input tests: the same objects in our college and in the foreign one.

Every text the foreign college owns carries FOREIGN_MARK, every text ours owns carries OUR_MARK, so
"no foreign data in any answer" is one substring search over the answer (xlsx answers are unzipped).
"Own" objects live in class1 (every user of our college can see it) and in foreign_class, a class
the world adds under foreign_branch, so both colleges have the same shape; plans are issued by the
general branches.
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from webapp.auth.sessions import SESSION_KEY, start_session
from webapp.demo import ensure_activity_kinds
from webapp.extensions import db
from webapp.org import add_unit
from webapp.models import (Activity, ActivityKind, ApiToken, AuditEntry, LedgerRow, Plan, PrereviewFile,
                           PrereviewItem, PrereviewKind, PrereviewStep, Requirement, Section, StoredFile, Task,
                           TaskAssignment, Unit, User)
from webapp.prereview.services import ensure_kinds as ensure_prereview_kinds

from .conftest import csrf_token_from

OUR_MARK = "OUR-MARK"
FOREIGN_MARK = "FOREIGN-MARK"

# Role name in the matrix → (org user key, side, role as the app knows it).
ROLES = {
    "admin": ("admin", "our", "admin"), "secretary": ("secretary", "our", "secretary"),
    "staff": ("staff2", "our", "staff"), "monitor": ("monitor1", "our", "monitor"),
    "foreign_admin": ("foreign_admin", "foreign", "admin"), "foreign_staff": ("foreign_staff", "foreign", "staff"),
}
# The college each side lives in: (general unit key, the class where its "own" objects live, its users).
SIDES = {
    "our": ("general", "class1", ["admin", "secretary", "staff1", "staff2", "staff3", "monitor1", "monitor3"]),
    "foreign": ("foreign", "foreign_class", ["foreign_admin", "foreign_staff"]),
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def other(side: str) -> str:
    return "foreign" if side == "our" else "our"


@dataclass
class Side:
    """The ids of one college's objects, by the name the authorization policy fills URLs with."""
    mark: str
    ids: dict[str, int | str] = field(default_factory=dict)


def _marked(mark: str, what: str) -> str:
    return f"{mark}-{what}"


def _college(org, side: str) -> Side:
    mark = OUR_MARK if side == "our" else FOREIGN_MARK
    general_key, own_key, user_keys = SIDES[side]
    if own_key not in org.units:
        org.units[own_key] = add_unit("外语2023级1班", "class", db.session.get(Unit, org.units["foreign_branch"])).id
    general, own = org.units[general_key], org.units[own_key]
    result = Side(mark)
    for unit in db.session.execute(select(Unit).where(Unit.path.startswith(f"/{general}/"))).scalars():
        unit.name = f"{unit.name}{_marked(mark, 'unit')}"
    for key in user_keys:
        user = db.session.get(User, org.users[key])
        user.display_name = f"{user.display_name}{_marked(mark, 'user')}"
    year = date.today().year
    # Each college has its own standard kinds (owned by its general branch), like any other object.
    ensure_activity_kinds(db.session.get(Unit, general))
    kind = db.session.execute(select(ActivityKind).where(ActivityKind.name == "主题班会",
                                                         ActivityKind.unit_id == general)).scalar_one()

    def text(what: str) -> str:
        return _marked(mark, what)

    db.session.add(ActivityKind(unit_id=general, name=text("kind"), cadence="month", count=1, level="class"))

    def plan(status: str) -> tuple[Plan, Section, Task, Requirement]:
        plan = Plan(unit_id=general, year=year, title=text(f"plan-{status}"), status=status,
                    source_text=text("source"), source_filename=f"{text('source')}.txt")
        section = Section(plan=plan, position=0, number="一", title=text("section"))
        task = Task(plan=plan, section=section, position=1, number=1, title=text("task-title"),
                    body=text("task-body"), lead=text("task-lead"), members=text("task-members"),
                    deadline_text=text("task-deadline"), due_on=date(year, 12, 31))
        requirement = Requirement(task=task, text=text("requirement"), kind=kind.name, kind_id=kind.id,
                                  cadence="month", count=1, level="class")
        db.session.add_all([plan, section, task, requirement,
                            TaskAssignment(task=task, unit_id=own), TaskAssignment(task=task, unit_id=general)])
        return plan, section, task, requirement

    published, _section, published_task, requirement = plan("published")
    draft, draft_section, draft_task, draft_requirement = plan("draft")
    spare_draft = plan("draft")[0]  # one to delete
    db.session.flush()
    rows = [LedgerRow(task_id=published_task.id, unit_id=unit_id, lead=text("row-lead"), members=text("row-members"),
                      progress=text("row-progress"), remarks=text("row-remarks"), status="in_progress")
            for unit_id in (own, general)]
    db.session.add_all(rows)
    held_on = max(date(year, 1, 1), date.today() - timedelta(days=3))
    activities = [Activity(unit_id=own, kind_id=kind.id, held_on=held_on, topic=text(f"topic-{status}"),
                           place=text("place"), host=text("host"), summary=text("summary"), present=10, expected=12,
                           review_comment=text("review"), status=status)
                  for status in ("draft", "submitted")]
    db.session.add_all(activities)
    db.session.flush()
    ledger_file = StoredFile(unit_id=own, ledger_row_id=rows[0].id, filename=f"{text('ledger-file')}.pdf",
                             content_type="application/pdf", size=len(PDF), sha256="0" * 64,
                             data=PDF + text("file-data").encode())
    activity_file = StoredFile(unit_id=own, activity_id=activities[0].id, filename=f"{text('activity-file')}.pdf",
                               content_type="application/pdf", size=len(PDF), sha256="0" * 64,
                               data=PDF + text("file-data").encode())
    db.session.add_all([ledger_file, activity_file])
    # An API token of the college's first user (the matrix tries to revoke the other college's).
    api_token = ApiToken(user_id=org.users[user_keys[0]], name=text("token"), token_hash=hashlib.sha256(
        text("token-secret").encode()).hexdigest(), prefix="tzk_test", can_write=True,
        expires_at=datetime(year + 1, 12, 31))
    db.session.add(api_token)
    db.session.flush()
    for entity, entity_id in (("ledger_row", rows[0].id), ("activity", activities[0].id), ("plan", published.id)):
        db.session.add(AuditEntry(entity=entity, entity_id=entity_id, action="update", unit_id=own,
                                  field="progress" if entity == "ledger_row" else "topic",
                                  before=text("audit-before"), after=text("audit-after")))
    prereview = _prereview(org, side, general, own, text)
    result.ids = {
        **prereview,
        "unit": own, "general": general, "row": rows[0].id, "ledger_file": ledger_file.id,
        "activity_file": activity_file.id, "activity": activities[0].id, "submitted_activity": activities[1].id,
        "plan": draft.id, "published_plan": published.id, "spare_draft": spare_draft.id, "task": draft_task.id, "section": draft_section.id,
        "requirement": draft_requirement.id, "published_requirement": requirement.id, "kind": kind.id,
        "user": org.users[user_keys[-1]], "parent": db.session.get(Unit, own).parent_id,
        "period": f"{held_on.year}-{held_on.month:02d}", "token": api_token.id,
    }
    return result


def _prereview(org, side: str, general: int, own: int, text) -> dict[str, int]:
    """A draft (with material), an item under review at 初审 (the branch's staff decide) and an approved one."""
    ensure_prereview_kinds(db.session.get(Unit, general))
    kind = db.session.execute(select(PrereviewKind).where(PrereviewKind.unit_id == general,
                                                          PrereviewKind.name == "讲座")).scalar_one()
    submitter = org.users["monitor1" if side == "our" else "foreign_admin"]
    held_on = date.today() + timedelta(days=30)
    items = {status: PrereviewItem(unit_id=own, kind_id=kind.id, title=text(f"prereview-{status}"), held_on=held_on,
                                   place=text("prereview-place"), speaker=text("prereview-speaker"),
                                   summary=text("prereview-summary"), status=status, stage=0,
                                   round=0 if status == "draft" else 1, created_by_id=submitter,
                                   submitted_by_id=None if status == "draft" else submitter)
             for status in ("draft", "submitted", "approved")}
    db.session.add_all(items.values())
    db.session.flush()
    db.session.add(PrereviewStep(item_id=items["submitted"].id, unit_id=own, round=1, stage=0, stage_name="初审",
                                 action="submit", comment=text("prereview-step"), user_id=submitter))
    material = PrereviewFile(unit_id=own, item_id=items["draft"].id, filename=f"{text('prereview-file')}.pdf",
                             content_type="application/pdf", size=len(PDF), sha256="0" * 64,
                             data=PDF + text("file-data").encode())
    db.session.add(material)
    db.session.flush()
    return {"prereview_item": items["draft"].id, "prereview_submitted": items["submitted"].id,
            "prereview_approved": items["approved"].id, "prereview_file": material.id, "prereview_kind": kind.id}


@dataclass
class World:
    our: Side
    foreign: Side

    def side(self, name: str) -> Side:
        return self.our if name == "our" else self.foreign


def build_world(org) -> World:
    """Both colleges' kinds, plans, ledgers, activities, files and audit entries; commits."""
    world = World(our=_college(org, "our"), foreign=_college(org, "foreign"))
    db.session.commit()
    return world


# ---- what a college owns: a fingerprint of every row ----------------------------------------------

# Tables that belong to no college: the login throttle's counts, the server-side sessions.
SHARED_TABLES = {"login_failure", "user_session"}
SHARED_TABLES |= {"met_rollup_stamp"}  # the dashboards' cache stamps: bookkeeping, row 0 shared by every college
SHARED_TABLES |= {"ledger_figure_stamp"}  # the ledger figures' cache stamps (issue 14h): bookkeeping like met_rollup_stamp


def college_fingerprint(general_id: int) -> str:
    """A hash of every row of every table that belongs to the college under `general_id` (unscoped)."""
    unit_ids = set(db.session.execute(select(Unit.id).where(Unit.path.startswith(f"/{general_id}/"))
                                      .execution_options(unscoped=True)).scalars())
    plan_ids = set(db.session.execute(select(Plan.id).where(Plan.unit_id.in_(unit_ids))
                                      .execution_options(unscoped=True)).scalars())
    task_ids = set(db.session.execute(select(Task.id).where(Task.plan_id.in_(plan_ids))
                                      .execution_options(unscoped=True)).scalars())
    digest = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        if table.name in SHARED_TABLES:
            continue
        columns = table.columns
        if table.name == "unit":
            owned = columns["id"].in_(unit_ids)
        elif "unit_id" in columns:
            owned = columns["unit_id"].in_(unit_ids)
        elif "plan_id" in columns:
            owned = columns["plan_id"].in_(plan_ids)
        elif "task_id" in columns:
            owned = columns["task_id"].in_(task_ids)
        elif "user_id" in columns:  # a person's own records (reminder settings, API tokens)
            owned = columns["user_id"].in_(select(User.id).where(User.unit_id.in_(unit_ids))
                                           .execution_options(unscoped=True).scalar_subquery())
        else:
            raise AssertionError(f"table {table.name} belongs to no college: decide in hostile_world.py")
        rows = db.session.execute(select(table).where(owned).order_by(*table.primary_key.columns)).all()
        digest.update(f"{table.name}:{[tuple(row) for row in rows]!r}".encode())
    return digest.hexdigest()


# ---- reading answers ------------------------------------------------------------------------------

def answer_text(response) -> str:
    """What an answer carries: its body, every part of an xlsx, and its headers."""
    data = response.get_data()
    parts = [data.decode("utf-8", "replace"), str(response.headers)]
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    return "\n".join(parts)


def csrf_for(client, path: str = "/") -> str:
    return csrf_token_from(client.get(path).get_data(as_text=True))


def log_in(app, org, key: str):
    """A fresh test client logged in as the org user `key` (no password check)."""
    client = app.test_client()
    with app.app_context():
        user = db.session.get(User, org.users[key])
        session_id, token = user.get_id(), start_session(user)
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
        session[SESSION_KEY] = token
    return client


def marks_in(text: str, mark: str) -> list[str]:
    """The distinct marked strings (e.g. FOREIGN-MARK-row-lead) found in `text`."""
    return sorted(set(re.findall(re.escape(mark) + r"-[\w-]+", text)))


def database_fingerprint() -> str:
    """A hash of every row of every table (server-side sessions are not data: using one touches it)."""
    digest = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        if table.name == "user_session":
            continue
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        digest.update(f"{table.name}:{[tuple(row) for row in rows]!r}".encode())
    return digest.hexdigest()
