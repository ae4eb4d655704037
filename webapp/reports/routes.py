"""Overview (dashboards), Excel exports and the ledger re-import."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext
from flask_login import current_user

from ..htmx import is_htmx, render_page_or_partial
from ..clock import local_today
from ..models import Unit
from ..params import optional_positive_int
from ..plans.queries import published_plan_years
from ..permissions import (ADMIN, SECRETARY, STAFF, can_edit_all_rows, can_edit_ledger_row, get_or_404, permitted,
                           roles_required)
from ..prereview import queries as prereview_queries
from ..xlsx import xlsx_response
from . import charts, excel, queries, render, services
from .forms import ImportConfirmForm, LedgerUploadForm, OverviewFilterForm

bp = Blueprint("reports", __name__)


def _int_arg(name: str) -> int | None:
    return optional_positive_int(request.args.get(name, ""))


# ---- overview -------------------------------------------------------------------------------------

def _overview_view():
    """The overview's filter form, root, window, figures and sorted rows, read from the request."""
    today = local_today()
    years = published_plan_years()
    form = OverviewFilterForm(request.args, years, today.year if today.year in years or not years else years[0])
    unit_id = _int_arg("unit")
    root = get_or_404(Unit, unit_id) if unit_id else current_user.unit
    window = queries.report_window(form.year.data, form.period.data, today)
    result = queries.overview(root, window)
    return form, root, window, result, queries.sort_rows(result.rows, form.sort.data, form.dir.data)


def _heat_map(rows, window) -> dict:
    heat_chart, month_x, heat_rows = charts.heat_map(rows, window.as_of.month if window.as_of >= window.start else 0)
    # Month names translated once, not once per heat-map cell (31 rows × 12 months for a university).
    return dict(heat_chart=heat_chart, month_x=month_x, heat_rows=heat_rows, cell_size=charts.CELL_SIZE,
                month_labels=[gettext("Month %(n)s", n=n) for n in range(1, 13)])


@bp.route("/overview")
@roles_required(ADMIN, SECRETARY, STAFF)
def dashboard():
    form, root, window, result, rows = _overview_view()
    bar_chart, bars = charts.completion_bars(rows)
    # A long overview (a university's colleges) links to its heat map instead of drawing rows × 12 squares.
    heat = _heat_map(rows, window) if len(rows) <= charts.HEAT_MAP_INLINE_ROWS else {"heat_rows": None}
    return render_page_or_partial(
        "reports/overview.html", "reports/_overview.html", form=form, overview=result, rows=rows,
        window=window, bar_chart=bar_chart, bars=bars, **heat,
        html=render.overview_html(rows, result.total, window, bar_chart, bars), trail=queries.visible_ancestors(root),
        prereview_rows=prereview_queries.dashboard_rows(result, rows))


@bp.route("/overview/months")
@roles_required(ADMIN, SECRETARY, STAFF)
def dashboard_months():
    """The overview's heat map on its own: loaded into a long overview by htmx, or a page of its own."""
    form, root, window, result, rows = _overview_view()
    return render_page_or_partial("reports/months.html", "reports/_heat_map.html", form=form, overview=result,
                                  window=window, **_heat_map(rows, window), focus_heat_map=is_htmx(),
                                  trail=queries.visible_ancestors(root))


# ---- exports --------------------------------------------------------------------------------------

