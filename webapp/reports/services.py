"""Re-importing a unit's ledger workbook after offline editing.

Three steps, nothing applied silently: read the upload (refusing anything that is not a real .xlsx),
compare it with the ledger (a diff per row, carrying the row's version as seen now), and, once the
user confirms, apply each row through the ledger's own save (same validation, compare-and-set on
the version, audit) so that a row changed in between is reported as a conflict and left alone.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..labels import LEDGER_FIELD_LABELS
from ..models import LedgerRow, Task
from ..uploads import UploadError, check_office_parts, detect_type, is_encrypted_office, too_large_message
from .excel import LEDGER_HEADERS, STATUS_TEXT, parse_date_text, status_text

# Ledger header → row attribute, for the columns an import may change.
IMPORTED_COLUMNS = {"负责人": "lead", "成员": "members", "推进情况": "progress", "完成情况": "status", "备注": "remarks"}
FIELD_LABELS = LEDGER_FIELD_LABELS
NUMBER_HEADER = "序号"
STATUS_WORDS = [(re.compile(r"^(已完成|完成)"), "done"), (re.compile(r"^(进行中|推进中|正在进行)"), "in_progress"),
                (re.compile(r"^(未开始|未启动)$"), "not_started")]


class LedgerImportError(ValueError):
    """The upload cannot be read as a ledger; the message is for the user."""


@dataclass
class SheetRow:
    line: int  # the row number in the worksheet, for messages
    number: int
    values: dict[str, str]


# ---- reading the upload ------------------------------------------------------------------------------

def read_upload(file_storage) -> list[SheetRow]:
    """The numbered rows of the first worksheet; raises LedgerImportError with a clear message."""
    if file_storage is None or not (file_storage.filename or "").strip():
        raise LedgerImportError(_("Choose the ledger workbook (.xlsx) to upload."))
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    data = file_storage.stream.read(limit + 1)
    if len(data) > limit:
        raise LedgerImportError(too_large_message())
    if is_encrypted_office(data):
        raise LedgerImportError(_("The workbook is password-protected. Remove the password in Excel and upload it again."))
    try:  # the uploads' own check: an Office zip by its parts, refusing zip bombs before anything inflates
        is_workbook = detect_type(data) == "xlsx"
        if is_workbook:
            check_office_parts(data)  # well-formed XML without DOCTYPE before openpyxl reads it
    except UploadError as unsafe:
        raise LedgerImportError(str(unsafe)) from None
    if not file_storage.filename.lower().endswith(".xlsx") or not is_workbook:
        raise LedgerImportError(_("This is not an Excel workbook (.xlsx). Upload the ledger exported from this site."))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return _numbered_rows(workbook.worksheets[0].iter_rows(values_only=True))
        finally:
            workbook.close()
    except LedgerImportError:
        raise
    except Exception:  # openpyxl raises many kinds on a damaged workbook (read-only sheets parse lazily, here)
        raise LedgerImportError(_("The workbook could not be read. Save it again in Excel as .xlsx and retry.")) from None


def _numbered_rows(lines) -> list[SheetRow]:
    columns: dict[str, int] | None = None
    result = []
    for line, cells in enumerate(lines, start=1):
        texts = [_cell_text(value) for value in cells]
        if columns is None:
            if NUMBER_HEADER in texts:
                columns = {header: texts.index(header) for header in LEDGER_HEADERS if header in texts}
            continue
        number = _task_number(cells[columns[NUMBER_HEADER]] if columns[NUMBER_HEADER] < len(cells) else None)
        if number is None:
            continue  # section rows and blank lines
        result.append(SheetRow(line=line, number=number, values={
            attribute: texts[columns[header]] if columns[header] < len(texts) else ""
            for header, attribute in IMPORTED_COLUMNS.items() if header in columns}))
    if columns is None:
        raise LedgerImportError(_("No header row with 序号 was found. Upload the ledger exported from this site."))
    return result


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, date):
        value = value.isoformat()[:10]
    return str(value).replace("\r\n", "\n").strip()


def _task_number(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        return int(value)
    text = _cell_text(value)
    return int(text) if text.isdecimal() else None


def parse_status(text: str) -> tuple[str, date | None]:
    """'已完成（2026-03-15）' → ('done', date(2026, 3, 15)); raises ValueError for unknown words."""
    compact = re.sub(r"\s+", "", text)
    if not compact:
        return "not_started", None
    for pattern, status in STATUS_WORDS:
        if pattern.match(compact):
            return status, parse_date_text(compact) if status == "done" else None
    raise ValueError(compact)


# ---- comparing with the ledger ---------------------------------------------------------------------

@dataclass
class CellChange:
    field: str
    old: str
    new: str


@dataclass
class RowDiff:
    row_id: int
    number: int
    title: str
    version: int
    changes: list[CellChange]
    # What would be sent to the ledger's save: the changed fields only, as the inline editor sends them.
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportPreview:
    diffs: list[RowDiff]
    unchanged: int
    unknown_numbers: list[int]
    missing_numbers: list[int]
    duplicate_numbers: list[int]

    @property
    def applicable(self) -> list[RowDiff]:
        return [d for d in self.diffs if not d.errors]

    @property
    def invalid(self) -> list[RowDiff]:
        return [d for d in self.diffs if d.errors]


def preview_import(rows: list[LedgerRow], sheet_rows: list[SheetRow], today: date) -> ImportPreview:
    by_number = {row.task.number: row for row in rows}
    seen: dict[int, SheetRow] = {}
    duplicates = sorted({s.number for s in sheet_rows if s.number in seen or seen.setdefault(s.number, s) is not s})
    diffs, unchanged = [], 0
    for number, sheet_row in seen.items():
        row = by_number.get(number)
        if row is None or number in duplicates:
            continue
        diff = row_diff(row, sheet_row)
        if diff.values and not diff.errors:
            diff.errors = list(ledger_form(row, diff.values, diff.version, today)[1].values())
        if diff.changes or diff.errors:
            diffs.append(diff)
        else:
            unchanged += 1
    return ImportPreview(diffs=diffs, unchanged=unchanged,
                         unknown_numbers=sorted(set(seen) - set(by_number)),
                         missing_numbers=sorted(set(by_number) - set(seen)), duplicate_numbers=duplicates)


def row_diff(row: LedgerRow, sheet_row: SheetRow) -> RowDiff:
    diff = RowDiff(row_id=row.id, number=row.task.number, title=row.task.title, version=row.version,
                   changes=[], values={})
    for attribute, new in sheet_row.values.items():
        if attribute == "status":
            _status_change(row, new, diff)
        elif new != (getattr(row, attribute) or "").strip():
            diff.changes.append(CellChange(attribute, getattr(row, attribute) or "", new))
            diff.values[attribute] = new
    return diff


def _status_change(row: LedgerRow, text: str, diff: RowDiff) -> None:
    try:
        status, completed_on = parse_status(text)
    except ValueError:
        diff.changes.append(CellChange("status", status_text(row), text))
        diff.errors.append(_('Row %(number)s: "%(text)s" is not a completion status (use %(words)s).',
                             number=row.task.number, text=text, words="、".join(STATUS_TEXT.values())))
        return
    if status == "done" and completed_on is None:
        completed_on = row.completed_on  # "已完成" without a date keeps the recorded date
    if status != "done":
        completed_on = None
    if (status, completed_on) == (row.status, row.completed_on):
        return
    new_text = STATUS_TEXT[status] + (f"（{completed_on.isoformat()}）" if completed_on else "")
    diff.changes.append(CellChange("status", status_text(row), new_text))
    diff.values["status"] = status
    diff.values["completed_on"] = completed_on.isoformat() if completed_on else ""


def encode_plan(diffs: list[RowDiff]) -> str:
    """The confirm form carries what to apply, including each row's version at upload time."""
    return json.dumps([{"row_id": d.row_id, "version": d.version, "values": d.values} for d in diffs],
                      ensure_ascii=False)


