"""Activities: logging (from a phone), review, kinds, and compliance per unit and period."""
from __future__ import annotations

import re
import secrets
from math import ceil

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..audit import AuditReader, actor_name
from ..clock import local_today, short_period_label
from ..extensions import db
from ..htmx import is_htmx, render_page_or_partial
from ..models import ACTIVITY_STATUSES, CADENCES, Activity, ActivityKind, StoredFile, Unit
from ..params import positive_int
from ..plans.queries import published_plan_years
from ..permissions import (ADMIN, MONITOR, SECRETARY, STAFF, can_edit_activity, can_log_activity,
                           can_manage_kind, can_manage_kinds, can_review_activity, can_see_obligations_page_only,
                           get_or_404, get_permitted, roles_required)
from ..uploads import send_stored_file
from . import compliance as comp
from . import queries, services
from .forms import (ACTION_LABELS, CADENCE_LABELS, FIELD_LABELS, LEVEL_LABELS, STATE_LABELS, STATUS_LABELS,
                    ActivityForm, KindForm, ReturnForm, base_values, choices)

# Paths are spelled out because a unit's obligations page lives under /units/.
bp = Blueprint("activities", __name__)


@bp.context_processor
def _labels():
    return {"status_label": lambda s: STATUS_LABELS.get(s, s), "state_label": lambda s: STATE_LABELS.get(s, s),
            "cadence_label": lambda c: CADENCE_LABELS.get(c, c), "level_label": lambda lv: LEVEL_LABELS.get(lv, lv),
            "action_label": lambda a: ACTION_LABELS.get(a, a), "field_label": lambda f: FIELD_LABELS.get(f, f),
            "short_period": short_period_label, "actor_name": actor_name, "audit_reader": AuditReader,
            "can_review_any": current_user.is_authenticated
            and current_user.role in (ADMIN, STAFF), "may_manage_kind": lambda kind: can_manage_kind(current_user, kind)}


# ---- the list -------------------------------------------------------------------------------------

@bp.route("/activities/")
@roles_required()
def index():
    args = request.args
    filters = queries.ActivityFilters(
        unit_id=args.get("unit", type=positive_int), kind_id=args.get("kind", type=positive_int),
        status=args.get("status") if args.get("status") in ACTIVITY_STATUSES else None,
        month=args.get("month") or None, to_review=args.get("tab") == "review")
    page = max(args.get("page", 1, type=positive_int), 1)
    activities, total = queries.activity_page(filters, current_user, page)
    context = {
        "filters": filters, "activities": activities, "total": total, "page_number": page,
        "pages": max(ceil(total / queries.PAGE_SIZE), 1), "statuses": ACTIVITY_STATUSES,
        "kinds": _filter_kinds(), "units": queries.active_units(),
        "review_count": queries.review_queue_size(current_user),
        "may_log": current_user.role in (ADMIN, STAFF, MONITOR),
        "obligations_page_only": can_see_obligations_page_only(current_user),
        "may_manage_kinds": can_manage_kinds(current_user),
    }
    return render_page_or_partial("activities/index.html", "activities/_list.html", **context)


def _filter_kinds() -> list[ActivityKind]:
    """The kind filter's options: a monitor sees only the kinds the class is asked for this year."""
    kinds = queries.all_kinds()
    if current_user.role != MONITOR:
        return kinds
    today = local_today()
    obligations = comp.obligations_of_year(today.year)
    asked_ids = {cell.requirement_id for cell in comp.compliance(today.year, today, unit_ids=[current_user.unit_id])}
    asked = {o.kind_id for o in obligations if o.id in asked_ids}
    if not asked:  # no published plan yet: the kinds meant for classes
        return [kind for kind in kinds if kind.level == "class" and kind.active]
    return [kind for kind in kinds if kind.id in asked]


# ---- logging and editing --------------------------------------------------------------------------

def _loggable_units() -> list[Unit]:
    return [unit for unit in queries.active_units() if can_log_activity(current_user, unit)]


def _unit_to_log_for() -> Unit:
    """The unit named in the form or the URL, else the user's own: 404 outside the scope, 403 if not theirs."""
    unit_id = (request.form.get("unit", type=positive_int) or request.args.get("unit", type=positive_int)
               or current_user.unit_id)
    return get_permitted(Unit, unit_id, can_log_activity)


def _activity_form(kinds: list[ActivityKind], units: list[Unit], **kwargs) -> ActivityForm:
    form = ActivityForm(today=local_today(), kind_ids={kind.id for kind in kinds}, **kwargs)
    form.kind.choices = choices((kind.id, kind.name) for kind in kinds)
    form.unit.choices = choices((unit.id, unit.name) for unit in units)
    return form


