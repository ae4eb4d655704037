"""Pre-review: the register, submitting (from a phone), stage-by-stage review, kinds and the Excel register."""
from __future__ import annotations

from math import ceil

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, gettext as _
from flask_login import current_user

from ..models import PrereviewFile, PrereviewItem, PrereviewKind, Unit
from ..models.prereview import PREREVIEW_STATUSES
from ..params import positive_int
from ..permissions import (ADMIN, MONITOR, SECRETARY, STAFF, can_decide_prereview, can_edit_prereview,
                           can_manage_prereview_kind, can_record_prereview_outcome, can_register_prereview,
                           get_or_404, roles_required)
from ..uploads import ACCEPT_ATTRIBUTE, send_stored_file
from ..xlsx import xlsx_response
from . import clock, excel, queries, services
from .forms import (CATEGORY_LABELS, DECISION_LABELS, LEVEL_LABELS, MAX_STAGES, OUTCOME_LABELS, ROLE_LABELS,
                    STATUS_LABELS, DecisionForm, ItemForm, KindForm, OutcomeForm, choices, stage_rows_from)

bp = Blueprint("prereview", __name__)


@bp.context_processor
def _labels():
    today = clock.local_today()
    return {"status_label": lambda s: STATUS_LABELS.get(s, s), "category_label": lambda c: CATEGORY_LABELS.get(c, c),
            "role_name": lambda r: ROLE_LABELS.get(r, r), "level_label": lambda lv: LEVEL_LABELS.get(lv, lv),
            "decision_label": lambda d: DECISION_LABELS.get(d, d), "today": today,
            "is_red": lambda item: services.is_red(item, today),
            "deadline_of": services.submission_deadline, "upload_accept": ACCEPT_ATTRIBUTE,
            "local_time": lambda moment: format_datetime(moment, "yyyy-MM-dd HH:mm") if moment else ""}


@bp.app_template_global("prereview_home")
def prereview_home():
    """What a home page shows: items awaiting the user's decision, and the own unit's items flagged red."""
    if not current_user.is_authenticated:
        return {"queue": [], "red": []}
    queue = queries.review_queue(current_user) if current_user.role != MONITOR else []
    return {"queue": queue, "red": queries.red_items(current_user), "today": clock.local_today(),
            "is_red": lambda item: services.is_red(item, clock.local_today())}


# ---- the register ---------------------------------------------------------------------------------

@bp.route("/prereview/")
@roles_required()
def index():
    args = request.args
    filters = queries.ItemFilters(
        unit_id=args.get("unit", type=positive_int), kind_id=args.get("kind", type=positive_int),
        status=args.get("status") if args.get("status") in PREREVIEW_STATUSES else None)
    page = max(args.get("page", 1, type=positive_int), 1)
    items, total = queries.item_page(filters, page)
    return render_template(
        "prereview/index.html", filters=filters, items=items, total=total, page_number=page,
        pages=max(ceil(total / queries.PAGE_SIZE), 1), statuses=PREREVIEW_STATUSES, kinds=queries.all_kinds(),
        units=queries.active_units(), queue=queries.review_queue(current_user) if current_user.role != MONITOR else [],
        may_register=current_user.role in (ADMIN, STAFF, MONITOR))