@dataclass
class PlannedRow:
    row_id: int
    version: int
    values: dict[str, str]


def decode_plan(text: str) -> list[PlannedRow]:
    try:
        items = json.loads(text)
        return [PlannedRow(row_id=int(i["row_id"]), version=int(i["version"]),
                           values={str(k): str(v) for k, v in dict(i["values"]).items()}) for i in items]
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: nested past json's limit
        raise LedgerImportError(_("The confirmation was damaged. Upload the workbook again."))


# ---- applying ----------------------------------------------------------------------------------------

@dataclass
class ApplyOutcome:
    row_id: int
    number: int | None
    state: str  # applied | conflict | invalid | forbidden | missing
    messages: list[str] = field(default_factory=list)


def ledger_form(row: LedgerRow, values: dict[str, str], version: int, today: date) -> tuple[dict, dict[str, str]]:
    """The inline editor's own validation: (changes to save, {field: error})."""
    from ..ledger.forms import LedgerRowForm
    form = LedgerRowForm(present=list(values), formdata=MultiDict({**values, "version": str(version)}))
    form.validate_for(row, row.task.plan.year, today)
    return form.changes, form.field_errors


def apply_import(planned: list[PlannedRow], ledger_row_ids: set[int], user, can_edit, today: date
                 ) -> list[ApplyOutcome]:
    """All or nothing: every row through the ledger's own validation and compare-and-set save, in one
    transaction; if any row cannot be saved, nothing is, and each outcome says which row failed and why
    (the others are "held")."""
    from ..ledger.services import StaleVersion, apply_row_changes

    # Only rows of the ledger being imported: the payload comes from the client.
    rows = current_rows([item.row_id for item in planned if item.row_id in ledger_row_ids])
    outcomes = []
    for item in planned:
        row = rows.get(item.row_id)
        if row is None:
            outcomes.append(ApplyOutcome(item.row_id, None, "missing"))
            continue
        outcome = ApplyOutcome(row.id, row.task.number, "applied")
        outcomes.append(outcome)
        if not can_edit(user, row):
            outcome.state = "forbidden"
            continue
        changes, errors = ledger_form(row, item.values, item.version, today)
        if errors:
            outcome.state, outcome.messages = "invalid", list(errors.values())
            continue
        try:
            apply_row_changes(user.id, row.id, item.version, changes, row=row)
        except StaleVersion as stale:
            outcome.state = "conflict"
            if stale.fields:
                outcome.messages = [_("Changed by someone else after your upload: %(fields)s",
                                      fields="、".join(str(FIELD_LABELS.get(f, f)) for f in stale.fields))]
    if all(outcome.state == "applied" for outcome in outcomes):
        db.session.commit()
    else:
        db.session.rollback()
        for outcome in outcomes:
            if outcome.state == "applied":
                outcome.state = "held"
    return outcomes


def current_rows(row_ids: list[int]) -> dict[int, LedgerRow]:
    """The rows to apply, as they are now, in one query (scoped: rows outside the user's subtree are absent)."""
    stmt = (select(LedgerRow).where(LedgerRow.id.in_(row_ids))
            .options(joinedload(LedgerRow.unit), joinedload(LedgerRow.task).joinedload(Task.plan))
            .execution_options(populate_existing=True))
    return {row.id: row for row in db.session.execute(stmt).unique().scalars()}


def outcome_counts(outcomes: list[ApplyOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.state] = counts.get(outcome.state, 0) + 1
    return counts

