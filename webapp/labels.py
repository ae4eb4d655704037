"""What people read for the codes the data stores: statuses, roles, fields, cadences, levels.

One place for every page, the change log and the Excel exports (msgids in English, Chinese through gettext).
"""
from __future__ import annotations

from typing import Iterator, Mapping

from flask_babel import force_locale, lazy_gettext as _l

LEDGER_STATUS_LABELS = {"not_started": _l("Not started"), "in_progress": _l("In progress"), "done": _l("Done")}
ACTIVITY_STATUS_LABELS = {"draft": _l("Draft"), "submitted": _l("Awaiting review"), "approved": _l("Approved"),
                          "returned": _l("Returned")}
PLAN_STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published"), "withdrawn": _l("Withdrawn"),
                      "deleted": _l("Deleted")}
PREREVIEW_STATUS_LABELS = {"draft": _l("Draft"), "submitted": _l("Under review"), "returned": _l("Returned"),
                           "approved": _l("Approved"), "rejected": _l("Rejected"), "held": _l("Held"),
                           "cancelled": _l("Cancelled"), "published": _l("Published")}
COMPLIANCE_STATE_LABELS = {"met": _l("Met"), "missing": _l("Missing"), "in_progress": _l("In progress"),
                           "upcoming": _l("Upcoming")}

ROLE_LABELS = {"admin": _l("Administrator"), "secretary": _l("Secretary"), "staff": _l("Branch staff"),
               "monitor": _l("Class monitor")}
UNIT_KIND_LABELS = {"university": _l("Party committee"), "general": _l("General branch"),
                    "branch": _l("Branch"), "class": _l("Class")}
CATEGORY_LABELS = {"faculty": _l("Faculty"), "student": _l("Student")}

CADENCE_LABELS = {"week": _l("Weekly"), "month": _l("Monthly"), "quarter": _l("Quarterly"),
                  "semester": _l("Each semester"), "year": _l("Yearly")}
LEVEL_LABELS = {"general": _l("General branch"), "branch": _l("Every branch"),
                "faculty_branch": _l("Faculty branches"), "student_branch": _l("Student branches"),
                "class": _l("Every class")}
WEEKDAY_LABELS = {1: _l("Monday"), 2: _l("Tuesday"), 3: _l("Wednesday"), 4: _l("Thursday"),
                  5: _l("Friday"), 6: _l("Saturday"), 7: _l("Sunday")}

# Fields of one kind of record, as its editor and its history name them.
LEDGER_FIELD_LABELS = {"lead": _l("Lead"), "members": _l("Members"), "progress": _l("Progress"),
                       "status": _l("Completion status"), "completed_on": _l("Completion date"),
                       "remarks": _l("Remarks"), "files": _l("Evidence")}
ACTIVITY_FIELD_LABELS = {"kind_id": _l("Activity kind"), "held_on": _l("Date"), "topic": _l("Topic"),
                         "place": _l("Place"), "host": _l("Host"), "present": _l("Present"),
                         "expected": _l("Expected"), "summary": _l("Summary"), "status": _l("Status"),
                         "review_comment": _l("Comment"), "file": _l("File")}
TASK_FIELD_LABELS = {"section": _l("Section"), "title": _l("Task"), "body": _l("Details"), "lead": _l("Lead"),
                     "members": _l("Members"), "deadline_text": _l("Time limit"), "starts_on": _l("Start"),
                     "due_on": _l("Due"), "ongoing": _l("Ongoing")}

# ---- the change log --------------------------------------------------------------------------------

ENTITY_LABELS = {"ledger_row": _l("Ledger"), "activity": _l("Activity"), "plan": _l("Work plan"),
                 "task": _l("Task"), "section": _l("Section"), "requirement": _l("Requirement"),
                 "unit": _l("Unit"), "user": _l("User"), "activity_kind": _l("Activity kind"),
                 "nudge": _l("Nudge")}
ACTION_LABELS = {"create": _l("created"), "update": _l("changed"), "delete": _l("deleted"),
                 "import": _l("imported"), "reimport": _l("re-imported"), "publish": _l("published"),
                 "copy": _l("copied to a new year"), "assign": _l("assignment changed"),
                 "add_file": _l("added a file"), "remove_file": _l("removed a file"),
                 "attach": _l("attached a file"), "detach": _l("removed a file"), "submit": _l("submitted"),
                 "approve": _l("approved"), "return": _l("returned"), "comment": _l("commented"),
                 "retire": _l("retired"), "restore": _l("restored"), "password_reset": _l("password reset"),
                 "withdraw": _l("withdrawn"), "archive": _l("archived"), "move": _l("moved")}
