"""Geometry for the overview's charts, drawn by the template as inline SVG (no script, no style attributes:
sizes are SVG presentation attributes, colours are CSS classes)."""
from __future__ import annotations

from dataclasses import dataclass

from ..clock import percent
from .queries import UnitFigures

LABEL_WIDTH = 170
BAR_AREA = 300
ROW_HEIGHT = 24
BOX_HEIGHT = 16
MONTH_WIDTH = 30
TOP = 22  # room for the month labels above the heat map
# Up to this many rows the overview draws its heat map; a longer one (a university's colleges) links to it.
HEAT_MAP_INLINE_ROWS = 12


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    area: int = BAR_AREA
    box_height: int = BOX_HEIGHT
    top: int = TOP


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    width: float
    percent: int | None
    level: str  # CSS class: good | fair | poor | none


@dataclass(frozen=True)
class HeatCell:
    x: int
    month: int
    met: int
    owed: int
    level: str  # CSS class heat-0 … heat-4, heat-none (nothing owed), heat-future


@dataclass(frozen=True)
class HeatRow:
    label: str
    y: int
    cells: list[HeatCell]


def _level(rate: float | None) -> str:
    if rate is None:
        return "none"
    return "good" if rate >= 0.8 else "fair" if rate >= 0.5 else "poor"


def completion_bars(rows: list[UnitFigures]) -> tuple[Chart, list[Bar]]:
    """One horizontal bar per unit, its length the share of assigned tasks that are done."""
    bars = [Bar(label=row.unit.name, y=TOP + index * ROW_HEIGHT, width=round((row.tasks.rate or 0) * BAR_AREA, 1),
                percent=percent(row.tasks.rate), level=_level(row.tasks.rate))
            for index, row in enumerate(rows)]
    return Chart(width=LABEL_WIDTH + BAR_AREA + 50, height=TOP + len(rows) * ROW_HEIGHT + 4), bars


def heat_map(rows: list[UnitFigures], last_month: int) -> tuple[Chart, list[int], list[HeatRow]]:
    """Units × months: the share of owed obligation periods that were met; months after `last_month` are future."""
    lines = []
    for index, row in enumerate(rows):
        cells = [HeatCell(x=LABEL_WIDTH + (month - 1) * MONTH_WIDTH, month=month, met=met, owed=owed,
                          level=_heat_level(month, met, owed, last_month))
                 for month, (met, owed) in enumerate(row.obligations.months, start=1)]
        lines.append(HeatRow(label=row.unit.name, y=TOP + index * ROW_HEIGHT, cells=cells))
    month_x = [LABEL_WIDTH + (month - 1) * MONTH_WIDTH + MONTH_WIDTH // 2 for month in range(1, 13)]
    return Chart(width=LABEL_WIDTH + 12 * MONTH_WIDTH + 4, height=TOP + len(rows) * ROW_HEIGHT + 4), month_x, lines


def _heat_level(month: int, met: int, owed: int, last_month: int) -> str:
    if month > last_month:
        return "heat-future"
    if not owed:
        return "heat-none"
    return f"heat-{min(4, met * 4 // owed)}"


CELL_SIZE = MONTH_WIDTH - 3
