"""Units and users of the admin's subtree: lists with active search, inline editing with htmx."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_user

from ..extensions import db
from ..htmx import is_htmx, render_page_or_partial
from ..models import Unit, User
from ..params import optional_positive_int
from ..permissions import ADMIN, get_or_404, roles_required
from . import queries, services
from .forms import PasswordResetForm, UnitForm, UserCreateForm, UserEditForm, unit_choices
from .queries import UserFilters

bp = Blueprint("admin", __name__, url_prefix="/admin")

INVALID = 422


def _base_depth() -> int:
    return current_user.unit.depth


def _with_unit_choices(form, field_name: str):
    form[field_name].choices = unit_choices(queries.unit_tree(_base_depth()))
    return form


def _refused(form, error: services.InvalidChange):
    """Put a service's refusal beside its field, as if the form itself had found it."""
    db.session.rollback()
    form[error.field].errors = [*form[error.field].errors, error.message]
    return form


def _first_error(form, default: str) -> str:
    """The field to focus when an editor comes back: the first one with an error."""
    return next((field.name for field in form if field.errors), default)


def _fragment(template: str, status: int = 200, **context):
    return render_template(template, **context), status


def _created(template: str, event: str, **context):
    """A fresh create form; the event makes the page's filter form reload the list (current filters kept)."""
    return render_template(template, **context), 200, {"HX-Trigger": event}


# ---- units -------------------------------------------------------------------------------------

def _unit_table_context(search: str) -> dict:
    return {"listings": queries.unit_tree(_base_depth(), search), "search": search}


def _unit_row(unit: Unit, status: int = 200, **context):
    item = queries.unit_listing(unit, _base_depth())
    return _fragment("admin/_unit_row.html", status, item=item, **context)


def _unit_editor(unit: Unit, form: UnitForm, status: int = 200, focus: str = "name"):
    root = queries.is_scope_root(unit)
    return _fragment("admin/_unit_row_edit.html", status, unit=unit, form=form, is_root=root, focus=focus)


@bp.route("/units")
@roles_required(ADMIN)
def units():
    search = request.args.get("q", "")
    form = _with_unit_choices(UnitForm(formdata=None), "parent_id")
    return render_page_or_partial("admin/units.html", "admin/_unit_table.html", create_form=form,
                                  **_unit_table_context(search))


@bp.route("/units", methods=["POST"])
@roles_required(ADMIN)
def unit_create():
    form = _with_unit_choices(UnitForm(), "parent_id")
    if form.validate():
        try:
            unit = services.create_unit(name=form.name.data, kind=form.kind.data, category=form.category.data,
                                        parent_id=form.parent_id.data)
        except services.InvalidChange as error:
            _refused(form, error)
        else:
            if not is_htmx():
                return redirect(url_for(".units"))
            fresh = _with_unit_choices(UnitForm(formdata=None, kind=unit.kind, parent_id=unit.parent_id), "parent_id")
            return _created("admin/_unit_create.html", "units-changed", create_form=fresh, created=unit)
    if not is_htmx():
        return render_template("admin/units.html", create_form=form, **_unit_table_context("")), INVALID
    return _fragment("admin/_unit_create.html", INVALID, create_form=form)


@bp.route("/units/<int:unit_id>/row")
@roles_required(ADMIN)
def unit_row(unit_id: int):
    return _unit_row(get_or_404(Unit, unit_id), focus=True)


