"""Forms of the plans area: the document upload, and the inline edits of tasks, requirements,
section titles and assignments. Each form validates and hands a plain dict to the services."""
from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField, ValidationError)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..models import CADENCES, LEVELS
from ..uploads import too_large_message

from ..labels import CADENCE_LABELS, LEVEL_LABELS, TASK_FIELD_LABELS, WEEKDAY_LABELS  # noqa: E402,F401

# Plans outside this range are typing mistakes, not plans.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class DocumentForm(FlaskForm):
    """A plan document: an uploaded file or pasted text (exactly one)."""

    document = FileField(_l("Document (.txt or .docx)"))
    text = TextAreaField(_l("Or paste the text of the plan"))

    content: bytes | str = b""
    filename: str = ""

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        upload = self.document.data
        has_file = bool(upload and upload.filename)
        has_text = bool((self.text.data or "").strip())
        if has_file == has_text:
            self.form_errors.append(_("Upload a file or paste the text, one of the two."))
            return False
        if has_text:
            self.content, self.filename = self.text.data, ""
            return True
        limit = current_app.config["MAX_UPLOAD_BYTES"]
        self.content = upload.read(limit + 1)
        self.filename = upload.filename
        if len(self.content) > limit:
            self.document.errors.append(too_large_message())
            return False
        return True


class ImportForm(DocumentForm):
    # Left empty, the year is the one in the document's title ("2026年…方案"): the year people mean.
    year = IntegerField(_l("Year (empty: the year in the document's title)"), validators=[
        Optional(),
        NumberRange(FIRST_YEAR, LAST_YEAR, message=_l("Enter a year between 2000 and 2100."))])


def _at_most(limit: int) -> Length:
    """Text over the limit is refused with a message, never cut."""
    return Length(max=limit, message=_l("At most %(max)d characters.", max=limit))


class TaskForm(FlaskForm):
    title = TextAreaField(_l("Task"), validators=[DataRequired(message=_l("Enter the task.")), _at_most(2000)])
    body = TextAreaField(_l("Details"), validators=[_at_most(20000)])
    lead = StringField(_l("Lead"), validators=[_at_most(500)])
    members = StringField(_l("Members"), validators=[_at_most(1000)])
    deadline_text = TextAreaField(_l("Time limit"), validators=[_at_most(1000)])
    starts_on = DateField(_l("Start"), validators=[Optional()])
    due_on = DateField(_l("Due"), validators=[Optional()])
    ongoing = BooleanField(_l("Ongoing all year"))
    needs_review = BooleanField(_l("Still needs checking"))

    def __init__(self, *args, plan_year: int, **kwargs):
        self.plan_year = plan_year
        super().__init__(*args, **kwargs)

    def _check_year(self, day: date | None) -> None:
        # A plan's dates lie in its year; one year either side allows for school years and late starts.
        first, last = self.plan_year - 1, self.plan_year + 1
        if day and not first <= day.year <= last:
            raise ValidationError(_("Dates must lie between %(first)s and %(last)s.", first=first, last=last))

    def validate_starts_on(self, field) -> None:
        self._check_year(field.data)

    def validate_due_on(self, field) -> None:
        self._check_year(field.data)
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_("The due date is before the start date."))

    def values(self) -> dict:
        # A field left out of the request is empty, not a 500.
        text = {name: (self[name].data or "").strip() for name in ("title", "body", "lead", "members", "deadline_text")}
        return {**text,
                "starts_on": self.starts_on.data, "due_on": self.due_on.data, "ongoing": self.ongoing.data,
                "needs_review": self.needs_review.data}


class RequirementForm(FlaskForm):
    kind = StringField(_l("Activity kind"), validators=[
        DataRequired(message=_l("Enter the activity kind.")), _at_most(60)])
    cadence = SelectField(_l("Period"), choices=[SelectChoice(c, CADENCE_LABELS[c]) for c in CADENCES])
    count = IntegerField(_l("Times per period"), default=1, validators=[
        InputRequired(message=_l("Enter a number from 1 to 400.")),
        NumberRange(1, 400, message=_l("Enter a number from 1 to 400."))])
    weekday = SelectField(_l("Weekday"), coerce=_optional_int,
                          choices=[SelectChoice(None, "—")] + [SelectChoice(day, label) for day, label in WEEKDAY_LABELS.items()])
    level = SelectField(_l("Owed by"), choices=[SelectChoice(level, LEVEL_LABELS[level]) for level in LEVELS])
    include_children = BooleanField(_l("Activities of units below count too"))

    def values(self) -> dict:
        return {"kind": self.kind.data.strip(), "cadence": self.cadence.data, "count": self.count.data,
                "weekday": self.weekday.data, "level": self.level.data,
                "include_children": self.include_children.data}


class SectionForm(FlaskForm):
    title = StringField(_l("Section title"), validators=[
        DataRequired(message=_l("Enter the section title.")), _at_most(300)])


class AssignmentForm(FlaskForm):
    units = SelectMultipleField(_l("Units"), coerce=int, validate_choice=False)


class ReimportConfirmForm(FlaskForm):
    token = StringField()
