"""Forms of the reports area: the overview's filters (GET), the ledger upload and its confirmation."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice

from .queries import DEFAULT_SORT, QUARTERS, SORT_KEYS

PERIOD_CHOICES = ([SelectChoice("", _l("Whole year"))]
                  + [SelectChoice(key, _l("Quarter %(n)s", n=key[1])) for key in QUARTERS]
                  + [SelectChoice(str(month), _l("Month %(n)s", n=month)) for month in range(1, 13)])
PERIODS = {choice.value for choice in PERIOD_CHOICES}


class OverviewFilterForm(FlaskForm):
    """Read from the query string; the sort travels along so that filtering keeps the order."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    year = SelectField(_l("Year"), coerce=int)
    period = SelectField(_l("Period"), choices=PERIOD_CHOICES, default="")
    unit = HiddenField()
    sort = HiddenField(default=DEFAULT_SORT[0])
    dir = HiddenField(default=DEFAULT_SORT[1])

    def __init__(self, formdata, years: list[int], default_year: int):
        super().__init__(formdata=formdata)
        offered = sorted(set(years) | {default_year}, reverse=True)
        self.year.choices = [SelectChoice(year, str(year)) for year in offered]
        if self.year.data not in offered:
            self.year.data = default_year
        if self.period.data not in PERIODS:
            self.period.data = ""
        if self.sort.data not in SORT_KEYS:
            self.sort.data = DEFAULT_SORT[0]
        if self.dir.data not in ("asc", "desc"):
            self.dir.data = DEFAULT_SORT[1]


class LedgerUploadForm(FlaskForm):
    file = FileField(_l("Ledger workbook (.xlsx)"))


class ImportConfirmForm(FlaskForm):
    plan = HiddenField()
