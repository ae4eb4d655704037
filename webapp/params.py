"""Ids, page numbers and months read from URLs and query strings: anything that is not a plausible one is absent.

Databases store ids as 32-bit integers (PostgreSQL) and SQLite refuses a Python int past 2**63, so an
unbounded number from a URL would end in a 500 instead of "not found".
"""
from __future__ import annotations

import calendar
import re
from datetime import date

from werkzeug.routing import IntegerConverter

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
