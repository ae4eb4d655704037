"""Forms for reminder settings, group robots and nudges. Shapes only; the services do the rest."""
from __future__ import annotations

from urllib.parse import urlparse

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length, Optional, Regexp, ValidationError

from ..models.reminder import DIGESTS, ROBOT_FORMATS
from .labels import DIGEST_LABELS, NUDGE_ABOUT, ROBOT_FORMAT_LABELS

EMAIL = r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$"


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _optional_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _int_list(values) -> list[int]:
    result = []
    for value in values or []:
        number = _optional_int(value)
        if number is not None and 0 < number < 2**31:
            result.append(number)
    return result


class SettingsForm(FlaskForm):
    email = StringField(_l("E-mail address (optional)"), filters=[_strip], validators=[
        Optional(), Length(max=254, message=_l("At most %(max)d characters.", max=254)),
        Regexp(EMAIL, message=_l("Enter an e-mail address such as name@example.edu.cn, or leave it empty."))])
    digest = SelectField(_l("Reminder e-mails"), validate_choice=False,
                         validators=[AnyOf(DIGESTS, message=_l("Choose how often to get e-mails."))],
                         choices=[SelectChoice(key, DIGEST_LABELS[key]) for key in DIGESTS])


class RobotForm(FlaskForm):
    unit_id = SelectField(_l("Unit"), coerce=_optional_int, validate_choice=False)
    url = StringField(_l("Webhook URL"), filters=[_strip], validators=[
        Length(max=500, message=_l("At most %(max)d characters.", max=500))])
    format = SelectField(_l("Format"), validate_choice=False,
                         validators=[AnyOf(ROBOT_FORMATS, message=_l("Choose a format."))],
                         choices=[SelectChoice(key, ROBOT_FORMAT_LABELS[key]) for key in ROBOT_FORMATS])

    def validate_unit_id(self, field) -> None:
        if field.data is None:
            raise ValidationError(_l("Choose a unit."))

    def validate_url(self, field) -> None:
        url = urlparse(field.data or "")
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValidationError(_l("Enter the robot's webhook address, starting with https://."))


class NudgeForm(FlaskForm):
    units = SelectMultipleField(_l("Units"), coerce=str, validate_choice=False)
    about = SelectField(_l("About"), validate_choice=False,
                        validators=[AnyOf(tuple(NUDGE_ABOUT), message=_l("Choose what the nudge is about."))],
                        choices=[SelectChoice(key, label) for key, label in NUDGE_ABOUT.items()])
    note = TextAreaField(_l("Note"), filters=[_strip], validators=[
        Length(max=200, message=_l("At most %(max)d characters.", max=200))])

    @property
    def unit_ids(self) -> list[int]:
        return _int_list(self.units.data)

    def validate_units(self, field) -> None:
        if not self.unit_ids:
            raise ValidationError(_l("Choose at least one unit."))
