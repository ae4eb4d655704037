"""The inline row editor's form: only the fields a request sends are read, checked and changed."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import AnyOf, InputRequired, Length, StopValidation, ValidationError

from ..clock import parse_typed_date
from ..models import LEDGER_STATUSES, LedgerRow
from ..params import guard_validators

EDITABLE_FIELDS = ("lead", "members", "progress", "status", "completed_on", "remarks")
NAME_MAX, NOTE_MAX = 200, 2000


def _text(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n").strip()


class _SentFields:
    """What both readings of an edit share: the checks across fields and against the stored row."""
    present: list[str]
    field_errors: dict[str, str]
    changes: dict[str, Any]

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


class LedgerRowForm(_SentFields, FlaskForm):
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


# ---- the inline editor's POST, read by hand -------------------------------------------------------------------
# Building the WTForms form (seven bound fields, meta, filters) cost more than checking what was sent. The inline
# editor's route reads its fields here with LedgerRowForm's own validators and filters (the same objects, hence the
# same rules and messages) and the guards every form gets (`params.guard_validators`, a file part where text is
# expected is a 400); the API and the Excel re-import keep LedgerRowForm.

def _field_rules(name: str) -> tuple[tuple, tuple]:
    unbound = getattr(LedgerRowForm, name)
    return (tuple(unbound.kwargs.get("validators", ())) + guard_validators(unbound.field_class),
            tuple(unbound.kwargs.get("filters", ())))


_RULES = {name: _field_rules(name) for name in (*EDITABLE_FIELDS, "version")}


class _SentValue:
    """One field as WTForms would have processed it: data, raw_data, and `validate` running the same chain."""
    __slots__ = ("data", "raw_data", "validators", "errors", "process_errors")

    def __init__(self, data, raw_data: list, validators: tuple, process_errors: list):
        self.data, self.raw_data, self.validators = data, raw_data, validators
        self.errors: list = []
        self.process_errors = process_errors

    def validate(self, form) -> bool:  # wtforms.Field.validate without pre/post hooks (these fields have none)
        self.errors = list(self.process_errors)
        for validator in self.validators:
            try:
                validator(form, self)
            except StopValidation as stop:
                if stop.args and stop.args[0]:
                    self.errors.append(stop.args[0])
                break
            except ValidationError as error:
                self.errors.append(error.args[0])
        return not self.errors

    # WTForms' messages untranslated, as LedgerRowForm's Meta has them (only the version's, which is a 400).
    def gettext(self, string):
        return string

    def ngettext(self, singular, plural, n):
        return singular if n == 1 else plural


class SentRowEdit(_SentFields):
    """LedgerRowForm(present=list(formdata)) for the inline editor: the same `present`, `version`, `changes`,
    `field_errors`, `validate_for` and `submitted_values`."""

    def __init__(self, formdata, files=None):
        if files and any(name in files for name in _RULES):
            abort(400)  # a file where text is expected (params._form_data_for_fields)
        self.present = [name for name in EDITABLE_FIELDS if name in formdata]
        self.field_errors = {}
        self.changes = {}
        self._fields = {name: self._read_text(formdata, name) for name in self.present}
        self.version = self._read_integer(formdata, "version")

    @staticmethod
    def _read_text(formdata, name: str) -> _SentValue:
        validators, filters = _RULES[name]
        raw = formdata.getlist(name)
        data = raw[0] if raw else ""
        for text_filter in filters:
            data = text_filter(data)
        return _SentValue(data, raw, validators, [])

    @staticmethod
    def _read_integer(formdata, name: str) -> _SentValue:
        validators, _filters = _RULES[name]
        raw = formdata.getlist(name) if name in formdata else []
        data, problems = None, []
        if raw:
            try:
                data = int(raw[0])
            except (ValueError, TypeError):
                problems.append("Not a valid integer value.")
        return _SentValue(data, raw, validators, problems)

    def __getitem__(self, name: str) -> _SentValue:
        return self._fields[name]

    @property
    def completed_on(self) -> _SentValue:
        return self._fields["completed_on"]
