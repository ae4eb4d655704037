"""Workbooks in the layout units hand in. The sheet text is Chinese whatever the UI language: it is the
official printed form, and re-import reads the same words back."""
from __future__ import annotations

import io
import math
import re
import unicodedata
from datetime import date
from typing import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..clock import localtime, percent_text, period_label
from ..labels import ACTIVITY_STATUS_LABELS, COMPLIANCE_STATE_LABELS, LEDGER_STATUS_LABELS, InChinese
from ..models import Activity, LedgerRow, Plan, Unit
from .queries import ComplianceLine, UnitFigures

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (header, column width); the order is the printed ledger's.
LEDGER_COLUMNS = [("序号", 6), ("重点任务", 24), ("具体内容", 42), ("负责人", 10), ("成员", 14),
                  ("工作时限", 18), ("推进情况", 36), ("完成情况", 14), ("佐证材料", 20), ("备注", 12)]
LEDGER_HEADERS = [header for header, _ in LEDGER_COLUMNS]
STATUS_TEXT = InChinese(LEDGER_STATUS_LABELS)
ACTIVITY_STATUS_TEXT = InChinese(ACTIVITY_STATUS_LABELS)
COMPLIANCE_STATE_TEXT = InChinese(COMPLIANCE_STATE_LABELS)

THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
HEADER_FILL = PatternFill("solid", fgColor="F0F2F5")
SECTION_FILL = PatternFill("solid", fgColor="FBEAEA")
BOLD = Font(bold=True)
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# Text that Excel would read as a formula (formula injection): kept as text, marked with a quote prefix.
FORMULA_STARTS = ("=", "+", "-", "@")


def ledger_title(plan: Plan, unit: Unit) -> str:
    """'计算机学院2026年意识形态工作方案' → '计算机学院2026年意识形态工作任务台账（教工第一党支部）'."""
    if "方案" not in plan.title:
        return f"{plan.title}台账（{unit.name}）"
    head = plan.title[:plan.title.rfind("方案")]
    return f"{head}{'' if head.endswith('任务') else '任务'}台账（{unit.name}）"


def status_text(row: LedgerRow) -> str:
    text = STATUS_TEXT.get(row.status, row.status)
    if row.status == "done" and row.completed_on:
        text += f"（{row.completed_on.isoformat()}）"
    return text


# Row heights: Calc and WPS do not grow rows to their wrapped text on load, so every exported row gets the
# height its longest wrapped cell needs. Widths count in '0'-widths of the default font; a CJK character
# takes two.
LINE_HEIGHT_PT = 15.0
ROW_PADDING_PT = 4.0
CELL_PADDING_CHARS = 1.5


def text_width(text: str) -> int:
    """Display width in '0'-widths: wide (CJK, full-width) characters count double."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def wrapped_lines(text: str, width: float) -> int:
    """How many lines `text` takes wrapped into a column `width` characters wide."""
    usable = max(1.0, width - CELL_PADDING_CHARS)
    return sum(max(1, math.ceil(text_width(line) / usable)) for line in text.split("\n"))


def fit_row_heights(sheet: Worksheet) -> None:
    """Set each row's height from its longest wrapped cell (merged cells count their merged width)."""
    widths = {letter: dimension.width for letter, dimension in sheet.column_dimensions.items()}
    merged = {}
    for cell_range in sheet.merged_cells.ranges:
        span = sum(widths.get(get_column_letter(col), 8.43) for col in range(cell_range.min_col, cell_range.max_col + 1))
        merged[(cell_range.min_row, cell_range.min_col)] = span
    for row in sheet.iter_rows():
        lines, size = 1, 11.0
        for cell in row:
            if cell.value is None or isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                continue
            value = cell.value.isoformat() if isinstance(cell.value, date) else str(cell.value)
            width = merged.get((cell.row, cell.column), widths.get(cell.column_letter, 8.43))
            font_size = float(cell.font.sz or 11) if cell.font else 11.0
            # Larger type: fewer characters fit, each line is taller.
            needed = wrapped_lines(value, width * 11.0 / font_size)
            if needed * font_size > lines * size:
                lines, size = needed, font_size
        sheet.row_dimensions[row[0].row].height = round(lines * LINE_HEIGHT_PT * size / 11.0 + ROW_PADDING_PT, 1)


