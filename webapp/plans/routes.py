"""Importing, checking and publishing the work plan (admin only)."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..errors.handlers import render_error
from ..models import Plan
from ..permissions import ADMIN, can_manage_plan, get_permitted, roles_required
from . import queries, services
from .diff import diff_plan
from .forms import (CADENCE_LABELS, LEVEL_LABELS, TASK_FIELD_LABELS, WEEKDAY_LABELS, AssignmentForm, DocumentForm,
                    ImportForm, ReimportConfirmForm, RequirementForm, SectionForm, TaskForm)
from .reader import ReadError

bp = Blueprint("plans", __name__, url_prefix="/plans")


@bp.app_context_processor
def plan_labels():
    return {"cadence_labels": CADENCE_LABELS, "level_labels": LEVEL_LABELS, "weekday_labels": WEEKDAY_LABELS,
            "task_field_labels": TASK_FIELD_LABELS, "plan_status_label": services.plan_status_label}


def _managed_plan(plan_id: int) -> Plan:
    """The plan if this admin manages it: out of scope is 404, an enclosing unit's plan 403."""
    return get_permitted(Plan, plan_id, can_manage_plan)


def _draft(plan_id: int) -> Plan:
    plan = _managed_plan(plan_id)
    if plan.status != "draft":
        abort(make_response(*render_error(409, _("A published plan cannot be changed."))))
    return plan


def _render_index(form: ImportForm, status: int = 200):
    return render_template("plans/index.html", plans=queries.plan_listing(), form=form), status


@bp.route("/")
@roles_required(ADMIN)
def index():
    return _render_index(ImportForm())


@bp.route("/", methods=["POST"])
@roles_required(ADMIN)
def create():
    form = ImportForm()
    if not form.validate():
        return _render_index(form, 422)
    try:
        document = services.read_document(form.content, form.filename, form.year.data)
    except ReadError as error:
        form.form_errors.append(str(error))
        return _render_index(form, 422)
    plan = services.create_draft(document, current_user.unit)
    flash(_("Draft plan created. Check it below, then publish it."), "success")
    return redirect(url_for("plans.show", plan_id=plan.id))


def _render_plan(plan: Plan, reimport_form: DocumentForm | None = None, status: int = 200):
    plan = queries.plan_for_preview(plan.id)
    return render_template("plans/plan.html", plan=plan, warnings=json.loads(plan.warnings or "[]"),
                           reimport_form=reimport_form or DocumentForm(), confirmations=_confirmations(plan)), status


def _units_text(names: list[str]) -> str:
    shown = "、".join(names[:4])
    return _("%(units)s and %(more)s more units", units=shown, more=len(names) - 4) if len(names) > 4 else shown


def _confirmations(plan: Plan) -> dict[str, str]:
    """What each button's confirmation says will appear or disappear, and from whose view."""
    impact = services.impact(plan)
    units = _units_text(impact.units) or _("no unit")
    title = f"《{plan.title}》"
    if plan.status == "draft" and plan.revision_of is not None:
        publish = _("Publish this version of %(title)s? Its differences are applied to the published plan: added "
                    "tasks get ledger rows, removed tasks are archived with their progress, changed tasks take the "
                    "new text; what units wrote stays. This draft then goes.", title=f"《{plan.revision_of.title}》")
        warnings = services.publish_warnings(plan)
        if warnings:
            publish += "\n\n" + "\n".join("⚠ " + warning for warning in warnings)
        return {"publish": publish, "delete": _(
            "Delete the draft %(title)s with its %(tasks)s tasks? Only administrators see a draft; this cannot be "
            "undone.", title=title, tasks=len(plan.tasks))}
    if plan.status == "draft":
        publish = _("Publish %(title)s? %(rows)s ledger rows go to %(units)s; the plan can no longer be edited.",
                    title=title, rows=impact.rows, units=units)
        warnings = services.publish_warnings(plan)
        if warnings:
            publish += "\n\n" + "\n".join("⚠ " + warning for warning in warnings)
        return {"publish": publish, "delete": _(
            "Delete the draft %(title)s with its %(tasks)s tasks? Only administrators see a draft; this cannot be "
            "undone.", title=title, tasks=len(plan.tasks))}
    if plan.status == "published":
        return {"withdraw": _(
            "Withdraw %(title)s? Its %(rows)s ledger rows disappear from the ledgers of %(units)s, from the "
            "dashboards and from the compliance grid, for everyone in these units and above. Nothing is deleted: "
            "progress, evidence and activities are kept, and the plan can be restored.",
            title=title, rows=impact.rows, units=units)}
    return {"restore": _(
        "Restore %(title)s? Its %(rows)s ledger rows come back on the ledgers of %(units)s, the dashboards and "
        "the compliance grid.", title=title, rows=impact.rows, units=units)}