def _render_form(form: ActivityForm, status: int, activity: Activity | None = None, unit: Unit | None = None,
                 units: list[Unit] | None = None, draft: str = "", pending=()):
    return render_template("activities/form.html", form=form, activity=activity, unit=unit, units=units or [],
                           draft=draft or secrets.token_urlsafe(18), pending=pending), status


# Browsers cannot refill a file input: files chosen on a form that comes back with an error are kept on the
# server under the form's draft key (a hidden field) and shown as already attached.
DRAFT_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _draft_and_pending() -> tuple[str, list[StoredFile]]:
    """The form's draft key and the files kept under it (minus those the user ticked off); purges stale ones."""
    key = request.form.get("draft", "")
    if not DRAFT_KEY.fullmatch(key):
        return secrets.token_urlsafe(18), []
    services.purge_stale_pending()
    pending = queries.pending_files(current_user, key)
    removed = {value for value in request.form.getlist("remove_pending") if value.isdecimal()}
    dropped = [stored for stored in pending if str(stored.id) in removed]
    if dropped:
        services.drop_pending(dropped)
    return key, [stored for stored in pending if stored not in dropped]


def _keep_chosen_files(form: ActivityForm, unit: Unit, draft: str) -> list[StoredFile]:
    """After a validation error: the files that passed their checks wait on the server for the next try."""
    if form.checked_files:
        services.keep_pending(current_user, unit, draft, form.checked_files)
    return queries.pending_files(current_user, draft)


def _wants_submit() -> bool:
    return request.form.get("action") == "submit"


@bp.route("/activities/new", methods=["GET", "POST"])
@roles_required(ADMIN, STAFF, MONITOR)
def new():
    unit = _unit_to_log_for()
    units = _loggable_units()
    kinds = queries.active_kinds(unit)
    form = _activity_form(kinds, units)
    if request.method == "GET":
        form.unit.data = unit.id
        form.held_on.data = local_today()
        remembered = queries.last_kind_id(current_user.id)
        form.kind.data = remembered if remembered else (kinds[0].id if kinds else None)
        return _render_form(form, 200, unit=unit, units=units)
    draft, pending = _draft_and_pending()
    if form.validate_on_submit():
        activity = services.create_activity(current_user, unit, form.activity_data(), form.checked_files,
                                            submit=_wants_submit(), pending=pending)
        flash(_status_message(activity), "success")
        return redirect(url_for(".detail", activity_id=activity.id))
    return _render_form(form, 422, unit=unit, units=units, draft=draft, pending=_keep_chosen_files(form, unit, draft))


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@roles_required(ADMIN, STAFF, MONITOR)
def edit(activity_id: int):
    activity = get_permitted(Activity, activity_id, can_edit_activity)
    kinds = queries.active_kinds(activity.unit)
    if activity.kind not in kinds:  # a retired kind stays selectable on its own old activities
        kinds.append(activity.kind)
    values = {"kind": activity.kind_id, "held_on": activity.held_on, "topic": activity.topic,
              "place": activity.place, "host": activity.host, "present": activity.present,
              "expected": activity.expected, "summary": activity.summary, "version": activity.version,
              "unit": activity.unit_id, "base": base_values(services.ActivityData.of(activity))}
    form = _activity_form(kinds, [activity.unit], data=values)
    form.remove_files.choices = choices((stored.id, stored.filename) for stored in activity.files)
    if request.method == "GET":
        return _render_form(form, 200, activity=activity, unit=activity.unit)
    draft, pending = _draft_and_pending()
    if form.validate_on_submit():
        try:
            services.update_activity(current_user, activity, _int(form.version.data), form.activity_data(),
                                     form.checked_files, form.remove_files.data or [], submit=_wants_submit(),
                                     pending=pending, edited=form.edited_fields())
        except services.StaleVersion as stale:
            db.session.rollback()
            current = get_or_404(Activity, activity_id)
            form.form_errors.append(_("Someone else saved this activity after you opened it. "
                                      "Reload the page to see their changes."))
            # Both values of each field both people changed: theirs (saved) here, yours kept in the form.
            form.form_errors.extend(
                _("%(field)s saved meanwhile: %(value)s", field=FIELD_LABELS.get(name, name),
                  value=_display_value(current, name)) for name in stale.fields)
            return _render_form(form, 409, activity=current, unit=current.unit, draft=draft,
                                pending=_keep_chosen_files(form, current.unit, draft))
        except services.WrongState:
            abort(409)
        flash(_status_message(activity), "success")
        return redirect(url_for(".detail", activity_id=activity.id))
    return _render_form(form, 422, activity=activity, unit=activity.unit, draft=draft,
                        pending=_keep_chosen_files(form, activity.unit, draft))


