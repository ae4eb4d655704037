"""Input parsing: ids, page numbers, months and dates from URLs and query strings (anything implausible is
absent), and the guards every request and every form passes (malformed text is a 400, a field gets only what
its type allows).

Databases store ids as 32-bit integers (PostgreSQL) and SQLite refuses a Python int past 2**63, so an
unbounded number from a URL would end in a 500 instead of "not found".
"""
from __future__ import annotations

import calendar
import re
from datetime import date
from urllib.parse import unquote_to_bytes

from flask import abort, request
from flask_babel import get_translations, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter
from wtforms import DateField, FileField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import ValidationError

MAX_ID = 2**31 - 1


def positive_int(text: str) -> int:
    """For `request.args.get(name, type=positive_int)`: ValueError (so the default applies) unless 1..MAX_ID."""
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if not text.isdecimal() or not 0 < int(text) <= MAX_ID:
        raise ValueError(text)
    return int(text)


def optional_positive_int(text: str) -> int | None:
    try:
        return positive_int(text)
    except ValueError:
        return None


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in routes: a number past MAX_ID does not match, so the URL is a 404."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def month_range(text: str | None) -> tuple[date, date] | None:
    """'2026-03' (as the month filters send it) → (first day, last day); None for anything else."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text or "")
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    try:
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    except (ValueError, calendar.IllegalMonthError):
        return None


# ---- dates ------------------------------------------------------------------------------------------

# Dates anyone means in this system. 0001-01-01 or 9999-12-31 would overflow the first day-arithmetic.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def bounded_date(text: str | None) -> date | None:
    """An ISO date from a query string, or None for anything else (including 0001-01-01 and 9999-12-31)."""
    try:
        value = date.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return value if EARLIEST_DATE <= value <= LATEST_DATE else None


# ---- every request: text that no one types is refused (400) before any view reads it ------------------

# C0 control characters other than tab, newline and carriage return: nobody types them, PostgreSQL cannot store
# NUL, and Excel (openpyxl) refuses the others in a cell, so an export would fail later.
MAX_QUERY_VALUE = 4096
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _is_utf8(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_malformed_input() -> None:
    """before_request: invalid UTF-8 in percent-encoding and control characters in any query or form value are a 400.
    A request without a query string or a form body (most GETs, every htmx poll) has nothing to check."""
    if request.query_string:
        if not _is_utf8(request.query_string):
            abort(400)
        # gunicorn refuses request lines past 4094 bytes; behind any other server a longer value is no search either.
        if any(len(value) > MAX_QUERY_VALUE for _key, values in request.args.lists() for value in values):
            abort(400)
        _refuse_control_characters(request.args)
    if request.mimetype in _FORM_TYPES:  # only these bodies become request.form
        if request.mimetype == "application/x-www-form-urlencoded" and not _is_utf8(request.get_data(cache=True)):
            abort(400)
        _refuse_control_characters(request.form)


def _refuse_control_characters(source) -> None:
    for key, values in source.lists():
        if _CONTROL_CHARACTERS.search(key) or any(_CONTROL_CHARACTERS.search(value) for value in values):
            abort(400)


# ---- every form: each field gets only what its type allows ------------------------------------------------

def _bounded_integer(form, field) -> None:
    values = field.data if isinstance(field.data, list) else [field.data]
    if any(isinstance(value, int) and not -MAX_ID <= value <= MAX_ID for value in values):
        raise ValidationError(_l("The number is too large."))


def _plausible_date(form, field) -> None:
    if isinstance(field.data, date) and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise ValidationError(_l("Enter a date between 1900 and 2999."))


def guard_validators(field_class) -> tuple:
    """The validators every form's field of this class gets besides its own (also for a form read by hand)."""
    if issubclass(field_class, (IntegerField, SelectField, SelectMultipleField)):
        return (_bounded_integer,)
    if issubclass(field_class, DateField) and not issubclass(field_class, StringField):
        return (_plausible_date,)
    return ()


