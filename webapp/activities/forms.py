"""Forms of the activities area. Every message a user can see is translated (Chinese by default)."""
from __future__ import annotations

import json
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (DateField, SelectChoice, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..clock import parse_typed_date
from ..models import CADENCES, LEVELS
from ..uploads import CheckedFile, UploadError, check_upload, clean_filename, extension_of
from .. import labels
from .services import EDITABLE_FIELDS, ActivityData

EARLIEST_DATE = date(2000, 1, 1)
MAX_FILES = 10


def check_chosen_files(form, field) -> None:
    """Validator body for a multiple-file field: at most MAX_FILES, each checked by content into
    `form.checked_files`; several may be chosen at once, so a refused one is named."""
    chosen = [storage for storage in (field.data or []) if storage and storage.filename]
    if len(chosen) > MAX_FILES:
        raise ValidationError(_l("At most %(count)d files at a time.", count=MAX_FILES))
    errors = []
    for storage in chosen:
        try:
            form.checked_files.append(check_upload(storage))
        except UploadError as error:
            errors.append(f"{clean_filename(storage.filename or '', extension_of(storage.filename or '') or 'bin')}：{error}")
    if errors:
        raise ValidationError(" ".join(errors))


def not_before_2000(form, field) -> None:
    """Validator of the dates the college records (activities, pre-review items): none predates 2000."""
    if field.data and field.data < EARLIEST_DATE:
        raise ValidationError(_l("The date cannot be before 2000."))


# Labels live in webapp/labels.py; these names are what the activities area's templates and routes use.
CADENCE_LABELS, LEVEL_LABELS = labels.CADENCE_LABELS, labels.LEVEL_LABELS
STATUS_LABELS, STATE_LABELS = labels.ACTIVITY_STATUS_LABELS, labels.COMPLIANCE_STATE_LABELS
ACTION_LABELS, FIELD_LABELS = labels.ACTION_LABELS, labels.ACTIVITY_FIELD_LABELS


def choices(labels) -> list[SelectChoice]:
    """Select options from {value: label} (or (value, label) pairs)."""
    pairs = labels.items() if hasattr(labels, "items") else labels
    return [SelectChoice(value, label) for value, label in pairs]


class LocalDateField(DateField):
    """A date field whose format error is our own translated message."""

    def process_formdata(self, valuelist):
        # The typed text stays in raw_data (shown again); the message says why it is not a date.
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        self.data, problem = parse_typed_date(valuelist[0])
        if problem:
            raise ValueError(problem)


class CountField(IntegerField):
    """A whole-number field whose format error is our own translated message."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a whole number."))


class ActivityForm(FlaskForm):
    unit = SelectField(_l("Unit"), coerce=int, validate_choice=False)
    kind = SelectField(_l("Activity kind"), coerce=int, validate_choice=False)
    held_on = LocalDateField(_l("Date"), validators=[InputRequired(message=_l("Enter the date.")), not_before_2000])
    topic = StringField(_l("Topic"), validators=[DataRequired(message=_l("Enter the topic.")),
                                                 Length(max=200, message=_l("At most %(max)d characters."))])
    place = StringField(_l("Place"), validators=[Length(max=200, message=_l("At most %(max)d characters."))])
    host = StringField(_l("Host"), validators=[Length(max=100, message=_l("At most %(max)d characters."))])
    present = CountField(_l("Present"), validators=[
        Optional(), NumberRange(min=0, max=100000, message=_l("Enter a number from 0 to 100000."))])
    expected = CountField(_l("Expected"), validators=[
        Optional(), NumberRange(min=0, max=100000, message=_l("Enter a number from 0 to 100000."))])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=2000, message=_l("At most %(max)d characters."))])
    files = MultipleFileField(_l("Photos and files"))
    remove_files = SelectMultipleField(_l("Remove"), coerce=int, validate_choice=False)
    version = HiddenField()
    base = HiddenField()  # the values the edit form was opened with (base_values): which fields this person changed

    def __init__(self, *args, today: date, kind_ids: set[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.kind_ids = kind_ids
        self.checked_files: list[CheckedFile] = []

    def validate_kind(self, field):
        if field.data not in self.kind_ids:
            raise ValidationError(_l("Choose a kind from the list."))

    def validate_held_on(self, field):
        if field.data and field.data > self.today:
            raise ValidationError(_l("The date cannot be in the future."))

    def validate_present(self, field):
        if field.data is not None and self.expected.data is not None and field.data > self.expected.data:
            raise ValidationError(_l("Present cannot be more than expected."))

    def validate_files(self, field):
        check_chosen_files(self, field)

    def edited_fields(self) -> set[str] | None:
        """The fields whose submitted value differs from the one the form was opened with; None when the form
        carries no readable base (then every field counts as edited, as a form without it always did)."""
        try:
            base = json.loads(self.base.data or "")
        except (ValueError, RecursionError):  # RecursionError: deeply nested arrays, a forged value
            return None
        if not isinstance(base, dict):
            return None
        submitted = self.activity_data().as_dict()
        edited = {name for name in EDITABLE_FIELDS if name not in base or base[name] != _as_text(submitted[name])}
        # 实到 ≤ 应到 is checked on the pair as submitted: one edited means both are (a merge or a forged base must
        # not pair this form's 实到 with another 应到; someone else's change to either is then a conflict).
        if edited & _CHECKED_TOGETHER:
            edited |= _CHECKED_TOGETHER
        return edited

    def activity_data(self) -> ActivityData:
        return ActivityData(kind_id=self.kind.data, held_on=self.held_on.data, topic=self.topic.data.strip(),
                            place=(self.place.data or "").strip(), host=(self.host.data or "").strip(),
                            present=self.present.data, expected=self.expected.data,
                            summary=(self.summary.data or "").strip())


_CHECKED_TOGETHER = frozenset({"present", "expected"})


def _as_text(value) -> str:
    return "" if value is None else value.isoformat() if isinstance(value, date) else str(value)


def base_values(data: ActivityData) -> str:
    """What an edit form carries in `base`: each field's value as it was when the form was opened."""
    return json.dumps({name: _as_text(value) for name, value in data.as_dict().items()}, ensure_ascii=False,
                      sort_keys=True)


class ReturnForm(FlaskForm):
    comment = TextAreaField(_l("What needs to change"), validators=[
        DataRequired(message=_l("Say what needs to change.")),
        Length(max=2000, message=_l("At most %(max)d characters."))])


class KindForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter a name.")),
                                               Length(max=60, message=_l("At most %(max)d characters."))])
    cadence = SelectField(_l("Cadence"), choices=choices(CADENCE_LABELS), validate_choice=False,
                          validators=[AnyOf(CADENCES, message=_l("Choose from the list."))])
    count = CountField(_l("Times per period"), default=1, validators=[
        InputRequired(message=_l("Enter a number.")), NumberRange(min=1, max=100, message=_l("Enter a number from 1 to 100."))])
    level = SelectField(_l("Owed by"), choices=choices(LEVEL_LABELS), validate_choice=False,
                        validators=[AnyOf(LEVELS, message=_l("Choose from the list."))])

    def __init__(self, *args, taken_names: set[str], inherited_names: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.taken_names = taken_names
        self.inherited_names = inherited_names

    def validate_name(self, field):
        name = (field.data or "").strip()
        if name in self.taken_names:
            raise ValidationError(_l("A kind with this name already exists."))
        if name in self.inherited_names:
            raise ValidationError(_l("An enclosing unit already has a kind with this name: use that one."))