def workbook_bytes(workbook: Workbook) -> bytes:
    for sheet in workbook.worksheets:
        fit_row_heights(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _append(sheet: Worksheet, values: Iterable) -> None:
    """sheet.append, except that user text is never a formula (openpyxl writes '=…' strings as formulas)."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
            cell.data_type = "s"
            cell.quotePrefix = True


def _print_setup(sheet: Worksheet, title_rows: str) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = title_rows
    sheet.page_margins.left = sheet.page_margins.right = 0.4


def _title_and_header(sheet: Worksheet, title: str, columns: Sequence[tuple[str, int]]) -> None:
    """Row 1: the title merged across; row 2: the header; both repeat on every printed page; frozen below."""
    last = get_column_letter(len(columns))
    _append(sheet, [title])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = CENTER
    sheet.append([header for header, _ in columns])
    for index, (_, width) in enumerate(columns, start=1):
        cell = sheet.cell(row=2, column=index)
        cell.font, cell.fill, cell.border, cell.alignment = BOLD, HEADER_FILL, BORDER, CENTER
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A3"
    _print_setup(sheet, "1:2")


def _body_row(sheet: Worksheet, values: Iterable) -> None:
    _append(sheet, values)
    for cell in sheet[sheet.max_row]:
        cell.border, cell.alignment = BORDER, WRAP


def write_ledger_sheet(sheet: Worksheet, plan: Plan, unit: Unit, rows: list[LedgerRow]) -> None:
    _title_and_header(sheet, ledger_title(plan, unit), LEDGER_COLUMNS)
    last = get_column_letter(len(LEDGER_COLUMNS))
    section_id = None
    for row in rows:
        task = row.task
        if task.section_id != section_id:
            section_id = task.section_id
            _append(sheet, [f"{task.section.number}、{task.section.title}"])
            number = sheet.max_row
            sheet.merge_cells(f"A{number}:{last}{number}")
            sheet[f"A{number}"].font, sheet[f"A{number}"].fill = BOLD, SECTION_FILL
            sheet[f"A{number}"].border = BORDER
        _body_row(sheet, [task.number, task.title, task.body, row.lead or task.lead, row.members or task.members,
                          task.deadline_text, row.progress, status_text(row),
                          "\n".join(f.filename for f in row.files), row.remarks])
        sheet.cell(row=sheet.max_row, column=1).alignment = CENTER


def ledger_workbook(plan: Plan, unit: Unit, rows: list[LedgerRow]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name(unit.name, set())
    write_ledger_sheet(sheet, plan, unit, rows)
    return workbook_bytes(workbook)


def sheet_name(name: str, taken: set[str]) -> str:
    """Excel's rules: ≤ 31 characters, none of []:*?/\\, unique in the workbook (case-insensitively)."""
    base = SHEET_NAME_FORBIDDEN.sub("_", name).strip("'") or "Sheet"
    candidate, counter = base[:31], 1
    while candidate.lower() in taken:
        counter += 1
        suffix = f"({counter})"
        candidate = base[:31 - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


SUMMARY_COLUMNS = [("单位", 26), ("任务数", 8), ("已完成", 8), ("进行中", 8), ("未开始", 8), ("逾期", 8),
                   ("完成率", 9), ("本期常规工作（完成/应完成）", 14), ("年度累计常规工作（完成/应完成）", 14), ("最近更新", 18)]


def _percent(value: float | None) -> str:
    return percent_text(value, empty="")


def summary_values(row: UnitFigures) -> list:
    tasks, duties = row.tasks, row.obligations
    return [row.unit.name, tasks.assigned, tasks.done, tasks.in_progress, tasks.not_started, tasks.overdue,
            _percent(tasks.rate), f"{duties.period_met}/{duties.period_required}",
            f"{duties.ytd_met}/{duties.ytd_required}",
            localtime(row.last_update)]


def subtree_workbook(plan: Plan, root: Unit, summaries: list[UnitFigures],
                     rows_by_unit: dict[int, list[LedgerRow]]) -> bytes:
    """A summary sheet first (the overview figures of every unit), then one ledger sheet per unit."""
    workbook = Workbook()
    summary = workbook.active
    taken: set[str] = set()
    summary.title = sheet_name("汇总", taken)
    _title_and_header(summary, f"{plan.year}年工作台账汇总（{root.name}）", SUMMARY_COLUMNS)
    for figures in summaries:
        _body_row(summary, summary_values(figures))
    for figures in summaries:
        unit_rows = rows_by_unit.get(figures.unit.id)
        if unit_rows:
            write_ledger_sheet(workbook.create_sheet(sheet_name(figures.unit.name, taken)), plan, figures.unit,
                               unit_rows)
    return workbook_bytes(workbook)


ACTIVITY_COLUMNS = [("日期", 12), ("单位", 22), ("类型", 12), ("主题", 30), ("地点", 16), ("主持人", 10),
                    ("实到/应到", 10), ("状态", 9), ("内容摘要", 40), ("附件", 20)]


def activities_workbook(title: str, activities: list[Activity]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "活动记录"
    _title_and_header(sheet, title, ACTIVITY_COLUMNS)
    for activity in activities:
        attendance = "" if activity.present is None else f"{activity.present}/{activity.expected or ''}"
        _body_row(sheet, [activity.held_on, activity.unit.name, activity.kind.name, activity.topic, activity.place,
                          activity.host, attendance, ACTIVITY_STATUS_TEXT.get(activity.status, activity.status),
                          activity.summary, "\n".join(f.filename for f in activity.files)])
        sheet.cell(row=sheet.max_row, column=1).number_format = "yyyy-mm-dd"
    return workbook_bytes(workbook)


COMPLIANCE_COLUMNS = ([("单位", 22), ("工作要求", 30), ("活动类型", 12)]
                      + [(f"{m}月", 7) for m in range(1, 13)] + [("合计", 9)])
DETAIL_COLUMNS = [("单位", 22), ("工作要求", 30), ("活动类型", 12), ("周期", 14), ("开始", 12), ("结束", 12),
                  ("应完成", 8), ("已完成", 8), ("状态", 9)]
STATE_FILLS = {"met": PatternFill("solid", fgColor="DAFBE1"), "missing": PatternFill("solid", fgColor="FFEBE9")}


def compliance_workbook(title: str, lines: list[ComplianceLine], cells: list) -> bytes:
    """Sheet 1: unit × requirement with met/owed per month; sheet 2: every period, one row each."""
    workbook = Workbook()
    grid = workbook.active
    grid.title = "汇总"
    _title_and_header(grid, title, COMPLIANCE_COLUMNS)
    for line in lines:
        months = [f"{met}/{owed}" if owed else "" for met, owed in line.months]
        _body_row(grid, [line.unit_name, line.requirement, line.kind, *months, f"{line.met}/{line.owed}"])
        for (met, owed), cell in zip(line.months, grid[grid.max_row][3:15]):
            if owed:
                cell.fill = STATE_FILLS["met" if met == owed else "missing"]
    detail = workbook.create_sheet("明细")
    _title_and_header(detail, title, DETAIL_COLUMNS)
    for cell in cells:
        _body_row(detail, [cell.unit_name, cell.requirement, cell.kind, period_label(cell.period, english=False), cell.start, cell.end,
                           cell.required, cell.done, COMPLIANCE_STATE_TEXT.get(cell.state, cell.state)])
        detail.cell(row=detail.max_row, column=9).fill = STATE_FILLS.get(cell.state, PatternFill())
    return workbook_bytes(workbook)


def parse_date_text(text: str) -> date | None:
    match = re.search(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})", text)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
