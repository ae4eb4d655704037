"""What the API reads and answers, as marshmallow schemas: the OpenAPI document is generated from these."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from ..models import ACTIVITY_STATUSES, LEDGER_STATUSES
from .spec import PageQuery

COMPLIANCE_STATES = ("met", "missing", "in_progress", "upcoming")


class Strict(Schema):
    class Meta:
        unknown = RAISE  # an unknown field is refused with 400, never ignored


# ---- answers ----------------------------------------------------------------------------------------

class UserSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ["admin", "secretary", "staff", "monitor"]})
    unit_id = fields.Integer(required=True)
    token_access = fields.String(required=True, allow_none=True,
                                 metadata={"enum": ["read_only", "read_write", None],
                                           "description": "null for a cookie session"})


class UnitSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    category = fields.String(required=True, allow_none=True)
    parent_id = fields.Integer(required=True, allow_none=True)
    path = fields.String(required=True, metadata={"description": "materialised path, e.g. /1/4/12/"})
    active = fields.Boolean(required=True)


class RequirementSchema(Schema):
    id = fields.Integer(required=True)
    text = fields.String(required=True)
    kind = fields.String(required=True)
    kind_id = fields.Integer(required=True, allow_none=True)
    cadence = fields.String(required=True)
    count = fields.Integer(required=True)
    weekday = fields.Integer(required=True, allow_none=True)
    level = fields.String(required=True)
    include_children = fields.Boolean(required=True)


class TaskSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    lead = fields.String(required=True)
    members = fields.String(required=True)
    deadline_text = fields.String(required=True)
    starts_on = fields.Date(required=True, allow_none=True)
    due_on = fields.Date(required=True, allow_none=True)
    ongoing = fields.Boolean(required=True)
    requirements = fields.List(fields.Nested(RequirementSchema), required=True)


class SectionSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)
    tasks = fields.List(fields.Nested(TaskSchema), required=True)


class PlanSchema(Schema):
    id = fields.Integer(required=True)
    unit_id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    published_at = fields.DateTime(required=True, allow_none=True)
    sections = fields.List(fields.Nested(SectionSchema), required=True)


class LedgerRowSchema(Schema):
    id = fields.Integer(required=True)
    unit_id = fields.Integer(required=True)
    task_id = fields.Integer(required=True)
    plan_id = fields.Function(lambda row: row.task.plan_id, required=True, metadata={"type": "integer"})
    section_id = fields.Function(lambda row: row.task.section_id, required=True, metadata={"type": "integer"})
    task_number = fields.Function(lambda row: row.task.number, required=True, metadata={"type": "integer"})
    task_title = fields.Function(lambda row: row.task.title, required=True, metadata={"type": "string"})
    due_on = fields.Function(lambda row: row.task.due_on.isoformat() if row.task.due_on else None, required=True,
                             metadata={"type": ["string", "null"], "format": "date"})
    lead = fields.String(required=True)
    members = fields.String(required=True)
    progress = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(LEDGER_STATUSES)})
    completed_on = fields.Date(required=True, allow_none=True)
    remarks = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "also the answer's ETag; send it in If-Match"})
    updated_at = fields.DateTime(required=True, allow_none=True)
    updated_by_id = fields.Integer(required=True, allow_none=True)


class ActivitySchema(Schema):
    id = fields.Integer(required=True)
    unit_id = fields.Integer(required=True)
    kind_id = fields.Integer(required=True)
    kind = fields.Function(lambda activity: activity.kind.name, required=True, metadata={"type": "string"})
    held_on = fields.Date(required=True)
    topic = fields.String(required=True)
    place = fields.String(required=True)
    host = fields.String(required=True)
    present = fields.Integer(required=True, allow_none=True)
    expected = fields.Integer(required=True, allow_none=True)
    summary = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(ACTIVITY_STATUSES)})
    review_comment = fields.String(required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ComplianceRowSchema(Schema):
    """Exactly a row of `flask compliance --json`."""
    unit = fields.String(required=True)
    unit_id = fields.Integer(required=True)
    requirement = fields.String(required=True)
    kind = fields.String(required=True)
    period = fields.String(required=True,
                           metadata={"description": "2026-W05, 2026-03, 2026-Q1, 2026-春季学期, 2026"})
    start = fields.String(required=True, metadata={"format": "date"})
    end = fields.String(required=True, metadata={"format": "date"})
    required = fields.Integer(required=True)
    done = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"enum": list(COMPLIANCE_STATES)})


class UnitFiguresSchema(Schema):
    unit_id = fields.Integer(required=True)
    unit_name = fields.String(required=True)
    own_only = fields.Boolean(required=True, metadata={"description": "true: the unit's own ledger only; "
                                                                      "false: its whole subtree rolled up"})
    tasks_assigned = fields.Integer(required=True)
    tasks_done = fields.Integer(required=True)
    tasks_in_progress = fields.Integer(required=True)
    tasks_not_started = fields.Integer(required=True)
    tasks_overdue = fields.Integer(required=True)
    completion_rate = fields.Float(required=True, allow_none=True)
    obligations_period_met = fields.Integer(required=True)
    obligations_period_required = fields.Integer(required=True)
    obligations_ytd_met = fields.Integer(required=True)
    obligations_ytd_required = fields.Integer(required=True)
    last_update = fields.DateTime(required=True, allow_none=True)


class OverviewSchema(Schema):
    unit_id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    period = fields.String(required=True, metadata={"description": "'' (whole year), q1…q4 or 1…12"})
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    as_of = fields.Date(required=True)
    rows = fields.List(fields.Nested(UnitFiguresSchema), required=True)
    total = fields.Nested(UnitFiguresSchema, required=True)


# ---- queries and bodies --------------------------------------------------------------------------------

class LedgerQuery(PageQuery):
    """The ledger page's filters."""
    plan = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1),
                          metadata={"description": "default: the newest published plan with rows here"})
    status = fields.String(load_default="", validate=validate.OneOf(LEDGER_STATUSES))
    overdue = fields.Boolean(load_default=False)
    section = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    q = fields.String(load_default="", validate=validate.Length(max=100))