@bp.route("/<int:plan_id>")
@roles_required(ADMIN)
def show(plan_id: int):
    return _render_plan(_managed_plan(plan_id))


# ---- tasks -------------------------------------------------------------------------------------

def _task_card(plan: Plan, task, retarget: bool = False):
    # A request from a row inside the card (a requirement) still redraws the whole card.
    headers = {"HX-Retarget": f"#task-{task.id}", "HX-Reswap": "outerHTML"} if retarget else {}
    return render_template("plans/_task.html", plan=plan, task=task), 200, headers


@bp.route("/<int:plan_id>/tasks/<int:task_id>")
@roles_required(ADMIN)
def show_task(plan_id: int, task_id: int):
    plan = _managed_plan(plan_id)
    return _task_card(plan, queries.task_in_plan(plan, task_id))


@bp.route("/<int:plan_id>/tasks/<int:task_id>/edit")
@roles_required(ADMIN)
def edit_task(plan_id: int, task_id: int):
    plan = _draft(plan_id)
    task = queries.task_in_plan(plan, task_id)
    return render_template("plans/_task_edit.html", plan=plan, task=task,
                           form=TaskForm(obj=task, plan_year=plan.year))


@bp.route("/<int:plan_id>/tasks/<int:task_id>", methods=["POST"])
@roles_required(ADMIN)
def update_task(plan_id: int, task_id: int):
    plan = _draft(plan_id)
    task = queries.task_in_plan(plan, task_id)
    form = TaskForm(plan_year=plan.year)
    if not form.validate():
        return render_template("plans/_task_edit.html", plan=plan, task=task, form=form), 422
    services.update_task(task, form.values())
    body, status, headers = _task_card(plan, task)
    # The page's warnings are outside the card: they follow the edit out of band.
    warnings = render_template("plans/_warnings.html", warnings=json.loads(plan.warnings or "[]"), oob=True)
    return body + warnings, status, headers


# ---- requirements ------------------------------------------------------------------------------

def _requirement_edit(plan, task, form, requirement=None, status=200):
    return render_template("plans/_requirement_edit.html", plan=plan, task=task, requirement=requirement,
                           form=form, kind_names=queries.activity_kind_names(plan.unit)), status


@bp.route("/<int:plan_id>/requirements/<int:requirement_id>")
@roles_required(ADMIN)
def show_requirement(plan_id: int, requirement_id: int):
    plan = _managed_plan(plan_id)
    requirement = queries.requirement_in_plan(plan, requirement_id)
    return render_template("plans/_requirement.html", plan=plan, task=requirement.task, requirement=requirement)


@bp.route("/<int:plan_id>/requirements/<int:requirement_id>/edit")
@roles_required(ADMIN)
def edit_requirement(plan_id: int, requirement_id: int):
    plan = _draft(plan_id)
    requirement = queries.requirement_in_plan(plan, requirement_id)
    return _requirement_edit(plan, requirement.task, RequirementForm(obj=requirement), requirement)


@bp.route("/<int:plan_id>/requirements/<int:requirement_id>", methods=["POST"])
@roles_required(ADMIN)
def update_requirement(plan_id: int, requirement_id: int):
    plan = _draft(plan_id)
    requirement = queries.requirement_in_plan(plan, requirement_id)
    form = RequirementForm()
    if not form.validate():
        return _requirement_edit(plan, requirement.task, form, requirement, 422)
    services.update_requirement(requirement, form.values())
    return _task_card(plan, requirement.task, retarget=True)


@bp.route("/<int:plan_id>/requirements/<int:requirement_id>/delete", methods=["POST"])
@roles_required(ADMIN)
def delete_requirement(plan_id: int, requirement_id: int):
    plan = _draft(plan_id)
    requirement = queries.requirement_in_plan(plan, requirement_id)
    task = requirement.task
    services.delete_requirement(requirement)
    return _task_card(plan, task)


