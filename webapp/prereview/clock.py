"""The pre-review area's view of the one clock (webapp/clock.py; tests freeze it with `frozen_clock`)."""
from __future__ import annotations

from datetime import date, datetime

from .. import clock as _clock


def utc_now() -> datetime:
    """Naive UTC, as the database stores times."""
    return _clock.utcnow_naive()


def local_today() -> date:
    """Today where the college is (submission deadlines are local dates)."""
    return _clock.local_today()


def local_date(moment: datetime) -> date:
    return _clock.to_local(moment).date()