class LedgerRowPatch(Strict):
    """Only the fields sent are checked and changed (the inline editor's contract)."""
    lead = fields.String()
    members = fields.String()
    progress = fields.String()
    status = fields.String(metadata={"enum": list(LEDGER_STATUSES)})
    completed_on = fields.String(allow_none=True, metadata={"format": "date"})
    remarks = fields.String()


class ActivityQuery(PageQuery):
    unit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    kind = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    status = fields.String(load_default=None, validate=validate.OneOf(ACTIVITY_STATUSES))
    month = fields.String(load_default=None, validate=validate.Regexp(r"^\d{4}-\d{2}$"),
                          metadata={"description": "YYYY-MM"})
    to_review = fields.Boolean(load_default=False, metadata={"description": "only what this user is to review"})


class ActivityCreate(Strict):
    unit_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1),
                             metadata={"description": "default: the user's own unit"})
    kind_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    held_on = fields.String(required=True, metadata={"format": "date"})
    topic = fields.String(required=True)
    place = fields.String(load_default="")
    host = fields.String(load_default="")
    present = fields.Integer(load_default=None, allow_none=True)
    expected = fields.Integer(load_default=None, allow_none=True)
    summary = fields.String(load_default="")
    submit = fields.Boolean(load_default=False, metadata={"description": "submit at once (staff and admins: approved)"})


class ReviewBody(Strict):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "return")))
    comment = fields.String(load_default="", metadata={"description": "required when returning"})


class ComplianceQuery(PageQuery):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100),
                          metadata={"description": "a plan year; default: this year (or the years from…to span)"})
    date_from = fields.Date(data_key="from", load_default=None,
                            metadata={"description": "only periods ending on or after this day"})
    date_to = fields.Date(data_key="to", load_default=None,
                          metadata={"description": "only periods starting on or before this day"})
    unit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1),
                          metadata={"description": "this unit and its subtree"})
    as_of = fields.Date(load_default=None, metadata={"description": "judge periods as of this day (default today)"})


class OverviewQuery(Strict):
    unit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))
    period = fields.String(load_default="", validate=validate.OneOf(
        ["", "q1", "q2", "q3", "q4", *[str(month) for month in range(1, 13)]]))