def _never_none(field) -> None:
    """A text field left out of a submitted form is empty text, not None (views call .strip() on it)."""
    process_formdata = field.process_formdata

    def process(valuelist):
        process_formdata(valuelist)
        if field.data is None:
            field.data = ""
    field.process_formdata = process


def _form_data_for_fields(form):
    """What Flask-WTF would hand the form, except that a file part reaches file fields only (a file sent where
    text is expected is a 400) and a JSON body reaches no field."""
    if not (request.method in ("POST", "PUT", "PATCH", "DELETE")):
        return None
    if not request.files:
        return request.form or None
    data = MultiDict(request.form.items(multi=True))
    for field in form:
        if isinstance(field, FileField):
            for upload in request.files.getlist(field.name):
                data.add(field.name, upload)
        elif field.name in request.files:
            abort(400)  # a file where text is expected (no browser sends that)
    return data


def install_form_guards() -> None:
    """Every FlaskForm (today's and any added later) gets the file-part filter and the number and date bounds."""
    meta = FlaskForm.Meta
    if getattr(meta, "_taizhang_guarded", False):
        return
    original_wrap, original_bind = meta.wrap_formdata, meta.bind_field

    def wrap_formdata(self, form, formdata):
        if formdata is _Auto:
            return _form_data_for_fields(form)
        return original_wrap(self, form, formdata)

    def bind_field(self, form, unbound_field, options):
        field = original_bind(self, form, unbound_field, options)
        guards = guard_validators(type(field))
        if guards:
            field.validators = [*field.validators, *guards]
        if isinstance(field, StringField):
            _never_none(field)
        return field

    meta.wrap_formdata, meta.bind_field, meta._taizhang_guarded = wrap_formdata, bind_field, True
    meta.get_translations = lambda self, form: APP_CATALOGUE


# ---- WTForms' own messages come from the app's catalogue --------------------------------------------------

class _AppCatalogue:
    """What WTForms asks to translate its built-in messages with: the app's own catalogue (already loaded by
    Flask-Babel for the request), not Flask-WTF's, which read WTForms' .mo file from disk on every request that
    built a form (WTF_I18N_ENABLED is off). Only called when a message is shown. Formatting stays with WTForms:
    flask_babel.ngettext would fill in only `num`, and these messages name `min`, `max`, `value`."""

    def gettext(self, string):
        return get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ungettext(singular, plural, n)


APP_CATALOGUE = _AppCatalogue()


def _wtforms_messages() -> None:  # never called: marks WTForms' messages that fields of this app can show
    gettext("This field is required.")
    gettext("Invalid input.")
    gettext("This field cannot be edited.")
    gettext("This field is disabled and cannot have a value.")
    gettext("Not a valid choice.")
    gettext("Invalid Choice: could not coerce.")
    gettext("Choices cannot be None.")
    gettext("Invalid choice(s): one or more data inputs could not be coerced.")
    ngettext("'%(value)s' is not a valid choice for this field.", "'%(value)s' are not valid choices for this field.", 1)
    gettext("Invalid value, must be one of: %(values)s.")
    gettext("Invalid value, can't be any of: %(values)s.")
    gettext("Not a valid date value.")
    gettext("Not a valid datetime value.")
    gettext("Not a valid time value.")
    gettext("Not a valid integer value.")
    gettext("Not a valid decimal value.")
    gettext("Not a valid float value.")
    ngettext("Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long.", 1)
    ngettext("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters.", 1)
    ngettext("Field must be exactly %(max)d character long.", "Field must be exactly %(max)d characters long.", 1)
    gettext("Field must be between %(min)d and %(max)d characters long.")
    gettext("Number must be at least %(min)s.")
    gettext("Number must be at most %(max)s.")
    gettext("Number must be between %(min)s and %(max)s.")
    gettext("Invalid email address.")
