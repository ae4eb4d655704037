"""The inline row editor's form: only the fields a request sends are read, checked and changed."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import AnyOf, InputRequired, Length

from ..clock import parse_typed_date
from ..models import LEDGER_STATUSES, LedgerRow

EDITABLE_FIELDS = ("lead", "members", "progress", "status", "completed_on", "remarks")
NAME_MAX, NOTE_MAX = 200, 2000


def _text(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n").strip()


class LedgerRowForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already checks every POST (form field or X-CSRFToken header)

        def get_translations(self, form):
            # Every message this form shows is the app's own (flask-babel); WTForms' catalogue is never shown, and
            # Flask-WTF would parse it from disk on every request (the edit's hottest path).
            return None

    lead = StringField(filters=[_text], validators=[
        Length(max=NAME_MAX, message=_l("At most %(max)d characters.", max=NAME_MAX))])
    members = StringField(filters=[_text], validators=[
        Length(max=NAME_MAX, message=_l("At most %(max)d characters.", max=NAME_MAX))])
    progress = StringField(filters=[_text], validators=[
        Length(max=NOTE_MAX, message=_l("At most %(max)d characters.", max=NOTE_MAX))])
    status = StringField(filters=[_text], validators=[
        AnyOf(LEDGER_STATUSES, message=_l("Choose one of: not started, in progress, done."))])
    completed_on = StringField(filters=[_text])
    remarks = StringField(filters=[_text], validators=[
        Length(max=NOTE_MAX, message=_l("At most %(max)d characters.", max=NOTE_MAX))])
    version = IntegerField(validators=[InputRequired()])

    def __init__(self, present: list[str], **kwargs):
        super().__init__(**kwargs)
        self.present = [name for name in EDITABLE_FIELDS if name in present]
        self.field_errors: dict[str, str] = {}
        self.changes: dict[str, Any] = {}

    def submitted_values(self) -> dict[str, str]:
        """What the user typed, to show again in an editor (422) or a conflict panel (409)."""
        return {name: self[name].data or "" for name in self.present}

    def validate_for(self, row: LedgerRow, plan_year: int, today: date) -> bool:
        """Check the sent fields against each other and the stored row; fill `changes` when valid."""
        for name in self.present:
            if not self[name].validate(self):
                self.field_errors[name] = str(self[name].errors[0])
        changes: dict[str, Any] = {name: self[name].data for name in self.present if name not in self.field_errors}
        if "completed_on" in changes:
            changes["completed_on"] = self._completion_date(plan_year, today)
        if {"status", "completed_on"} & set(self.present) and not self.field_errors:
            status = changes.get("status", row.status)
            completed_on = changes["completed_on"] if "completed_on" in changes else row.completed_on
            if status == "done" and completed_on is None:
                self.field_errors["completed_on"] = str(_l("Enter the completion date when the task is done."))
        self.changes = changes
        return not self.field_errors

    def _completion_date(self, plan_year: int, today: date) -> date | None:
        text = self.completed_on.data
        if not text:
            return None
        value, problem = parse_typed_date(text)
        if problem:
            self.field_errors["completed_on"] = problem
            return None
        if value > today:
            self.field_errors["completed_on"] = str(_l("The completion date cannot be in the future."))
        elif not date(plan_year - 1, 1, 1) <= value <= date(plan_year + 1, 12, 31):
            self.field_errors["completed_on"] = str(
                _l("The completion date must be within a year of the plan year %(year)s.", year=plan_year))
        return value