@bp.route("/units/<int:unit_id>/prereview")
@roles_required()
def unit_register(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    subtree = request.args.get("subtree") == "1"
    items = queries.unit_items(unit, subtree=subtree)
    by_status = {status: [item for item in items if item.status == status] for status in PREREVIEW_STATUSES}
    return render_template("prereview/unit.html", unit=unit, subtree=subtree, by_status=by_status,
                           statuses=PREREVIEW_STATUSES, count=len(items),
                           may_register=can_register_prereview(current_user, unit))


@bp.route("/units/<int:unit_id>/prereview.xlsx")
@roles_required()
def register_xlsx(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    subtree = request.args.get("subtree") == "1"
    items = queries.unit_items(unit, subtree=subtree)
    names = queries.user_names(step.user_id for item in items for step in item.steps)
    title = excel.register_title(unit, subtree)
    return xlsx_response(excel.register_workbook(title, items, names), f"{title}.xlsx", "prereview.xlsx")


# ---- registering and editing ----------------------------------------------------------------------

def _registrable_units() -> list[Unit]:
    return [unit for unit in queries.active_units() if can_register_prereview(current_user, unit)]


def _unit_to_register_for() -> Unit:
    unit_id = (request.form.get("unit", type=positive_int) or request.args.get("unit", type=positive_int)
               or current_user.unit_id)
    unit = get_or_404(Unit, unit_id)
    if not can_register_prereview(current_user, unit):
        abort(403)
    return unit


def _ensure_kinds() -> None:
    """Seed the standard kinds on the first POST that needs them; a GET writes nothing (a new tree gets them when
    it is created, see activities.services.seed_standard_kinds)."""
    if request.method == "POST" and not queries.all_kinds():
        services.ensure_kinds(queries.root_unit(current_user))
        from ..extensions import db
        db.session.commit()


def _item_form(kinds: list[PrereviewKind], units: list[Unit], **kwargs) -> ItemForm:
    form = ItemForm(kinds={kind.id: kind.category for kind in kinds}, **kwargs)
    form.kind.choices = choices((kind.id, kind.name) for kind in kinds)
    form.unit.choices = choices((unit.id, unit.name) for unit in units)
    return form


def _render_form(form: ItemForm, status: int, kinds, item: PrereviewItem | None = None, unit: Unit | None = None,
                 units: list[Unit] | None = None):
    files_lost = request.method == "POST" and any(f.filename for f in request.files.getlist("files"))
    return render_template("prereview/form.html", form=form, item=item, unit=unit, units=units or [], kinds=kinds,
                           files_lost=files_lost), status


def _wants_submit() -> bool:
    return request.form.get("action") == "submit"


def _saved_message(item: PrereviewItem) -> str:
    if item.status == "submitted":
        return _("Submitted for pre-review (marked late: less than %(days)d days ahead).",
                 days=item.kind.lead_days) if item.late else _("Submitted for pre-review.")
    return _("Saved as a draft.") if item.status == "draft" else _("Saved.")


@bp.route("/prereview/new", methods=["GET", "POST"])
@roles_required(ADMIN, STAFF, MONITOR)
def new():
    _ensure_kinds()
    unit = _unit_to_register_for()
    units = _registrable_units()
    kinds = queries.active_kinds(unit)
    form = _item_form(kinds, units)
    if request.method == "GET":
        form.unit.data = unit.id
        form.kind.data = kinds[0].id if kinds else None
    if form.validate_on_submit():
        item = services.create_item(current_user, unit, form.item_data(), form.checked_files, submit=_wants_submit())
        flash(_saved_message(item), "success")
        return redirect(url_for(".detail", item_id=item.id))
    return _render_form(form, 422 if request.method == "POST" else 200, kinds, unit=unit, units=units)


@bp.route("/prereview/<int:item_id>/edit", methods=["GET", "POST"])
@roles_required(ADMIN, STAFF, MONITOR)
def edit(item_id: int):
    item = get_or_404(PrereviewItem, item_id)
    if not can_edit_prereview(current_user, item):
        abort(403 if item.status in ("draft", "returned") else 409)
    kinds = queries.active_kinds(item.unit)
    if item.kind not in kinds:  # a retired kind stays selectable on its own old items
        kinds.append(item.kind)
    values = {"kind": item.kind_id, "title": item.title, "held_on": item.held_on, "place": item.place,
              "channel": item.channel, "speaker": item.speaker, "summary": item.summary, "version": item.version,
              "unit": item.unit_id}
    form = _item_form(kinds, [item.unit], data=values)
    form.remove_files.choices = choices((stored.id, stored.filename) for stored in item.files)
    if form.validate_on_submit():
        try:
            services.update_item(current_user, item, _int(form.version.data), form.item_data(), form.checked_files,
                                 form.remove_files.data or [], submit=_wants_submit())
        except services.StaleVersion:
            form.form_errors.append(_("Someone else saved this item after you opened it. "
                                      "Reload the page to see their changes."))
            return _render_form(form, 409, kinds, item=item, unit=item.unit)
        except services.WrongState:
            abort(409)
        flash(_saved_message(item), "success")
        return redirect(url_for(".detail", item_id=item.id))
    return _render_form(form, 422 if request.method == "POST" else 200, kinds, item=item, unit=item.unit)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


# ---- one item, its review and outcome -------------------------------------------------------------

def _render_detail(item: PrereviewItem, status: int = 200, decision_form: DecisionForm | None = None,
                   outcome_form: OutcomeForm | None = None, conflict: str = ""):
    steps = queries.item_steps(item.id)
    may_decide = can_decide_prereview(current_user, item)
    decision_form = decision_form or DecisionForm(formdata=None, data={"version": item.version, "decision": "pass"})
    outcome_form = outcome_form or OutcomeForm(formdata=None, data={"version": item.version})
    outcome_form.outcome.choices = choices((key, OUTCOME_LABELS[key])
                                           for key in services.OUTCOMES.get(item.kind.category, ()))
    return render_template(
        "prereview/detail.html", item=item, rounds=queries.rounds_of(steps), stages=item.kind.stages,
        may_edit=can_edit_prereview(current_user, item), may_decide=may_decide, conflict=conflict,
        may_outcome=can_record_prereview_outcome(current_user, item), decision_form=decision_form,
        outcome_form=outcome_form, own_submission=current_user.id in (item.submitted_by_id, item.created_by_id)), status


@bp.route("/prereview/<int:item_id>")
@roles_required()
def detail(item_id: int):
    return _render_detail(get_or_404(PrereviewItem, item_id))


@bp.route("/prereview/<int:item_id>/submit", methods=["POST"])
@roles_required(ADMIN, STAFF, MONITOR)
def submit(item_id: int):
    item = get_or_404(PrereviewItem, item_id)
    if not can_register_prereview(current_user, item.unit):
        abort(403)
    try:
        services.submit_item(current_user, item, _int(request.form.get("version")))
    except (services.StaleVersion, services.WrongState):
        return _conflict(item)
    flash(_saved_message(item), "success")
    return redirect(url_for(".detail", item_id=item.id))


def _conflict(item: PrereviewItem):
    """409 with the item as it is now: someone else acted on it first."""
    from ..extensions import db
    db.session.expire_all()
    item = get_or_404(PrereviewItem, item.id)
    return _render_detail(item, 409, conflict=_("Someone else acted on this item after you opened it; "
                                                 "this is how it stands now."))


@bp.route("/prereview/<int:item_id>/decide", methods=["POST"])
@roles_required(ADMIN, SECRETARY, STAFF)
def decide(item_id: int):
    item = get_or_404(PrereviewItem, item_id)
    form = DecisionForm()
    if item.status != "submitted" or _int(form.version.data) != item.version:
        return _conflict(item)
    if not can_decide_prereview(current_user, item):
        abort(403)  # not this user's stage, or their own submission
    if not form.validate_on_submit():
        return _render_detail(item, 422, decision_form=form)
    try:
        services.decide(current_user, item, _int(form.version.data), form.decision.data,
                        (form.comment.data or "").strip())
    except (services.StaleVersion, services.WrongState):
        return _conflict(item)
    except services.NotYourStage:
        abort(403)
    flash(_("Your decision is recorded."), "success")
    return redirect(url_for(".detail", item_id=item.id))


@bp.route("/prereview/<int:item_id>/outcome", methods=["POST"])
@roles_required(ADMIN, STAFF, MONITOR)
def outcome(item_id: int):
    item = get_or_404(PrereviewItem, item_id)
    if not can_register_prereview(current_user, item.unit):
        abort(403)
    form = OutcomeForm()
    form.outcome.choices = choices((key, OUTCOME_LABELS[key]) for key in services.OUTCOMES.get(item.kind.category, ()))
    if item.status != "approved" or _int(form.version.data) != item.version:
        return _conflict(item)
    if not form.validate_on_submit():
        return _render_detail(item, 422, outcome_form=form)
    try:
        services.record_outcome(current_user, item, _int(form.version.data), form.outcome.data,
                                form.outcome_on.data, (form.link.data or "").strip())
    except (services.StaleVersion, services.WrongState):
        return _conflict(item)
    flash(_("Saved."), "success")
    return redirect(url_for(".detail", item_id=item.id))


@bp.route("/prereview/files/<int:file_id>")
@roles_required()
def file(file_id: int):
    return send_stored_file(get_or_404(PrereviewFile, file_id))


# ---- kinds and their stages (admin) ---------------------------------------------------------------

def _kind_form(kind: PrereviewKind | None = None, blank: bool = False) -> KindForm:
    taken = queries.kind_names_taken(kind.unit if kind else current_user.unit, kind)
    if blank or request.method == "GET":
        return KindForm(formdata=None, obj=kind, taken_names=taken, stage_rows=kind.stages if kind else [])
    return KindForm(taken_names=taken, stage_rows=stage_rows_from(request.form))


def _render_kinds(new_form: KindForm, status: int = 200, edit_form: KindForm | None = None,
                  editing: PrereviewKind | None = None):
    return render_template("prereview/kinds.html", kinds=queries.all_kinds(), new_form=new_form, editing=editing,
                           edit_form=edit_form, max_stages=MAX_STAGES, roles=ROLE_LABELS, levels=LEVEL_LABELS,
                           may_manage=lambda kind: can_manage_prereview_kind(current_user, kind)), status


@bp.route("/prereview/kinds")
@roles_required(ADMIN)
def kinds():
    _ensure_kinds()
    return _render_kinds(_kind_form(blank=True))


@bp.route("/prereview/kinds", methods=["POST"])
@roles_required(ADMIN)
def create_kind():
    form = _kind_form()
    if not form.validate_on_submit():
        return _render_kinds(form, 422)
    services.create_kind(current_user, form.name.data.strip(), form.category.data, form.lead_days.data,
                         form.stage_rows)
    flash(_("Saved."), "success")
    return redirect(url_for(".kinds"))


@bp.route("/prereview/kinds/<int:kind_id>", methods=["GET", "POST"])
@roles_required(ADMIN)
def edit_kind(kind_id: int):
    kind = get_or_404(PrereviewKind, kind_id)
    if not can_manage_prereview_kind(current_user, kind):
        abort(403)
    form = _kind_form(kind)
    if request.method == "POST":
        if not form.validate_on_submit():
            return _render_kinds(_kind_form(blank=True), 422, edit_form=form, editing=kind)
        services.update_kind(current_user, kind, form.name.data.strip(), form.category.data, form.lead_days.data,
                             form.stage_rows, bool(form.active.data))
        flash(_("Saved."), "success")
        return redirect(url_for(".kinds"))
    return _render_kinds(_kind_form(blank=True), edit_form=form, editing=kind)

