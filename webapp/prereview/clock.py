"""The one clock of the pre-review area: tests freeze it by replacing `utc_now`."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def utc_now() -> datetime:
    """Naive UTC, as the database stores times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def local_today() -> date:
    """Today where the college is (submission deadlines are local dates)."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return utc_now().replace(tzinfo=timezone.utc).astimezone(zone).date()


def local_date(moment: datetime) -> date:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return moment.replace(tzinfo=timezone.utc).astimezone(zone).date()
