"""The overview's per-unit HTML (table rows, the total, the completion bars): plain Python with markupsafe's escaper.

A university's overview has a row and a bar per college; in Jinja each cost ~0.2 ms (a macro call, three url_for,
a dozen filters), so the page grew with the colleges. Here the labels are translated and the URLs built once per
request (a URL with a marker id, split around it), and a row is one string join. The HTML is what the template
made (`tests/test_reports_overview.py` reads it back).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext
from markupsafe import Markup, escape

from ..clock import localtime, percent, percent_text
from .charts import Bar, Chart
from .queries import ReportWindow, UnitFigures

_ID_MARK = "2147483646"


def _split(endpoint: str, **values) -> tuple[str, str]:
    key = "unit" if endpoint == "reports.dashboard" else "unit_id"
    before, after = str(escape(url_for(endpoint, **{key: int(_ID_MARK)}, **values))).split(_ID_MARK, 1)
    return before, after


def _duty(met: int, owed: int) -> str:
    if not owed:
        return '<span class="muted">—</span>'
    return f'<span class="badge {"met" if met == owed else "missing"}">{met}/{owed}</span>'


def _figures_cells(row: UnitFigures) -> str:
    tasks, duties = row.tasks, row.obligations
    rate = tasks.rate
    overdue = f'<span class="badge overdue">{tasks.overdue}</span>' if tasks.overdue else "0"
    rate_html = ('<span class="muted">—</span>' if rate is None
                 else f'<span class="rate {"poor" if rate < 0.5 else ""}">{percent_text(rate)}</span>')
    updated = row.last_update
    return (f'<td class="num" data-col="assigned">{tasks.assigned}</td>'
            f'<td class="num wide-only" data-col="done">{tasks.done}</td>'
            f'<td class="num wide-only" data-col="in_progress">{tasks.in_progress}</td>'
            f'<td class="num wide-only" data-col="not_started">{tasks.not_started}</td>'
            f'<td class="num" data-col="overdue">{overdue}</td>'
            f'<td class="num" data-col="rate">{rate_html}</td>'
            f'<td class="num" data-col="period">{_duty(duties.period_met, duties.period_required)}</td>'
            f'<td class="num" data-col="ytd">{_duty(duties.ytd_met, duties.ytd_required)}</td>'
            f'<td class="wide-only" data-col="updated">{localtime(updated, "%Y-%m-%d") if updated else "—"}</td>')


@dataclass(frozen=True)
class OverviewHtml:
    rows: Markup
    total: Markup
    bars: Markup
    bar_figures: Markup


def overview_html(rows: list[UnitFigures], total: UnitFigures, window: ReportWindow, chart: Chart,
                  bars: list[Bar]) -> OverviewHtml:
    drill = _split("reports.dashboard", year=window.year, period=window.period or None)
    ledger = _split("ledger.unit_ledger")
    own_xlsx = _split("reports.ledger_xlsx")
    subtree_xlsx = _split("reports.ledgers_xlsx")
    ledger_label = escape(gettext("Ledger"))
    own_badge = f'<span class="badge">{escape(gettext("own ledger"))}</span>'
    below = f'<span class="muted small">{escape(gettext("with units below"))}</span>'
    parts = []
    for row in rows:
        unit_id, name = row.unit.id, escape(row.unit.name)
        hidden_name = f'<span class="visually-hidden"> {name}</span>'
        if row.has_children and not row.own_only:
            title = f'<a href="{drill[0]}{unit_id}{drill[1]}" class="drill">{name}</a>'
        else:
            title = name
        note = own_badge if row.own_only else below if row.has_children else ""
        links = f'<a href="{ledger[0]}{unit_id}{ledger[1]}">{ledger_label}{hidden_name}</a>'
        if row.tasks.assigned:
            xlsx = own_xlsx if row.own_only else subtree_xlsx
            links += f' · <a href="{xlsx[0]}{unit_id}{xlsx[1]}" download>Excel{hidden_name}</a>'
        parts.append(f'<tr data-unit-id="{unit_id}"><th scope="row" data-col="unit">{title} {note}'
                     f'<span class="row-links no-print">{links}</span></th>{_figures_cells(row)}</tr>\n')
    total_html = (f'<tr data-unit-id="total"><th scope="row">{escape(gettext("Total"))}</th>'
                  f'{_figures_cells(total)}</tr>')
    bar_parts, figure_parts = [], []
    label_x, value_x = chart.label_width - 6, chart.label_width
    for bar in bars:
        label = escape(bar.label)
        shown = "—" if bar.percent is None else f"{bar.percent}%"
        bar_parts.append(
            f'<text x="{label_x}" y="{bar.y + 12}" text-anchor="end" class="chart-label">{label}</text>'
            f'<rect x="{value_x}" y="{bar.y}" width="{chart.area}" height="{chart.box_height}" class="bar-track"/>'
            f'<rect x="{value_x}" y="{bar.y}" width="{bar.width}" height="{chart.box_height}" class="bar {bar.level}">'
            f'<title>{label}: {bar.percent if bar.percent is not None else "—"}%</title></rect>'
            f'<text x="{value_x + bar.width + 4}" y="{bar.y + 12}" class="chart-value">{shown}</text>\n')
        figure_parts.append(f'<tr><th scope="row">{label}</th><td>{shown}</td></tr>')
    return OverviewHtml(Markup("".join(parts)), Markup(total_html), Markup("".join(bar_parts)),
                        Markup("".join(figure_parts)))


__all__ = ["OverviewHtml", "overview_html", "percent"]
