"""The JSON API (`/api/v1/…`) for the campus's other systems: the same scope, roles, validation and audit as
the site. A request acts as the logged-in user (cookie session, writes need X-CSRFToken) or as the user of a
personal access token (`Authorization: Bearer …`, see permissions.authenticate_bearer)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, g, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import inspect as sa_inspect
from werkzeug.datastructures import MultiDict

from ..activities import compliance as comp
from ..activities import queries as activity_queries
from ..activities import services as activity_services
from ..activities.forms import ActivityForm, ReturnForm, choices
from ..clock import local_today
from ..extensions import csrf, db
from ..ledger import queries as ledger_queries
from ..ledger.forms import LedgerRowForm
from ..ledger.services import StaleVersion, save_row
from ..models import Activity, LedgerRow, Unit
from ..permissions import (ADMIN, SECRETARY, STAFF, can_edit_activity, can_edit_ledger_row, can_log_activity,
                           can_review_activity, get_or_404)
from ..plans.queries import published_plan_years
from ..reports import queries as report_queries
from . import queries, schemas, tokens
from .errors import ApiError, FieldError, error_response, http_error
from .spec import Page, build_spec, decode_cursor, encode_cursor, operation, paginate

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token requests carry no CSRF token; cookie sessions are checked in _authenticate instead
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# ---- every request: who, how often, may they write ---------------------------------------------------

@bp.before_request
def _authenticate():
    problem = g.get("api_token_problem")
    if problem:
        raise ApiError(401, f"token_{problem}", f"token_{problem}")
    if not current_user.is_authenticated:
        raise ApiError(401, "login_required", "login_required")
    token = g.get("api_token")
    if token is not None:
        wait = tokens.count_request(token)
        if wait:
            raise ApiError(429, "throttled", "throttled", headers={"Retry-After": str(wait)}, seconds=wait)
        if request.method in WRITES and not token.can_write:
            raise ApiError(403, "read_only_token", "read_only_token")
    elif request.method in WRITES:
        csrf.protect()  # a cookie session is a browser: a state change needs the page's CSRF token


@bp.after_request
def _etag(response):
    """Every answer has an ETag (a row's is its version); a GET with a matching If-None-Match gets 304."""
    if "ETag" not in response.headers:
        response.add_etag()
    if request.method == "GET" and response.status_code == 200:
        response.make_conditional(request)
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return error_response(error)


@bp.errorhandler(CSRFError)
def _csrf_error(_error):
    return error_response(ApiError(400, "csrf", "csrf"))


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(405)
@bp.errorhandler(409)
@bp.errorhandler(413)
def _http_error(error):
    return error_response(http_error(error.code))


def _require_roles(*roles: str) -> None:
    if current_user.role not in roles:
        raise ApiError(403, "forbidden", "forbidden")


def _token_write():
    """Writes made with a token are audited as such, in the same transaction as the change."""
    token = g.get("api_token")
    if token is not None:
        return tokens.record_write(token, current_user, request.method, request.path)
    return None


# ---- who am I -----------------------------------------------------------------------------------------

@operation(bp, "/me", "GET", summary="The user this request acts as", tag="account", response=schemas.UserSchema)
def me():
    token = g.get("api_token")
    return {"id": current_user.id, "username": current_user.username, "display_name": current_user.display_name,
            "role": current_user.role, "unit_id": current_user.unit_id,
            "token_access": None if token is None else ("read_write" if token.can_write else "read_only")}


# ---- units and plans ----------------------------------------------------------------------------------

@operation(bp, "/units", "GET", summary="Active units of the user's subtree", tag="units",
           response=schemas.UnitSchema, paginated=True)
def units(args):
    return paginate(sorted(ledger_queries.units_in_scope(), key=lambda unit: unit.id), lambda unit: (unit.id,), args)


@operation(bp, "/units/<int:unit_id>", "GET", summary="One unit", tag="units", response=schemas.UnitSchema)
def unit(unit_id: int):
    return get_or_404(Unit, unit_id)


@operation(bp, "/plans", "GET", summary="Published plans in scope, with sections, tasks and requirements",
           tag="plans", response=schemas.PlanSchema, paginated=True)
def plans(args):
    after = decode_cursor(args["cursor"])
    found = queries.published_plans(int(after[0]) if after else None, args["limit"] + 1)
    more = len(found) > args["limit"]
    found = found[:args["limit"]]
    return Page(found, encode_cursor([found[-1].id]) if more else None)


@operation(bp, "/plans/<int:plan_id>", "GET", summary="One published plan", tag="plans", response=schemas.PlanSchema)
def plan(plan_id: int):
    found = queries.published_plan(plan_id)
    if found is None:
        raise http_error(404)
    return found


# ---- ledger rows --------------------------------------------------------------------------------------

@operation(bp, "/units/<int:unit_id>/ledger-rows", "GET", summary="A unit's ledger rows (the ledger page's filters)",
           tag="ledger", query=schemas.LedgerQuery, response=schemas.LedgerRowSchema, paginated=True,
           description="Rows of one published plan (default: the newest with rows here) in the printed order.")
def ledger_rows(unit_id: int, args):
    unit = get_or_404(Unit, unit_id)
    filters = ledger_queries.LedgerFilters(plan=args["plan"], status=args["status"], overdue=args["overdue"],
                                           section=args["section"], q=args["q"].strip())
    plans = ledger_queries.published_plans_for(unit.id)
    chosen = next((p for p in plans if p.id == filters.plan), None) if filters.plan else (plans[0] if plans else None)
    if chosen is None:
        return Page([], None)
    rows = ledger_queries.ledger_rows(unit.id, chosen.id, filters, local_today())
    section_order = {section.id: section.position for section in ledger_queries.sections_of(chosen.id)}
    return paginate(rows, lambda row: (section_order[row.task.section_id], row.task.position, row.task.id), args)


def _row_headers(row: LedgerRow) -> dict:
    return {"ETag": f'"{row.version}"'}


def _load_row(row_id: int) -> LedgerRow:
    row = ledger_queries.ledger_row(row_id)
    if row is None:
        raise http_error(404)
    return row


@operation(bp, "/ledger-rows/<int:row_id>", "GET", summary="One ledger row", tag="ledger",
           response=schemas.LedgerRowSchema)
def ledger_row(row_id: int):
    row = _load_row(row_id)
    return row, _row_headers(row)


def _if_match_version() -> int:
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise ApiError(428, "if_match_required", "if_match_required", field="If-Match")
    text = header.removeprefix("W/").strip('"')
    if not text.isdecimal() or len(text) > 9:
        raise ApiError(400, "invalid_value", "invalid_value", field="If-Match", name="If-Match")
    return int(text)


def validated_row_changes(row: LedgerRow, body: dict) -> dict:
    """The inline editor's own form checks the sent fields (the same messages); returns the changes."""
    if not body:
        raise ApiError(400, "bad_request", "bad_request")
    sent = MultiDict({name: "" if value is None else value for name, value in body.items()})
    form = LedgerRowForm(present=list(body), formdata=sent)
    if not form.validate_for(row, row.task.plan.year, local_today()):
        name, message = next(iter(form.field_errors.items()))
        raise FieldError(name, message)
    return form.changes


def save_ledger_changes(row: LedgerRow, changes: dict, version: int) -> None:
    """The one place the API saves a ledger row: the site's save service, called as the inline editor calls it.
    A stale version is merged when someone else changed other fields since; when they changed one of these
    fields, nothing is saved and the answer is 412 with the row as it is now."""
    entry = _token_write()
    try:
        save_row(current_user, row.id, version, changes)
    except StaleVersion as stale:
        db.session.rollback()
        current = _load_row(row.id)
        raise ApiError(412, "stale", "stale", field=stale.fields[0] if stale.fields else None,
                       headers=_row_headers(current),
                       extra={"current": schemas.LedgerRowSchema().dump(current)}) from None
    if entry is not None and not sa_inspect(entry).persistent:
        # The service retried a save that lost a race, after a rollback: the token's audit entry goes again.
        _token_write()
        db.session.commit()


@operation(bp, "/ledger-rows/<int:row_id>", "PATCH", summary="Change a ledger row (If-Match: its version)",
           tag="ledger", body=schemas.LedgerRowPatch, response=schemas.LedgerRowSchema, errors=(412, 422, 428),
           description="Only the fields sent are checked and changed, with the inline editor's validation and "
                       "audit. A stale If-Match is merged when the fields changed since are other ones; when one "
                       "of the sent fields changed since, the answer is 412 with the current row and nothing "
                       "is saved.")
def update_ledger_row(row_id: int, body):
    row = ledger_queries.ledger_row_to_save(row_id)
    if row is None:
        raise http_error(404)
    if not can_edit_ledger_row(current_user, row):
        raise http_error(403)
    version = _if_match_version()
    changes = validated_row_changes(row, body)
    save_ledger_changes(row, changes, version)
    row = _load_row(row_id)
    return row, _row_headers(row)


# ---- activities ---------------------------------------------------------------------------------------

@operation(bp, "/activities", "GET", summary="Activities (the list's filters), newest first", tag="activities",
           query=schemas.ActivityQuery, response=schemas.ActivitySchema, paginated=True)
def activities(args):
    filters = activity_queries.ActivityFilters(unit_id=args["unit"], kind_id=args["kind"], status=args["status"],
                                               month=args["month"], to_review=args["to_review"])
    after = decode_cursor(args["cursor"])
    if after is not None:
        try:
            after = (date.fromordinal(-int(after[0])), -int(after[1]))
        except (ValueError, IndexError, OverflowError):
            raise ApiError(400, "bad_cursor", "invalid_cursor", field="cursor") from None
    found = queries.activities_after(filters, current_user, after, args["limit"] + 1)
    more = len(found) > args["limit"]
    found = found[:args["limit"]]
    last = found[-1] if found else None
    return Page(found, encode_cursor([-last.held_on.toordinal(), -last.id]) if more and last else None)


def _activity(activity_id: int) -> Activity:
    found = queries.activity(activity_id)
    if found is None:
        raise http_error(404)
    return found


@operation(bp, "/activities/<int:activity_id>", "GET", summary="One activity", tag="activities",
           response=schemas.ActivitySchema)
def activity(activity_id: int):
    return _activity(activity_id)


FORM_FIELDS = {"unit": "unit_id", "kind": "kind_id"}


@operation(bp, "/activities", "POST", summary="Log an activity (as the activity form does)", tag="activities",
           body=schemas.ActivityCreate, response=schemas.ActivitySchema, status=201, errors=(422,))
def create_activity(body):
    unit = get_or_404(Unit, body["unit_id"] or current_user.unit_id)
    if not can_log_activity(current_user, unit):
        raise http_error(403)
    kinds = activity_queries.active_kinds(unit)
    sent = MultiDict({"unit": str(unit.id), "kind": str(body["kind_id"]), "held_on": body["held_on"],
                      "topic": body["topic"], "place": body["place"], "host": body["host"],
                      "present": "" if body["present"] is None else str(body["present"]),
                      "expected": "" if body["expected"] is None else str(body["expected"]),
                      "summary": body["summary"]})
    form = ActivityForm(formdata=sent, meta={"csrf": False}, today=local_today(),
                        kind_ids={kind.id for kind in kinds})
    form.kind.choices = choices((kind.id, kind.name) for kind in kinds)
    form.unit.choices = choices([(unit.id, unit.name)])
    if not form.validate():
        name, messages = next(iter(form.errors.items()))
        raise FieldError(FORM_FIELDS.get(name, name), str(messages[0]))
    _token_write()
    created = activity_services.create_activity(current_user, unit, form.activity_data(), [], submit=body["submit"])
    return _activity(created.id), {"Location": url_for("api.activity", activity_id=created.id)}


@operation(bp, "/activities/<int:activity_id>/submit", "POST", summary="Submit a draft or returned activity",
           tag="activities", response=schemas.ActivitySchema, errors=(409,))
def submit_activity(activity_id: int):
    found = _activity(activity_id)
    if not can_edit_activity(current_user, found):
        raise http_error(403)
    _token_write()
    _change_state(activity_services.submit_activity, found)
    return _activity(activity_id)


@operation(bp, "/activities/<int:activity_id>/review", "POST", summary="Approve or return a submitted activity",
           tag="activities", body=schemas.ReviewBody, response=schemas.ActivitySchema, errors=(409, 422))
def review_activity(activity_id: int, body):
    found = _activity(activity_id)
    if not can_review_activity(current_user, found):
        raise http_error(403)
    if body["decision"] == "return":
        form = ReturnForm(formdata=MultiDict({"comment": body["comment"]}), meta={"csrf": False})
        if not form.validate():
            raise FieldError("comment", str(form.comment.errors[0]))
        _token_write()
        _change_state(activity_services.return_activity, found, form.comment.data.strip())
    else:
        _token_write()
        _change_state(activity_services.approve_activity, found)
    return _activity(activity_id)


def _change_state(action, activity: Activity, *args) -> None:
    try:
        action(current_user, activity, *args)
    except activity_services.WrongState:
        db.session.rollback()
        raise ApiError(409, "wrong_state", "wrong_state") from None


# ---- compliance and the overview ----------------------------------------------------------------------

MAX_YEARS = 10


@operation(bp, "/compliance", "GET", summary="Compliance rows, as `flask compliance --json` prints them",
           tag="reports", query=schemas.ComplianceQuery, response=schemas.ComplianceRowSchema, paginated=True,
           description="Every unit × requirement × period of the published plans of `year` (or of the years the "
                       "from…to range spans, periods overlapping it), for the units in scope.")
def compliance(args):
    today = local_today()
    as_of = args["as_of"] or today
    start, end = args["date_from"], args["date_to"]
    if start or end:
        first, last = (start or end).year, (end or start).year
        if last < first or last - first >= MAX_YEARS or not (2000 <= first and last <= 2100):
            raise ApiError(400, "invalid_value", "invalid_value", field="to", name="to")
        years = range(first, last + 1)
    else:
        years = [args["year"] or today.year]
    unit_ids = None
    if args["unit"]:
        unit_ids = set(activity_queries.subtree_unit_ids(get_or_404(Unit, args["unit"])))
    cells = [cell for year in years for cell in comp.compliance(year, as_of, unit_ids)
             if (start is None or cell.end >= start) and (end is None or cell.start <= end)]
    rows = sorted((cell.as_json() for cell in cells), key=_compliance_key)
    return paginate(rows, _compliance_key, args)


def _compliance_key(row: dict) -> tuple:
    return (row["start"], row["unit_id"], row["kind"], row["requirement"], row["period"])


def _figures(row) -> dict:
    tasks, obligations = row.tasks, row.obligations
    return {"unit_id": row.unit.id, "unit_name": row.unit.name, "own_only": row.own_only,
            "tasks_assigned": tasks.assigned, "tasks_done": tasks.done, "tasks_in_progress": tasks.in_progress,
            "tasks_not_started": tasks.not_started, "tasks_overdue": tasks.overdue,
            "completion_rate": tasks.rate, "obligations_period_met": obligations.period_met,
            "obligations_period_required": obligations.period_required,
            "obligations_ytd_met": obligations.ytd_met, "obligations_ytd_required": obligations.ytd_required,
            "last_update": row.last_update}


@operation(bp, "/overview", "GET", summary="The overview's figures per unit (secretaries, staff, admins)",
           tag="reports", query=schemas.OverviewQuery, response=schemas.OverviewSchema)
def overview(args):
    _require_roles(ADMIN, SECRETARY, STAFF)
    today = local_today()
    years = published_plan_years()
    year = args["year"] or (today.year if today.year in years or not years else years[0])
    root = get_or_404(Unit, args["unit"]) if args["unit"] else current_user.unit
    window = report_queries.report_window(year, args["period"], today)
    result = report_queries.overview(root, window)
    return {"unit_id": root.id, "year": window.year, "period": window.period, "start": window.start,
            "end": window.end, "as_of": window.as_of, "rows": [_figures(row) for row in result.rows],
            "total": _figures(result.total)}


# ---- the document -------------------------------------------------------------------------------------

DESCRIPTION = ("Taizhang's JSON API. Authenticate with a personal access token (`Authorization: Bearer …`, "
               "created on the account page) or the site's login. Lists take `cursor` and `limit` (≤ 500); every "
               "answer has an ETag; errors are `{\"error\": {\"code\", \"message\", \"field\"}}`.")


@operation(bp, "/openapi.json", "GET", summary="This document (OpenAPI 3.1)", tag="meta")
def openapi():
    return spec_document()


def spec_document() -> dict:
    cached = current_app.extensions.get("taizhang_openapi")
    if cached is None:
        cached = current_app.extensions["taizhang_openapi"] = build_spec("Taizhang API", "1.0.0", DESCRIPTION)
    return cached