def _display_value(activity: Activity, name: str) -> str:
    value = getattr(activity, name)
    if name == "kind_id":
        return activity.kind.name
    return "" if value is None else str(value)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _status_message(activity: Activity) -> str:
    return {"draft": _("Saved as a draft."), "submitted": _("Submitted for review."),
            "approved": _("Saved and approved.")}.get(activity.status, _("Saved."))


# ---- one activity and its review ------------------------------------------------------------------

@bp.route("/activities/<int:activity_id>")
@roles_required()
def detail(activity_id: int):
    activity = get_or_404(Activity, activity_id)
    return _render_detail(activity, ReturnForm(), 200)


def _render_detail(activity: Activity, return_form: ReturnForm, status: int):
    return render_template(
        "activities/detail.html", activity=activity, return_form=return_form,
        history=queries.activity_history(activity.id),
        may_edit=can_edit_activity(current_user, activity),
        may_submit=can_edit_activity(current_user, activity) and activity.status in ("draft", "returned"),
        may_review=can_review_activity(current_user, activity) and activity.status == "submitted"), status


@bp.route("/activities/<int:activity_id>/submit", methods=["POST"])
@roles_required(ADMIN, STAFF, MONITOR)
def submit(activity_id: int):
    activity = get_permitted(Activity, activity_id, can_edit_activity)
    _change_state(services.submit_activity, activity)
    flash(_status_message(activity), "success")
    return redirect(url_for(".detail", activity_id=activity.id))


@bp.route("/activities/<int:activity_id>/approve", methods=["POST"])
@roles_required(ADMIN, STAFF)
def approve(activity_id: int):
    activity = get_permitted(Activity, activity_id, can_review_activity)
    _change_state(services.approve_activity, activity)
    flash(_("Approved."), "success")
    from_queue = request.form.get("next") == "review"
    return redirect(url_for(".index", tab="review") if from_queue else url_for(".detail", activity_id=activity.id))


@bp.route("/activities/<int:activity_id>/return", methods=["POST"])
@roles_required(ADMIN, STAFF)
def return_(activity_id: int):
    activity = get_permitted(Activity, activity_id, can_review_activity)
    form = ReturnForm()
    if not form.validate_on_submit():
        return _render_detail(activity, form, 422)
    _change_state(services.return_activity, activity, form.comment.data.strip())
    flash(_("Returned with your comment."), "success")
    return redirect(url_for(".detail", activity_id=activity.id))


def _change_state(action, activity: Activity, *args) -> None:
    try:
        action(current_user, activity, *args)
    except services.WrongState:
        abort(409)


@bp.route("/activities/files/<int:file_id>")
@roles_required()
def file(file_id: int):
    stored = get_or_404(StoredFile, file_id)
    if stored.activity_id is None:
        abort(404)
    return send_stored_file(stored)


# ---- kinds (admin) --------------------------------------------------------------------------------

def _kind_form(kind: ActivityKind | None = None, blank: bool = False) -> KindForm:
    """Bound to the posted values unless `blank` (a fresh form after a successful add)."""
    taken, inherited = queries.names_taken(kind.unit if kind else current_user.unit, kind)
    extra = {"formdata": None} if blank else {}
    return KindForm(taken_names=taken, inherited_names=inherited, obj=kind, **extra)


def _managed_kind(kind_id: int) -> ActivityKind:
    """A kind the admin may change: 404 outside the scope, 403 for an enclosing unit's (read-only) kind."""
    return get_permitted(ActivityKind, kind_id, can_manage_kind)


def _render_kinds(new_form: KindForm, status: int = 200, editing: ActivityKind | None = None):
    """The kinds table with the add form; without JavaScript, `editing` is the row shown as a form."""
    return render_page_or_partial(
        "activities/kinds.html", "activities/_kinds.html", kinds=queries.all_kinds(), new_form=new_form,
        editing=editing.id if editing else None, edit_form=_kind_form(editing) if editing else None), status


@bp.route("/activities/kinds")
@roles_required(ADMIN)
def kinds():
    editing = request.args.get("edit", type=positive_int)
    return _render_kinds(_kind_form(), editing=_managed_kind(editing) if editing else None)