@bp.route("/units/<int:unit_id>/ledger.xlsx")
@roles_required()
def ledger_xlsx(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    plan = queries.ledger_plan(unit, subtree=False, plan_id=_int_arg("plan")) or abort(404)
    rows = queries.ledger_rows(plan, [unit.id])
    title = excel.ledger_title(plan, unit)
    return xlsx_response(excel.ledger_workbook(plan, unit, rows), f"{title}.xlsx", "ledger.xlsx")


@bp.route("/units/<int:unit_id>/ledgers.xlsx")
@roles_required()
def ledgers_xlsx(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    plan = queries.ledger_plan(unit, subtree=True, plan_id=_int_arg("plan")) or abort(404)
    summaries = queries.unit_summaries(unit, queries.report_window(plan.year, "", local_today()))
    rows_by_unit: dict[int, list] = {}
    for row in queries.ledger_rows(plan, [s.unit.id for s in summaries]):
        rows_by_unit.setdefault(row.unit_id, []).append(row)
    data = excel.subtree_workbook(plan, unit, summaries, rows_by_unit)
    return xlsx_response(data, f"{plan.year}年工作台账（{unit.name}）.xlsx", "ledgers.xlsx")


@bp.route("/reports/activities.xlsx")
@roles_required()
def activities_xlsx():
    month = request.args.get("month", "").strip()
    filters = queries.ActivityFilter(unit_id=_int_arg("unit"), kind_id=_int_arg("kind"),
                                     status=request.args.get("status") or None, month=month or None)
    unit = get_or_404(Unit, filters.unit_id) if filters.unit_id else current_user.unit
    title = f"活动记录（{unit.name}{'，' + month if month else ''}）"
    return xlsx_response(excel.activities_workbook(title, queries.activities(filters)), f"{title}.xlsx",
                         "activities.xlsx")


@bp.route("/reports/compliance.xlsx")
@roles_required()
def compliance_xlsx():
    today = local_today()
    year = _int_arg("year") or today.year
    if not 2000 <= year <= today.year + 1:
        abort(404)
    window = queries.report_window(year, "", today)
    lines, cells = queries.compliance_report(window)
    title = f"{window.year}年工作要求落实情况（{current_user.unit.name}，截至{window.as_of.isoformat()}）"
    return xlsx_response(excel.compliance_workbook(title, lines, cells), f"{window.year}年工作要求落实情况.xlsx",
                         "compliance.xlsx")


# ---- re-import ------------------------------------------------------------------------------------

def _editable_ledger(unit_id: int):
    """The unit, its plan and rows, or 404/403: only someone who may edit the rows may import them."""
    unit = get_or_404(Unit, unit_id)
    plan = queries.ledger_plan(unit, subtree=False, plan_id=_int_arg("plan")) or abort(404)
    rows = permitted(can_edit_all_rows, queries.ledger_rows(plan, [unit.id]))
    return unit, plan, rows


@bp.route("/units/<int:unit_id>/ledger/import", methods=["GET", "POST"])
@roles_required()
def ledger_import(unit_id: int):
    unit, plan, rows = _editable_ledger(unit_id)
    form = LedgerUploadForm()
    error = None
    if form.validate_on_submit():
        try:
            preview = services.preview_import(rows, services.read_upload(form.file.data), local_today())
        except services.LedgerImportError as refused:
            error = str(refused)
        else:
            confirm = ImportConfirmForm(plan=services.encode_plan(preview.applicable))
            return render_template("reports/import_preview.html", unit=unit, plan=plan, preview=preview,
                                   confirm=confirm, labels=services.FIELD_LABELS)
    return render_template("reports/import_upload.html", unit=unit, plan=plan, form=form, error=error), \
        422 if error else 200


@bp.route("/units/<int:unit_id>/ledger/import/apply", methods=["POST"])
@roles_required()
def ledger_import_apply(unit_id: int):
    unit, plan, rows = _editable_ledger(unit_id)
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        planned = services.decode_plan(form.plan.data or "")
    except services.LedgerImportError as refused:
        return render_template("reports/import_upload.html", unit=unit, plan=plan, form=LedgerUploadForm(),
                               error=str(refused)), 422
    outcomes = services.apply_import(planned, {row.id for row in rows}, current_user, can_edit_ledger_row,
                                     local_today())
    return render_template("reports/import_result.html", unit=unit, plan=plan, outcomes=outcomes,
                           counts=services.outcome_counts(outcomes))
