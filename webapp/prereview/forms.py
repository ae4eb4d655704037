"""Forms of the pre-review area. Every message a user can see is translated (Chinese by default)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..activities.forms import CountField, LocalDateField, check_chosen_files, choices, not_before_2000
from ..labels import PREREVIEW_STATUS_LABELS
from ..models.prereview import PREREVIEW_CATEGORIES, STAGE_LEVELS, STAGE_ROLES
from ..uploads import CheckedFile
from .services import ItemData

MAX_STAGES = 4

STATUS_LABELS = PREREVIEW_STATUS_LABELS
CATEGORY_LABELS = {"event": _l("Event (place and date)"), "post": _l("Publication or post (channel)")}
ROLE_LABELS = {"staff": _l("Branch staff"), "secretary": _l("Secretary"), "admin": _l("Administrator")}
LEVEL_LABELS = {"own": _l("the organising unit"), "branch": _l("its branch"), "general": _l("its general branch"),
                "top": _l("the top unit")}
DECISION_LABELS = {"submit": _l("submitted"), "pass": _l("passed"), "approve": _l("passed (final)"),
                   "return": _l("returned for changes"), "reject": _l("rejected")}
OUTCOME_LABELS = {"held": _l("Held"), "cancelled": _l("Cancelled"), "published": _l("Published")}


class ItemForm(FlaskForm):
    unit = SelectField(_l("Organising unit"), coerce=int, validate_choice=False)
    kind = SelectField(_l("Kind"), coerce=int, validate_choice=False)
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Enter the title.")),
                                                 Length(max=200, message=_l("At most %(max)d characters."))])
    held_on = LocalDateField(_l("Date (event or planned publication)"),
                             validators=[InputRequired(message=_l("Enter the date.")), not_before_2000])
    place = StringField(_l("Place"), validators=[Length(max=200, message=_l("At most %(max)d characters."))])
    channel = StringField(_l("Channel (account, journal or publisher)"),
                          validators=[Length(max=200, message=_l("At most %(max)d characters."))])
    speaker = StringField(_l("Speaker or author (name and affiliation, as made public)"),
                          validators=[Length(max=200, message=_l("At most %(max)d characters."))])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=4000, message=_l("At most %(max)d characters."))])
    files = MultipleFileField(_l("Material to review"))
    remove_files = SelectMultipleField(_l("Remove"), coerce=int, validate_choice=False)
    version = HiddenField()

    def __init__(self, *args, kinds: dict[int, str], **kwargs):
        """`kinds`: {kind id: category} of the kinds offered."""
        super().__init__(*args, **kwargs)
        self.kinds = kinds
        self.checked_files: list[CheckedFile] = []

    def validate_kind(self, field):
        if field.data not in self.kinds:
            raise ValidationError(_l("Choose a kind from the list."))

    def validate_place(self, field):
        if self.kinds.get(self.kind.data) == "event" and not (field.data or "").strip():
            raise ValidationError(_l("Enter the place of the event."))

    def validate_channel(self, field):
        if self.kinds.get(self.kind.data) == "post" and not (field.data or "").strip():
            raise ValidationError(_l("Enter where it will be published."))

    def validate_files(self, field):
        check_chosen_files(self, field)

    def item_data(self) -> ItemData:
        category = self.kinds.get(self.kind.data)
        return ItemData(kind_id=self.kind.data, title=self.title.data.strip(), held_on=self.held_on.data,
                        place=(self.place.data or "").strip() if category == "event" else "",
                        channel=(self.channel.data or "").strip() if category == "post" else "",
                        speaker=(self.speaker.data or "").strip(), summary=(self.summary.data or "").strip())


class DecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=choices({"pass": _l("Pass"), "return": _l("Return for changes"),
                                                            "reject": _l("Reject")}),
                           validate_choice=False, validators=[AnyOf(("pass", "return", "reject"),
                                                                    message=_l("Choose from the list."))])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=2000, message=_l("At most %(max)d characters."))])
    version = HiddenField()

    def validate_comment(self, field):
        if self.decision.data in ("return", "reject") and not (field.data or "").strip():
            raise ValidationError(_l("Say what needs to change, or why it is rejected."))


class OutcomeForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=choices(OUTCOME_LABELS), validate_choice=False,
                          validators=[AnyOf(tuple(OUTCOME_LABELS), message=_l("Choose from the list."))])
    outcome_on = LocalDateField(_l("Date"), validators=[Optional()])
    link = StringField(_l("Link"), validators=[Length(max=500, message=_l("At most %(max)d characters."))])
    version = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        # Not validate_outcome_on: Optional() ends that field's chain before an inline check runs.
        valid = super().validate(extra_validators)
        if self.outcome.data == "held" and not self.outcome_on.data and not self.outcome_on.errors:
            self.outcome_on.errors = [*self.outcome_on.errors, _l("Enter the date it was held.")]
            valid = False
        return valid

    def validate_link(self, field):
        link = (field.data or "").strip()
        if self.outcome.data == "published" and not link.startswith(("http://", "https://")):
            raise ValidationError(_l("Enter the link of the published post (starting with http:// or https://)."))


class KindForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter a name.")),
                                               Length(max=60, message=_l("At most %(max)d characters."))])
    category = SelectField(_l("Category"), choices=choices(CATEGORY_LABELS), validate_choice=False,
                           validators=[AnyOf(PREREVIEW_CATEGORIES, message=_l("Choose from the list."))])
    lead_days = CountField(_l("Submit at least this many days ahead"), default=7, validators=[
        InputRequired(message=_l("Enter a number.")),
        NumberRange(min=0, max=90, message=_l("Enter a number from 0 to 90."))])
    active = BooleanField(_l("In use"), default=True)

    def __init__(self, *args, taken_names: set[str], stage_rows: list[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.taken_names = taken_names
        self.stage_rows = stage_rows or []
        self.stage_errors: list[str] = []

    def validate_name(self, field):
        if (field.data or "").strip() in self.taken_names:
            raise ValidationError(_l("A kind with this name already exists."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.stage_rows:
            self.stage_errors.append(str(_l("Give at least one review stage.")))
        for row in self.stage_rows:
            if len(row["name"]) > 60:
                self.stage_errors.append(str(_l("A stage name has at most 60 characters.")))
            if row["role"] not in STAGE_ROLES or row["level"] not in STAGE_LEVELS:
                self.stage_errors.append(str(_l("Choose each stage's reviewer from the list.")))
        return valid and not self.stage_errors


def stage_rows_from(formdata) -> list[dict]:
    """The stage rows posted as stage_name / stage_role / stage_level lists; empty rows dropped."""
    names, roles, levels = (formdata.getlist(f"stage_{part}") for part in ("name", "role", "level"))
    rows = []
    for index in range(min(max(len(names), len(roles), len(levels)), MAX_STAGES)):
        name = (names[index] if index < len(names) else "").strip()
        role = roles[index] if index < len(roles) else ""
        level = levels[index] if index < len(levels) else ""
        if name:  # a row without a name is an unused row of the form
            rows.append({"name": name, "role": role, "level": level})
    return rows
