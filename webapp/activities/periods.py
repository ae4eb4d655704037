"""Period arithmetic for recurring obligations: pure functions, no database, no clock.

A plan year's periods of a cadence:
- week: ISO weeks (Monday–Sunday) that overlap the year, labelled by ISO year and week ("2026-W05");
- month ("2026-03"), quarter ("2026-Q1"), year ("2026");
- semester: the semesters that START in the year, from `SEMESTERS` config
  {name: (start month, start day, end month, end day)}; an end before the start runs into the next year.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta
from typing import Mapping, Sequence

MET, MISSING, IN_PROGRESS, UPCOMING = "met", "missing", "in_progress", "upcoming"
STATES = (MET, MISSING, IN_PROGRESS, UPCOMING)

DEFAULT_SEMESTERS: Mapping[str, tuple[int, int, int, int]] = {"spring": (3, 1, 7, 31), "autumn": (9, 1, 1, 31)}
# Labels are part of the compliance contract, so they are fixed Chinese words, not translated text.
SEMESTER_LABELS = {"spring": "春季学期", "autumn": "秋季学期"}


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def periods(cadence: str, year: int,
            semesters: Mapping[str, Sequence[int]] | None = None) -> list[Period]:
    """Every period of `cadence` that belongs to plan year `year`, in date order."""
    semester_items = tuple((name, tuple(days)) for name, days in (semesters or DEFAULT_SEMESTERS).items())
    return list(_periods(cadence, year, semester_items))


@lru_cache(maxsize=256)
def _periods(cadence: str, year: int, semesters: tuple[tuple[str, tuple[int, ...]], ...]) -> tuple[Period, ...]:
    # Memoised: a page asks for the same few cadences of one year hundreds of times.
    return tuple(_compute_periods(cadence, year, dict(semesters)))


def _compute_periods(cadence: str, year: int, semesters: Mapping[str, Sequence[int]]) -> list[Period]:
    if cadence == "week":
        return _weeks(year)
    if cadence == "month":
        return [_month(year, month) for month in range(1, 13)]
    if cadence == "quarter":
        return [Period(f"{year}-Q{q}", date(year, 3 * q - 2, 1), _month(year, 3 * q).end) for q in range(1, 5)]
    if cadence == "semester":
        return _semesters(year, semesters)
    if cadence == "year":
        return [Period(str(year), date(year, 1, 1), date(year, 12, 31))]
    raise ValueError(f"unknown cadence {cadence!r}")


def _weeks(year: int) -> list[Period]:
    first = date(year, 1, 1)
    monday = first - timedelta(days=first.weekday())
    result = []
    while monday.year <= year:
        iso = monday.isocalendar()
        result.append(Period(f"{iso.year}-W{iso.week:02d}", monday, monday + timedelta(days=6)))
        monday += timedelta(days=7)
    return result


def _month(year: int, month: int) -> Period:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return Period(f"{year}-{month:02d}", date(year, month, 1), following - timedelta(days=1))


def _semesters(year: int, semesters: Mapping[str, Sequence[int]]) -> list[Period]:
    result = []
    for name, (start_month, start_day, end_month, end_day) in semesters.items():
        start = date(year, start_month, start_day)
        end_year = year + 1 if (end_month, end_day) < (start_month, start_day) else year
        label = f"{year}-{SEMESTER_LABELS.get(name, name)}"
        result.append(Period(label, start, date(end_year, end_month, end_day)))
    return sorted(result, key=lambda period: period.start)


def state_for(period: Period, required: int, done: int, as_of: date) -> str:
    """Met as soon as enough were done; otherwise past → missing, current → in_progress, future → upcoming."""
    if done >= required:
        return MET
    if as_of > period.end:
        return MISSING
    if as_of >= period.start:
        return IN_PROGRESS
    return UPCOMING