# API tokens (webapp/api/tokens.py) write these.
ENTITY_LABELS["api_token"] = _l("API token")
ACTION_LABELS.update({"revoke": _l("revoked"), "write": _l("wrote through the API")})
# The pre-review register (webapp/prereview/services.py) writes these.
ENTITY_LABELS.update({"prereview_item": _l("Pre-review item"), "prereview_kind": _l("Pre-review kind")})
ACTION_LABELS.update({"pass": _l("passed a review stage"), "reject": _l("rejected"), "held": _l("marked held"),
                      "cancelled": _l("marked cancelled"), "published": _l("marked published")})
FIELD_LABELS = {"lead": _l("Lead"), "members": _l("Members"), "progress": _l("Progress"),
                "completed_on": _l("Completion date"), "remarks": _l("Remarks"), "files": _l("Evidence"),
                "file": _l("File"), "title": _l("Title"), "body": _l("Details"), "deadline_text": _l("Time limit"),
                "starts_on": _l("Start date"), "due_on": _l("Due date"), "ongoing": _l("Ongoing"),
                "assignments": _l("Assigned units"), "kind": _l("Activity kind"), "kind_id": _l("Activity kind"),
                "cadence": _l("Cadence"), "count": _l("Times per period"), "weekday": _l("Weekday"),
                "level": _l("Owed by"), "text": _l("Excerpt"), "held_on": _l("Date"), "topic": _l("Topic"),
                "place": _l("Place"), "host": _l("Host"), "present": _l("Present"), "expected": _l("Expected"),
                "summary": _l("Summary"), "review_comment": _l("Comment"), "name": _l("Name"),
                "display_name": _l("Display name"), "role": _l("Role"), "unit_id": _l("Unit"),
                "parent_id": _l("Parent unit"), "category": _l("Category"), "active": _l("Active"),
                "locale": _l("Language"), "year": _l("Year"), "needs_review": _l("Needs checking"),
                "archived": _l("Archived"), "status": _l("Status"), "tasks": _l("Tasks"), "task": _l("Task"),
                "plan": _l("Work plan"), "unit": _l("Unit"), "from_plan": _l("Copied from"),
                "added": _l("Tasks added"), "changed": _l("Tasks changed"), "include_children": _l("Units below count"),
                "username": _l("Login name"), "parent": _l("Parent unit"), "users": _l("Users"),
                "units": _l("Sub-units"), "ledger_rows": _l("Ledger rows"), "activities": _l("Activities"),
                "plans": _l("Work plans"),
                "kinds": _l("Activity kinds"), "robot": _l("Group robot"),
                "reminder_email": _l("E-mail for reminders"), "reminder_digest": _l("Reminder digest"),
                "note": _l("Note"),
                # the pre-review register
                "speaker": _l("Speaker or author"), "channel": _l("Channel"), "stages": _l("Review stages"),
                "stage": _l("Review stage"), "lead_days": _l("Days ahead")}
# The same column name means different things on different records.
ENTITY_FIELD_LABELS = {("ledger_row", "status"): _l("Completion status"), ("unit", "kind"): _l("Kind"),
                       ("plan", "archived"): _l("Tasks archived"), ("plan", "file"): _l("File")}
VALUE_LABELS = {
    ("ledger_row", "status"): LEDGER_STATUS_LABELS,
    ("activity", "status"): ACTIVITY_STATUS_LABELS,
    ("plan", "status"): PLAN_STATUS_LABELS,
    ("unit", "kind"): UNIT_KIND_LABELS,
    ("unit", "category"): CATEGORY_LABELS,
    ("user", "role"): ROLE_LABELS,
    ("requirement", "cadence"): CADENCE_LABELS,
    ("requirement", "level"): LEVEL_LABELS,
    ("activity_kind", "cadence"): CADENCE_LABELS,
    ("activity_kind", "level"): LEVEL_LABELS,
    ("prereview_item", "status"): PREREVIEW_STATUS_LABELS,
}


class InChinese(Mapping):
    """Labels as the printed ledger and the Excel files show them: always Chinese, whatever the reader's language."""

    def __init__(self, labels: Mapping):
        self.labels = labels

    def __getitem__(self, key) -> str:
        with force_locale("zh_Hans_CN"):
            return str(self.labels[key])

    def __iter__(self) -> Iterator:
        return iter(self.labels)

    def __len__(self) -> int:
        return len(self.labels)