@bp.route("/units/<int:unit_id>/edit")
@roles_required(ADMIN)
def unit_edit(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    form = _with_unit_choices(UnitForm(formdata=None, obj=unit), "parent_id")
    return _unit_editor(unit, form, focus=request.args.get("focus", "name"))


@bp.route("/units/<int:unit_id>", methods=["POST"])
@roles_required(ADMIN)
def unit_update(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    form = _with_unit_choices(UnitForm(), "parent_id")
    if form.validate():
        try:
            services.update_unit(unit, name=form.name.data, kind=form.kind.data, category=form.category.data,
                                 parent_id=form.parent_id.data)
            return _unit_row(unit, focus=True, saved=True)
        except services.InvalidChange as error:
            _refused(form, error)
    return _unit_editor(unit, form, INVALID, focus=_first_error(form, "name"))


@bp.route("/units/<int:unit_id>/active", methods=["POST"])
@roles_required(ADMIN)
def unit_set_active(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    try:
        services.set_unit_active(unit, current_user, request.form.get("active") == "1")
    except services.InvalidChange as error:
        db.session.rollback()
        return _unit_row(unit, INVALID, error=error.message)
    return _unit_row(unit, focus=True, saved=True)


@bp.route("/units/<int:unit_id>/delete", methods=["POST"])
@roles_required(ADMIN)
def unit_delete(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    try:
        services.delete_unit(unit, move_to_parent=request.form.get("move") == "1")
    except services.UnitNotEmpty as refusal:
        db.session.rollback()
        # The refusal lists what the unit holds and offers to hand it all to the parent unit.
        return _unit_row(unit, 409, error=refusal.message, offer_move=not queries.is_scope_root(unit))
    except services.CannotMove as refusal:
        db.session.rollback()
        return _unit_row(unit, 409, error=str(refusal))
    return ""  # htmx swaps the row away


# ---- users -------------------------------------------------------------------------------------

def _user_filters() -> UserFilters:
    args = request.args
    unit = args.get("unit", "")
    return UserFilters(search=args.get("q", ""), role=args.get("role", ""),
                       unit_id=optional_positive_int(unit), active=args.get("active", ""))


def _user_table_context(filters: UserFilters) -> dict:
    return {"users": queries.users(filters), "filters": filters}


def _user_editor(user: User, form: UserEditForm, status: int = 200, focus: str = "display_name"):
    return _fragment("admin/_user_row_edit.html", status, user=user, form=form, focus=focus)


@bp.route("/users")
@roles_required(ADMIN)
def users():
    filters = _user_filters()
    form = _with_unit_choices(UserCreateForm(formdata=None, locale="zh_Hans_CN", role="monitor"), "unit_id")
    return render_page_or_partial("admin/users.html", "admin/_user_table.html", create_form=form,
                                  unit_options=form.unit_id.choices, **_user_table_context(filters))


@bp.route("/users", methods=["POST"])
@roles_required(ADMIN)
def user_create():
    form = _with_unit_choices(UserCreateForm(), "unit_id")
    if form.validate():
        try:
            user = services.create_user(
                username=form.username.data, display_name=form.display_name.data, role=form.role.data,
                unit_id=form.unit_id.data, locale=form.locale.data, password=form.password.data)
        except services.InvalidChange as error:
            _refused(form, error)
        else:
            if not is_htmx():
                return redirect(url_for(".users"))
            fresh = _with_unit_choices(UserCreateForm(formdata=None, locale=user.locale, role=user.role,
                                                      unit_id=user.unit_id), "unit_id")
            return _created("admin/_user_create.html", "users-changed", create_form=fresh, created=user)
    if not is_htmx():
        return render_template("admin/users.html", create_form=form, unit_options=form.unit_id.choices,
                               **_user_table_context(UserFilters())), INVALID
    return _fragment("admin/_user_create.html", INVALID, create_form=form)


@bp.route("/users/<int:user_id>/row")
@roles_required(ADMIN)
def user_row(user_id: int):
    return _fragment("admin/_user_row.html", user=get_or_404(User, user_id), focus=True)


@bp.route("/users/<int:user_id>/edit")
@roles_required(ADMIN)
def user_edit(user_id: int):
    user = get_or_404(User, user_id)
    form = _with_unit_choices(UserEditForm(formdata=None, obj=user), "unit_id")
    return _user_editor(user, form, focus=request.args.get("focus", "display_name"))


@bp.route("/users/<int:user_id>", methods=["POST"])
@roles_required(ADMIN)
def user_update(user_id: int):
    user = get_or_404(User, user_id)
    form = _with_unit_choices(UserEditForm(), "unit_id")
    if form.validate():
        try:
            services.update_user(user, current_user, display_name=form.display_name.data, role=form.role.data,
                                 unit_id=form.unit_id.data, locale=form.locale.data, active=form.active.data)
            return _fragment("admin/_user_row.html", user=user, focus=True, saved=True)
        except services.InvalidChange as error:
            _refused(form, error)
    return _user_editor(user, form, INVALID, focus=_first_error(form, "display_name"))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(ADMIN)
def user_set_active(user_id: int):
    user = get_or_404(User, user_id)
    try:
        services.set_user_active(user, current_user, request.form.get("active") == "1")
    except services.InvalidChange as error:
        db.session.rollback()
        return _fragment("admin/_user_row.html", INVALID, user=user, error=error.message)
    return _fragment("admin/_user_row.html", user=user, focus=True, saved=True)


@bp.route("/users/<int:user_id>/password")
@roles_required(ADMIN)
def user_password_form(user_id: int):
    user = get_or_404(User, user_id)
    return _fragment("admin/_user_password.html", user=user, form=PasswordResetForm(formdata=None))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@roles_required(ADMIN)
def user_password(user_id: int):
    user = get_or_404(User, user_id)
    form = PasswordResetForm()
    if not form.validate():
        return _fragment("admin/_user_password.html", INVALID, user=user, form=form)
    services.reset_password(user, form.password.data)
    if user.id == current_user.id:
        login_user(user)  # the reset ended every session, this one included; keep the admin working
    return _fragment("admin/_user_row.html", user=user, focus=True, saved=True, notice="password_reset")