@bp.route("/<int:plan_id>/tasks/<int:task_id>/requirements/new")
@roles_required(ADMIN)
def new_requirement(plan_id: int, task_id: int):
    plan = _draft(plan_id)
    return _requirement_edit(plan, queries.task_in_plan(plan, task_id), RequirementForm())


@bp.route("/<int:plan_id>/tasks/<int:task_id>/requirements", methods=["POST"])
@roles_required(ADMIN)
def add_requirement(plan_id: int, task_id: int):
    plan = _draft(plan_id)
    task = queries.task_in_plan(plan, task_id)
    form = RequirementForm()
    if not form.validate():
        return _requirement_edit(plan, task, form, status=422)
    services.add_requirement(task, form.values())
    return _task_card(plan, task, retarget=True)


# ---- sections ----------------------------------------------------------------------------------

@bp.route("/<int:plan_id>/sections/<int:section_id>")
@roles_required(ADMIN)
def show_section(plan_id: int, section_id: int):
    plan = _managed_plan(plan_id)
    return render_template("plans/_section_title.html", plan=plan, section=queries.section_in_plan(plan, section_id))


@bp.route("/<int:plan_id>/sections/<int:section_id>/edit")
@roles_required(ADMIN)
def edit_section(plan_id: int, section_id: int):
    plan = _draft(plan_id)
    section = queries.section_in_plan(plan, section_id)
    return render_template("plans/_section_edit.html", plan=plan, section=section, form=SectionForm(obj=section))


@bp.route("/<int:plan_id>/sections/<int:section_id>", methods=["POST"])
@roles_required(ADMIN)
def update_section(plan_id: int, section_id: int):
    plan = _draft(plan_id)
    section = queries.section_in_plan(plan, section_id)
    form = SectionForm()
    if not form.validate():
        return render_template("plans/_section_edit.html", plan=plan, section=section, form=form), 422
    services.update_section(section, form.title.data.strip())
    return render_template("plans/_section_title.html", plan=plan, section=section)


# ---- assignments -------------------------------------------------------------------------------

@bp.route("/<int:plan_id>/tasks/<int:task_id>/assignments/edit")
@roles_required(ADMIN)
def edit_assignments(plan_id: int, task_id: int):
    plan = _managed_plan(plan_id)
    task = queries.task_in_plan(plan, task_id)
    return render_template("plans/_assignments_edit.html", plan=plan, task=task, form=AssignmentForm(),
                           unit_groups=queries.units_by_kind(queries.active_units_under(plan.unit)),
                           assigned={a.unit_id for a in task.assignments})


@bp.route("/<int:plan_id>/tasks/<int:task_id>/assignments", methods=["POST"])
@roles_required(ADMIN)
def update_assignments(plan_id: int, task_id: int):
    plan = _managed_plan(plan_id)
    task = queries.task_in_plan(plan, task_id)
    form = AssignmentForm()
    if not form.validate():
        abort(400)
    services.set_assignments(task, set(form.units.data or []))
    return _task_card(plan, task)


# ---- publish, re-import, copy ------------------------------------------------------------------

@bp.route("/<int:plan_id>/publish", methods=["POST"])
@roles_required(ADMIN)
def publish(plan_id: int):
    plan = _managed_plan(plan_id)
    if plan.status == "published":  # a second click: the first one did it
        abort(make_response(*render_error(409, _("The plan is already published."))))
    plan = _draft(plan_id)
    if plan.revision_of_id is not None:
        return _publish_revision(plan)
    try:
        rows = services.publish(plan)
    except services.AlreadyDone as done:
        flash(str(done), "info")
    except services.PlanError as error:
        flash(str(error), "error")
    else:
        flash(_("The plan is published: %(rows)s ledger rows were created.", rows=rows), "success")
    return redirect(url_for("plans.show", plan_id=plan.id))


def _publish_revision(draft: Plan):
    original_id = draft.revision_of_id
    try:
        result = services.publish_revision(draft)
    except services.AlreadyDone as done:
        flash(str(done), "info")
    except services.PlanError as error:
        flash(str(error), "error")
        return redirect(url_for("plans.show", plan_id=draft.id))
    else:
        flash(_("The new version is applied: %(added)s tasks added (%(rows)s ledger rows), %(archived)s archived "
                "with their progress, %(changed)s changed.", added=result.added, rows=result.rows_added,
                archived=result.archived, changed=result.changed), "success")
    return redirect(url_for("plans.show", plan_id=original_id))


