"""Time and numbers as people read them: the configured zone, period names, percentages.

Times are stored naive in UTC; everything shown or exported goes through `to_local` (the `localtime`
Jinja filter), and "today" is always `local_today()`. Tests freeze the clock with `frozen_clock`.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, datetime, time, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"
_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)  # noqa: E731  (replaced by frozen_clock)


def zone() -> ZoneInfo:
    from flask import current_app, has_app_context
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE", DEFAULT_ZONE) if has_app_context() else DEFAULT_ZONE
    return ZoneInfo(name)


def now_utc() -> datetime:
    """Aware UTC now (the one place the wall clock is read)."""
    return _clock().astimezone(timezone.utc)


def utcnow_naive() -> datetime:
    """What the database stores: naive UTC."""
    return now_utc().replace(tzinfo=None)


def local_now() -> datetime:
    return now_utc().astimezone(zone())


def local_today() -> date:
    """Today where the college is (the server may run on UTC): deadlines and periods are local dates."""
    return local_now().date()


def local_midnight_utc(day: date) -> datetime:
    """Naive UTC of the local midnight starting `day` (for filtering stored times by local dates)."""
    return datetime.combine(day, time(), zone()).astimezone(timezone.utc).replace(tzinfo=None)


def to_local(moment: datetime | None) -> datetime | None:
    """A stored time (naive means UTC) in the configured zone."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone())


def localtime(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """Jinja filter `localtime`: '' for None, else the local time in `pattern` (strftime's, or a CLDR
    pattern such as 'MM-dd HH:mm' when it has no '%')."""
    local = to_local(moment)
    if local is None:
        return ""
    if "%" in pattern:
        return local.strftime(pattern)
    from babel.dates import format_datetime
    return format_datetime(local, pattern, tzinfo=local.tzinfo, locale="en")


@contextmanager
def frozen_clock(moment: datetime) -> Iterator[None]:
    """Tests: the clock reads `moment` (aware, or naive meaning UTC) until the block ends."""
    global _clock
    fixed = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    previous, _clock = _clock, (lambda: fixed)
    try:
        yield
    finally:
        _clock = previous


# ---- dates people type ---------------------------------------------------------------------------

_DATE_TEXT = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


def parse_typed_date(text: str) -> tuple[date | None, str | None]:
    """A typed date ("2026-3-5", "2026/03/05", "2026年3月5日") → (date, None), or (None, why it is not one)."""
    from flask_babel import gettext as _
    match = _DATE_TEXT.match(text or "")
    if not match:
        return None, _("Enter a date such as 2026-03-05.")
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12:
        return None, _("%(text)s is not a date: a month is 1 to 12.", text=text.strip())
    import calendar
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return None, _("%(text)s is not a date: %(year)d-%(month)d has %(days)d days.",
                       text=text.strip(), year=year, month=month, days=days)
    return date(year, month, day), None


# ---- numbers --------------------------------------------------------------------------------------

def percent(rate: float | None) -> int | None:
    """A share (0…1) as a whole percentage rounded half up: 1/8 → 13, not Python's 12 (round half even)."""
    if rate is None:
        return None
    # Via the shortest repr, so 0.125 stays exactly 12.5 and 0.145 does not become 14.4999….
    return int((Decimal(repr(rate)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_text(rate: float | None, empty: str = "—") -> str:
    value = percent(rate)
    return empty if value is None else f"{value}%"


# ---- period names ---------------------------------------------------------------------------------

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_SEMESTER = re.compile(r"^(\d{4})-(.+)$")
SEMESTER_NAMES_EN = {"春季学期": "spring semester", "秋季学期": "autumn semester"}


def _english() -> bool:
    from flask import has_request_context
    if not has_request_context():
        return False
    from flask_babel import get_locale
    locale = get_locale()
    return bool(locale) and locale.language == "en"


def period_label(label: str, english: bool | None = None) -> str:
    """A period key as people say it: '2026-W49' → 2026年第49周, '2026-Q4' → 2026年第4季度,
    '2026-03' → 2026年3月, '2026-春季学期' → 2026年春季学期 (English: 'Week 49, 2026', 'Q4 2026', …).
    The key itself stays the contract (URLs, JSON); this is only what is shown."""
    english = _english() if english is None else english
    if match := _WEEK.match(label):
        year, week = match.group(1), int(match.group(2))
        return f"Week {week}, {year}" if english else f"{year}年第{week}周"
    if match := _QUARTER.match(label):
        year, quarter = match.groups()
        return f"Q{quarter} {year}" if english else f"{year}年第{quarter}季度"
    if match := _MONTH.match(label):
        year, month = match.group(1), int(match.group(2))
        return f"{date(int(year), month, 1):%B} {year}" if english else f"{year}年{month}月"
    if match := _YEAR.match(label):
        return label if english else f"{label}年"
    if match := _SEMESTER.match(label):
        year, name = match.groups()
        if english:
            return f"{SEMESTER_NAMES_EN.get(name, name).capitalize()} {year}"
        return f"{year}年{name}"
    return label


def short_period_label(label: str, english: bool | None = None) -> str:
    """A column head under a year: 第49周, 第4季度, 3月, 春季学期 (English: W49, Q4, Mar, Spring)."""
    english = _english() if english is None else english
    if match := _WEEK.match(label):
        return f"W{int(match.group(2))}" if english else f"第{int(match.group(2))}周"
    if match := _QUARTER.match(label):
        return f"Q{match.group(2)}" if english else f"第{match.group(2)}季度"
    if match := _MONTH.match(label):
        month = int(match.group(2))
        return f"{date(2000, month, 1):%b}" if english else f"{month}月"
    if _YEAR.match(label):
        return period_label(label, english)
    if match := _SEMESTER.match(label):
        name = match.group(2)
        return SEMESTER_NAMES_EN.get(name, name).split()[0].capitalize() if english else name
    return label


def register(app) -> None:
    """The filters every template may use."""
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(period_label, "period_label")
    app.add_template_filter(short_period_label, "short_period")
    app.add_template_filter(percent_text, "percent")
    app.add_template_global(local_today, "local_today")