@bp.route("/activities/kinds", methods=["POST"])
@roles_required(ADMIN)
def create_kind():
    form = _kind_form()
    if not form.validate_on_submit():
        return _render_kinds(form, 422)
    try:
        services.create_kind(current_user, form.name.data.strip(), form.cadence.data, form.count.data,
                             form.level.data)
    except services.KindNameTaken:
        form = _kind_form()
        form.validate()  # the name is taken now: the form says so beside the field
        return _render_kinds(form, 422)
    if not is_htmx():
        return redirect(url_for(".kinds"))
    return _render_kinds(_kind_form(blank=True))


@bp.route("/activities/kinds/<int:kind_id>", methods=["GET", "POST"])
@roles_required(ADMIN)
def kind_row(kind_id: int):
    if request.method == "GET":
        return _kind_row(get_or_404(ActivityKind, kind_id))
    kind = _managed_kind(kind_id)
    form = _kind_form(kind)
    if not form.validate_on_submit():
        return render_template("activities/_kind_edit_row.html", kind=kind, edit_form=form), 422
    services.update_kind(current_user, kind, form.name.data.strip(), form.cadence.data, form.count.data,
                         form.level.data)
    return _kind_row(kind)


@bp.route("/activities/kinds/<int:kind_id>/edit")
@roles_required(ADMIN)
def edit_kind(kind_id: int):
    kind = _managed_kind(kind_id)
    if not is_htmx():
        return redirect(url_for(".kinds", edit=kind.id))
    return render_template("activities/_kind_edit_row.html", kind=kind, edit_form=_kind_form(kind))


@bp.route("/activities/kinds/<int:kind_id>/active", methods=["POST"])
@roles_required(ADMIN)
def toggle_kind(kind_id: int):
    kind = _managed_kind(kind_id)
    services.set_kind_active(current_user, kind, request.form.get("active") == "1")
    return _kind_row(kind)


def _kind_row(kind: ActivityKind):
    if not is_htmx():
        return redirect(url_for(".kinds"))
    return render_template("activities/_kind_row.html", kind=kind)


# ---- compliance -----------------------------------------------------------------------------------

@bp.route("/activities/compliance")
@roles_required(ADMIN, SECRETARY, STAFF)
def compliance_grid():
    today = local_today()
    year = request.args.get("year", today.year, type=positive_int)
    obligations = comp.obligations_of_year(year)
    chosen = _chosen_obligations(obligations)
    cells = comp.compliance(year, today, requirement_ids=[o.id for o in chosen]) if chosen else []
    years = sorted(set(published_plan_years()) | {today.year, year}, reverse=True)
    return render_page_or_partial(
        "activities/compliance.html", "activities/_grid.html", year=year, years=years, today=today,
        obligations=obligations, blocks=comp.grid(chosen, cells), cadences=CADENCES,
        plans_asking=lambda obligation: comp.plans_asking(obligations, obligation),
        kind_names=sorted({o.kind for o in obligations}), selected=request.args)


def _chosen_obligations(obligations: list[comp.Obligation]) -> list[comp.Obligation]:
    requirement = request.args.get("requirement", type=positive_int)
    kind, cadence = request.args.get("kind"), request.args.get("cadence")
    return [o for o in obligations
            if (not requirement or o.id == requirement) and (not kind or o.kind == kind)
            and (not cadence or o.cadence == cadence)]


@bp.route("/activities/compliance/cell")
@roles_required()
def compliance_cell():
    unit = get_or_404(Unit, request.args.get("unit", type=positive_int) or 0)
    found = queries.requirement_with_year(request.args.get("requirement", type=positive_int) or 0)
    if found is None:
        abort(404)
    requirement, year = found
    today = local_today()
    cells = comp.compliance(year, today, unit_ids=[unit.id], requirement_ids=[requirement.id])
    cell = next((c for c in cells if c.period == request.args.get("period")), None)
    if cell is None:
        abort(404)
    year_obligations = comp.obligations_of_year(year)
    obligation = next(o for o in year_obligations if o.id == requirement.id)
    unit_ids = queries.subtree_unit_ids(unit) if obligation.include_children else [unit.id]
    activities = queries.activities_between(unit_ids, obligation.kind_id, cell.start, cell.end)
    return render_page_or_partial("activities/cell.html", "activities/_cell.html", cell=cell,
                                  obligation=obligation, activities=activities, unit=unit,
                                  plans=comp.plans_asking(year_obligations, obligation))


@bp.route("/units/<int:unit_id>/obligations")
@roles_required()
def unit_obligations(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    today = local_today()
    obligations, cells = comp.obligations_now(today, [unit.id])
    return render_template("activities/obligations.html", unit=unit, today=today,
                           items=comp.unit_obligations(obligations, cells, today),
                           may_log=can_log_activity(current_user, unit))
