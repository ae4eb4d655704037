"""Forms for units and users. Shapes only; rules that need the database live in services.py."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Regexp, ValidationError

from ..labels import CATEGORY_LABELS, ROLE_LABELS, UNIT_KIND_LABELS
from ..models import BRANCH_CATEGORIES, ROLES, UNIT_KINDS
from ..params import MAX_ID

MIN_PASSWORD = 8


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _optional_int(value) -> int | None:
    """Select values arrive as strings; an empty or garbled one means "none chosen"."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None  # no id is larger (a 500 in the database otherwise)


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def unit_choices(listings) -> list[SelectChoice]:
    """Units for a <select>, indented by depth so the tree shows in the list."""
    return _choices((item.unit.id, "\u3000" * item.depth + item.unit.name) for item in listings)


class UnitForm(FlaskForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[
        DataRequired(message=_l("Enter a name.")),
        Length(max=100, message=_l("At most %(max)d characters.", max=100))])
    kind = SelectField(_l("Kind"), validate_choice=False, validators=[
        AnyOf(UNIT_KINDS, message=_l("Choose a kind."))],
        choices=_choices((kind, UNIT_KIND_LABELS[kind]) for kind in UNIT_KINDS))
    category = SelectField(_l("Category"), validate_choice=False,
                           choices=_choices([("", "—"), *((c, CATEGORY_LABELS[c]) for c in BRANCH_CATEGORIES)]))
    parent_id = SelectField(_l("Parent unit"), coerce=_optional_int, validate_choice=False)

    def validate_category(self, field) -> None:
        if self.kind.data == "branch" and field.data not in BRANCH_CATEGORIES:
            raise ValidationError(_l("A branch is either a faculty or a student branch."))


def _locale_choices() -> list[SelectChoice]:
    return _choices(current_app.config["LANGUAGES"].items())


class _UserFields(FlaskForm):
    display_name = StringField(_l("Display name"), filters=[_strip], validators=[
        DataRequired(message=_l("Enter a display name.")),
        Length(max=100, message=_l("At most %(max)d characters.", max=100))])
    role = SelectField(_l("Role"), validate_choice=False, validators=[AnyOf(ROLES, message=_l("Choose a role."))],
                       choices=_choices((role, ROLE_LABELS[role]) for role in ROLES))
    unit_id = SelectField(_l("Unit"), coerce=_optional_int, validate_choice=False)
    locale = SelectField(_l("Language"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = _locale_choices()

    def validate_locale(self, field) -> None:
        if field.data not in current_app.config["LANGUAGES"]:
            raise ValidationError(_l("Choose a language."))


_password_validators = [
    DataRequired(message=_l("Enter a password.")),
    Length(min=MIN_PASSWORD, max=200, message=_l("A password has at least %(min)d characters.", min=MIN_PASSWORD))]


class UserCreateForm(_UserFields):
    username = StringField(_l("Login name"), filters=[_strip], validators=[
        DataRequired(message=_l("Enter a login name.")),
        Length(max=64, message=_l("At most %(max)d characters.", max=64)),
        Regexp(r"^[A-Za-z0-9_.@-]+$", message=_l("Use letters, digits and . _ - @ only."))])
    password = PasswordField(_l("Password"), validators=_password_validators)


class UserEditForm(_UserFields):
    active = BooleanField(_l("Account active"))


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=_password_validators)