@bp.route("/<int:plan_id>/revise", methods=["POST"])
@roles_required(ADMIN)
def revise(plan_id: int):
    """Edit a published plan: a draft revision to change, published later as a diff."""
    plan = _managed_plan(plan_id)
    try:
        draft = services.start_revision(plan)
    except services.PlanError as error:
        abort(make_response(*render_error(409, str(error))))
    return redirect(url_for("plans.show", plan_id=draft.id))


def _life_step(plan_id: int, action, done_message: str, *, gone: bool = False):
    """Withdraw, restore or delete: a repeat of the same request is answered as done, not as an error."""
    plan = _managed_plan(plan_id)
    try:
        action(plan)
    except services.AlreadyDone as done:
        flash(str(done), "info")
    except services.PlanError as error:
        abort(make_response(*render_error(409, str(error))))
    else:
        flash(done_message, "success")
    return redirect(url_for("plans.index") if gone else url_for("plans.show", plan_id=plan_id))


@bp.route("/<int:plan_id>/withdraw", methods=["POST"])
@roles_required(ADMIN)
def withdraw(plan_id: int):
    return _life_step(plan_id, services.withdraw,
                      _("The plan is withdrawn: its rows left the ledgers, dashboards and compliance."))


@bp.route("/<int:plan_id>/restore", methods=["POST"])
@roles_required(ADMIN)
def restore(plan_id: int):
    return _life_step(plan_id, services.restore, _("The plan is published again."))


@bp.route("/<int:plan_id>/delete", methods=["POST"])
@roles_required(ADMIN)
def delete(plan_id: int):
    plan = _managed_plan(plan_id)
    if plan.status != "draft":
        abort(make_response(*render_error(409, _("Only a draft can be deleted; withdraw a published plan instead."))))
    return _life_step(plan_id, services.delete_draft, _("The draft was deleted."), gone=True)


@bp.route("/<int:plan_id>/reimport", methods=["POST"])
@roles_required(ADMIN)
def reimport(plan_id: int):
    """Read a changed document and show what it would change; nothing is replaced yet."""
    plan = _revisable(plan_id)
    form = DocumentForm()
    if not form.validate():
        return _render_plan(plan, form, 422)
    try:
        document = services.read_document(form.content, form.filename, plan.year)
    except ReadError as error:
        form.form_errors.append(str(error))
        return _render_plan(plan, form, 422)
    return render_template("plans/reimport.html", plan=plan, diff=diff_plan(plan, document.parsed),
                           warnings=document.parsed["warnings"],
                           form=ReimportConfirmForm(token=services.reimport_token(plan, document)))


@bp.route("/<int:plan_id>/reimport/confirm", methods=["POST"])
@roles_required(ADMIN)
def confirm_reimport(plan_id: int):
    plan = _revisable(plan_id)
    form = ReimportConfirmForm()
    try:
        document = services.document_from_token(plan, form.token.data or "")
        if plan.status == "published":
            result = services.revise_published(plan, document)
            flash(_("The new version is applied: %(added)s tasks added (%(rows)s ledger rows), %(archived)s archived "
                    "with their progress, %(changed)s changed.", added=result.added, rows=result.rows_added,
                    archived=result.archived, changed=result.changed), "success")
        else:
            services.replace_content(plan, document)
            flash(_("The plan was replaced by the new document."), "success")
    except services.PlanError as error:
        flash(str(error), "error")
    return redirect(url_for("plans.show", plan_id=plan.id))


def _revisable(plan_id: int) -> Plan:
    """A draft (replaced by the new document) or a published plan (the new version applied as a diff)."""
    plan = _managed_plan(plan_id)
    if plan.status not in ("draft", "published"):
        abort(make_response(*render_error(409, _("Restore the plan before importing a new version."))))
    return plan


@bp.route("/<int:plan_id>/copy", methods=["POST"])
@roles_required(ADMIN)
def copy_to_next_year(plan_id: int):
    plan = _managed_plan(plan_id)
    try:
        new_plan = services.copy_to_next_year(plan)
    except services.PlanError as error:
        flash(str(error), "error")
        return redirect(url_for("plans.show", plan_id=plan.id))
    flash(_("Copied to a draft for %(year)s.", year=new_plan.year), "success")
    return redirect(url_for("plans.show", plan_id=new_plan.id))
