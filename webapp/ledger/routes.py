"""A unit's ledger, inline editing of its rows, a row's history and the change log."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from ..clock import local_today, localtime
from ..htmx import is_htmx, render_page_or_partial
from ..params import positive_int
from ..permissions import ADMIN, SECRETARY, can_edit_unit_ledger, may_edit_ledger_of, roles_required
from .. import audit, labels
from ..uploads import ACCEPT_ATTRIBUTE, limit_mb
from . import queries
from .forms import SentRowEdit
from .queries import RowView
from .render import renderer, unit_options
from .services import RowMissing, StaleVersion, row_to_edit, save_edited_row

bp = Blueprint("ledger", __name__)

STATUS_LABELS = labels.LEDGER_STATUS_LABELS
# An editor opens on one cell; the completion cell edits status and date together.
EDITOR_FIELDS = {"lead": ("lead",), "members": ("members",), "progress": ("progress",),
                 "status": ("status", "completed_on"), "remarks": ("remarks",), "files": ()}
FIELD_LABELS = labels.LEDGER_FIELD_LABELS


@bp.context_processor
def ledger_helpers():
    return {
        "status_label": lambda status: STATUS_LABELS.get(status, status or ""),
        "field_label": lambda field: FIELD_LABELS.get(field, field or ""),
        "local_time": localtime,
        "status_labels": STATUS_LABELS,
        "editor_fields": EDITOR_FIELDS,
        "upload_accept": ACCEPT_ATTRIBUTE,
        "audit_action": audit.action_label, "audit_field": audit.field_label, "audit_reader": audit.AuditReader,
        "actor_name": audit.actor_name,
        "upload_limit_mb": limit_mb(),
    }


# ---- the ledger page -------------------------------------------------------------------------------

@bp.route("/ledger")
@roles_required()
def index():
    """The unit selector's target: /ledger?unit=N goes to that unit's ledger."""
    unit_id = request.args.get("unit", type=positive_int) or current_user.unit_id
    return redirect(url_for("ledger.unit_ledger", unit_id=unit_id))


@bp.route("/units/<int:unit_id>/ledger")
@roles_required()
def unit_ledger(unit_id: int):
    # Every read of this page is a Core statement under the scope (plain rows, no ORM objects): ~1 ms less.
    unit, plans, sections_of = queries.unit_and_plans(unit_id)  # the unit, its plans and their sections: one SELECT
    if unit is None:
        abort(404)
    filters = queries.LedgerFilters.from_args(request.args)
    plan = next((p for p in plans if p.id == filters.plan), plans[0] if plans else None)
    rows = queries.row_views(unit.id, plan.id, filters, local_today()) if plan else []
    sections = sections_of[plan.id] if plan else []
    # ?print=1: the printable view (full 具体内容, no selector or filters, a 打印 button).
    print_view = request.args.get("print") == "1"
    return render_page_or_partial(
        "ledger/unit_ledger.html", "ledger/_results.html", unit=unit, plan=plan, plans=plans, filters=filters,
        groups=queries.group_by_section(rows, sections), row_count=len(rows), sections=sections,
        units=queries.unit_choices(),
        may_edit=can_edit_unit_ledger(current_user, unit),
        ledger_rows=renderer(print_view).rows, unit_options=unit_options,
        print_view=print_view,
        print_url=url_for("ledger.unit_ledger", unit_id=unit.id, **{**_kept_args(), "print": "1"}),
        screen_url=url_for("ledger.unit_ledger", unit_id=unit.id, **_kept_args()))


def _kept_args() -> dict[str, str]:
    """The page's query string (its filters) without the print switch (nor names url_for itself uses)."""
    return {key: value for key, value in request.args.items()
            if key not in ("print", "unit_id") and not key.startswith("_")}


# ---- one row -------------------------------------------------------------------------------------

def load_row(row_id: int) -> RowView:
    """The row with what its fragment shows (plain values, one SELECT under the scope); 404 when missing or outside."""
    row = queries.row_view(row_id)
    if row is None:
        abort(404)
    return row


def load_editable_row(row_id: int) -> RowView:
    """As load_row, and 403 when the user may not edit the row's ledger."""
    row = load_row(row_id)
    if not may_edit_ledger_of(current_user, row.unit_id):  # read under the scope: the unit is in the subtree
        abort(403)
    return row


def render_row(row: RowView, status: int = 200, **state):
    """The row fragment (`<tr id="row-N" data-version="V">`), optionally with one cell's editor open: the same
    renderer as the page's rows (render.py)."""
    return renderer().row(row, **state), status


def row_page_url(row: RowView) -> str:
    return url_for("ledger.unit_ledger", unit_id=row.unit_id, plan=row.task.plan_id, _anchor=f"row-{row.id}")


@bp.route("/ledger/rows/<int:row_id>")
@roles_required()
def show_row(row_id: int):
    row = load_row(row_id)
    return render_row(row) if is_htmx() else redirect(row_page_url(row))


@bp.route("/ledger/rows/<int:row_id>/edit")
@roles_required()
def edit_row(row_id: int):
    field = request.args.get("field", "")
    if field not in EDITOR_FIELDS:
        abort(404)
    return render_row(load_editable_row(row_id), editing=field)


def editor_for(present: list[str]) -> str:
    """The editor a request came from, read off the fields it sent."""
    return next((editor for editor, fields in EDITOR_FIELDS.items() if set(fields) & set(present)), "progress")


@bp.route("/ledger/rows/<int:row_id>", methods=["POST"])
@roles_required()
def update_row(row_id: int):
    """Contract: form fields named after the columns, plus `version`; answers the row (200/409/422)."""
    user = current_user._get_current_object()  # the proxy costs a lookup per attribute
    # One SELECT for the checks and the fragment (load_editable_row's, run prepared); the save writes its values
    # into it, nothing is read again.
    row = row_to_edit(row_id)
    if row is None:
        abort(404)
    if not may_edit_ledger_of(user, row.unit_id):  # read under the scope: the unit is in the subtree
        abort(403)
    form = SentRowEdit(request.form, request.files)  # LedgerRowForm's rules, read without building the form
    if not form.version.validate(form):
        abort(400)
    editing = editor_for(form.present)
    if not form.validate_for(row, row.task.plan.year, local_today()):
        return render_row(row, 422, editing=editing, errors=form.field_errors, values=form.submitted_values())
    try:
        row = save_edited_row(user, row, form.version.data, form.changes)
    except RowMissing:
        abort(404)
    except StaleVersion as stale:
        # Only a field both people changed gets here: other fields changed meanwhile were merged.
        current = stale.current if isinstance(stale.current, RowView) else load_row(row_id)
        return render_row(current, 409, editing=editing, values=form.submitted_values(), conflict=True)
    return render_row(row)


@bp.route("/ledger/rows/<int:row_id>/history")
@roles_required()
def row_history(row_id: int):
    row = queries.ledger_row(row_id)  # the page shows the row's unit and task in full: the ORM row
    if row is None:
        abort(404)
    return render_page_or_partial("ledger/history.html", "ledger/_history.html", row=row,
                                  entries=queries.row_history(row.id))


# ---- the change log ------------------------------------------------------------------------------


@bp.route("/ledger/changes")
@roles_required(ADMIN, SECRETARY)
def changes():
    filters = queries.ChangeFilters.from_args(request.args)
    return render_page_or_partial(
        "ledger/changes.html", "ledger/_changes.html", filters=filters, result=queries.change_log(filters),
        units=queries.units_in_scope(), users=queries.users_in_scope())


from . import files  # noqa: E402,F401  (evidence routes on this blueprint)
