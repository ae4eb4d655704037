"""The bell, the reminder list, reminder settings, group robots (admin) and nudges (催办)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..htmx import is_htmx
from ..models import Unit
from ..params import optional_positive_int
from ..permissions import ADMIN, SECRETARY, STAFF, can_manage_robot, can_nudge, get_or_404, roles_required
from . import queries, services
from .forms import NudgeForm, RobotForm, SettingsForm
from .labels import DIGEST_LABELS, NUDGE_ABOUT, ROBOT_FORMAT_LABELS, STATUS_LABELS, kind_label

bp = Blueprint("reminders", __name__, url_prefix="/reminders")

INVALID = 422
CHANGED_EVENT = "reminders-changed"


@bp.app_context_processor
def bell_helpers():
    def unread_reminders() -> int:
        return queries.unread_count(current_user) if current_user.is_authenticated else 0
    return {"unread_reminders": unread_reminders, "reminder_kind_label": kind_label}


@bp.route("/")
@roles_required()
def index():
    return render_template("reminders/index.html", reminders=queries.reminders_for(current_user))


@bp.route("/bell")
@roles_required()
def bell():
    """The bell alone: htmx polls it (at most once a minute) and reloads it after mark-as-read."""
    return render_template("reminders/_bell.html")


@bp.route("/read", methods=["POST"])
@roles_required()
def mark_read():
    """Mark one reminder (form field `id`) or all of them (`all=1`) as read."""
    reminder_id = optional_positive_int(request.form.get("id", ""))
    if reminder_id is None and request.form.get("all") != "1":
        abort(400)
    services.mark_read(current_user, reminder_id)
    if is_htmx() and reminder_id is not None:
        reminder = queries.reminder_of(current_user, reminder_id)
        if reminder is None:
            abort(404)
        return render_template("reminders/_item.html", reminder=reminder), 200, {"HX-Trigger": CHANGED_EVENT}
    if is_htmx():
        return (render_template("reminders/_list.html", reminders=queries.reminders_for(current_user)), 200,
                {"HX-Trigger": CHANGED_EVENT})
    return redirect(url_for("reminders.index"))


@bp.route("/settings", methods=["GET", "POST"])
@roles_required()
def settings():
    setting = queries.setting_of(current_user)
    form = SettingsForm(data={"email": setting.email if setting else "", "digest": setting.digest if setting else "daily"})
    status = 200
    if request.method == "POST":
        form = SettingsForm()
        if form.validate():
            services.save_settings(current_user, form.email.data, form.digest.data)
            flash(_("Reminder settings saved."), "success")
            return redirect(url_for("reminders.settings"))
        status = INVALID
    return render_template("reminders/settings.html", form=form, digest_labels=DIGEST_LABELS), status


# ---- group robots (admin) -------------------------------------------------------------------------

def _admin_page(form: RobotForm, status: int = 200):
    form.unit_id.choices = [(unit.id, "\u3000" * (unit.depth - current_user.unit.depth) + unit.name)
                            for unit in queries.units_in_scope()]
    return render_template("reminders/admin.html", form=form, robots=queries.robots_in_scope(current_user),
                           deliveries=queries.deliveries_in_scope(current_user), status_labels=STATUS_LABELS,
                           format_labels=ROBOT_FORMAT_LABELS), status


@bp.route("/admin")
@roles_required(ADMIN)
def admin():
    return _admin_page(RobotForm(formdata=None))


@bp.route("/robots", methods=["POST"])
@roles_required(ADMIN)
def save_robot():
    form = RobotForm()
    if not form.validate():
        return _admin_page(form, INVALID)
    unit = get_or_404(Unit, form.unit_id.data)
    if not can_manage_robot(current_user, unit):
        abort(403)
    services.save_robot(unit, form.url.data, form.format.data)
    flash(_("Group robot saved for %(unit)s.", unit=unit.name), "success")
    return redirect(url_for("reminders.admin"))


@bp.route("/robots/<int:unit_id>/delete", methods=["POST"])
@roles_required(ADMIN)
def delete_robot(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    if not can_manage_robot(current_user, unit):
        abort(403)
    if services.delete_robot(unit):
        flash(_("Group robot removed from %(unit)s.", unit=unit.name), "success")
    return redirect(url_for("reminders.admin"))


# ---- nudges (催办) ---------------------------------------------------------------------------------

@bp.route("/nudge", methods=["GET", "POST"])
@roles_required(SECRETARY, STAFF)
def nudge():
    from ..clock import local_today
    form = NudgeForm() if request.method == "POST" else NudgeForm(formdata=None)
    status = 200
    if request.method == "POST":
        if form.validate():
            units = [unit for unit in queries.units_below(current_user, form.unit_ids) if can_nudge(current_user, unit)]
            if units:
                services.send_nudges(current_user, units, form.about.data, form.note.data or "")
                flash(_("Nudged %(count)d units.", count=len(units)), "success")
                return redirect(url_for("reports.dashboard"))
            form.units.errors = [*form.units.errors, _("Choose at least one unit.")]
        status = INVALID
        chosen = set(form.unit_ids)
    else:
        preselected = optional_positive_int(request.args.get("unit", ""))
        chosen = {preselected} if preselected else set()
    targets = queries.nudge_targets(current_user, local_today(), chosen)
    return render_template("reminders/nudge.html", form=form, targets=targets, chosen=chosen), status


@bp.route("/nudges")
@roles_required(ADMIN, SECRETARY, STAFF)
def nudges():
    """Who was nudged, when, about what: a panel the dashboard loads (scoped to the unit it shows)."""
    unit_id = optional_positive_int(request.args.get("unit", ""))
    unit = get_or_404(Unit, unit_id) if unit_id else current_user.unit
    return render_template("reminders/_nudges.html", nudges=queries.recent_nudges(unit), unit=unit,
                           about_labels=NUDGE_ABOUT, may_nudge=current_user.role in (SECRETARY, STAFF))
