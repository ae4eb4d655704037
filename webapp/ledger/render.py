"""The ledger row (`<tr id="row-N" data-version="V">`): ONE renderer for the page and the row fragment.

The page (`_results.html`) asks it for each section's rows and the fragment endpoints for one row, so both are the
same HTML. It is plain Python over the rows' values (`queries.RowView`) with markupsafe's escaper: everything that
is the same for every row (labels in the request's language, URL prefixes, the opening `<td …>` of each cell) is
built once per language, the edit permission once per unit and request; a row is then one string join (Jinja cost
~0.3 ms a row). A cell whose editor is open is rendered by the `editor` macro of `templates/ledger/_editor.html`, as
before.
"""
from __future__ import annotations

from datetime import timezone

from flask import g, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user
from markupsafe import Markup, escape

try:  # markupsafe's C escaper on a str, without building a Markup per value (~0.3 µs each, ~17 values a row)
    from markupsafe import _escape_inner as _escape_str
except ImportError:  # pragma: no cover - another markupsafe: the same text through the public escaper
    def _escape_str(text: str) -> str:
        return str(escape(text))

from ..clock import local_today, zone
from ..permissions import may_edit_ledger_of
from ..prereview.queries import prereview_for_row
from .. import labels

FIELD_LABELS = labels.LEDGER_FIELD_LABELS
STATUS_LABELS = labels.LEDGER_STATUS_LABELS
_ID_MARK = "2147483646"


def _text(value) -> str:
    """`escape(value)` as a plain str: user data goes through here, every time."""
    return _escape_str(value) if type(value) is str else str(escape(value))


def _truncate(text: str, length: int) -> str:
    """Jinja's `truncate(length, true, '…', 0)`."""
    return text if len(text) <= length else text[:length - 1] + "…"


def _id_url_parts(endpoint: str) -> tuple[str, str]:
    key = "file_id" if endpoint == "ledger.download" else "row_id"
    before, after = url_for(endpoint, **{key: int(_ID_MARK)}).split(_ID_MARK, 1)
    return before, after


def _cell_open(field: str, editable: bool, multiline: bool = False) -> str:
    label = escape(str(FIELD_LABELS.get(field, field)))  # data-label: the column's name on a phone's card
    if editable:
        return (f'<td class="editable{" note" if multiline else ""}" tabindex="0" data-field="{field}" '
                f'data-label="{label}" aria-describedby="edit-hint">')
    note = ' class="note"' if multiline else ""
    return f'<td data-field="{field}" data-label="{label}"{note}>'


class _Fixed:
    """Everything of a row that depends only on the language and the site's URL root: built once per process for
    each (cached in `_FIXED`), as it costs ~0.3 ms of gettext and url_for."""

    def __init__(self):
        self.edit_url = _id_url_parts("ledger.edit_row")
        self.show_url = _id_url_parts("ledger.show_row")
        self.history_url = _id_url_parts("ledger.row_history")
        self.download_url = _id_url_parts("ledger.download")
        self.more_label = Markup(gettext("Full text and history"))
        self.deadline_cell = f'<td class="deadline" data-label="{Markup(gettext("Time limit"))}">'
        self.overdue_badge = f' <span class="badge overdue">{Markup(gettext("Overdue"))}</span>'
        self.prereview_count = Markup(gettext("Pre-review: %(count)d approved"))
        self.file_count = Markup(gettext("%(count)s files"))
        self.status_labels = {status: escape(label) for status, label in STATUS_LABELS.items()}
        self.cells = {(field, editable, multiline): _cell_open(field, editable, multiline)
                      for field, multiline in (("lead", False), ("members", False), ("progress", True),
                                               ("status", False), ("files", False), ("remarks", True))
                      for editable in (False, True)}


_FIXED: dict[tuple[str, str], _Fixed] = {}


class RowRenderer:
    """Rows for one request (one user, one language, one day). `renderer()` gives the request's instance."""

    def __init__(self, print_view: bool = False):
        self.user = current_user._get_current_object()
        self.print_view = print_view
        self.today = local_today()
        self.zone = zone()
        key = (str(get_locale()), request.script_root)  # URLs are relative: the host does not matter
        fixed = _FIXED.get(key)
        if fixed is None:
            if len(_FIXED) > 16:  # a handful of languages and roots; never let odd requests grow it
                _FIXED.clear()
            fixed = _FIXED[key] = _Fixed()
        self.fixed = fixed
        self.editable_units: dict[int, bool] = {}

    def can_edit(self, unit_id: int) -> bool:
        return may_edit_ledger_of(self.user, unit_id)  # a row read under the scope: its unit is in the subtree

    def rows(self, rows) -> Markup:
        """Rows one after another, as the page shows a section's rows."""
        return Markup("".join([self._row(row) for row in rows]))

    def row(self, row, editing: str | None = None, **state) -> Markup:
        """One row; `editing` names the cell whose editor is open (state: errors, values, conflict, upload_error)."""
        return Markup(self._row(row, editing, state))

    def _row(self, row, editing: str | None = None, state: dict | None = None) -> str:
        editable = self.editable_units.get(row.unit_id)
        if editable is None:
            editable = self.editable_units[row.unit_id] = self.can_edit(row.unit_id)
        task, row_id, status = row.task, row.id, row.status
        overdue = bool(task.due_on and task.due_on < self.today and status != "done")
        fixed = self.fixed
        cells = fixed.cells
        if editing and not editable:
            editing = None
        parts = [f'<tr id="row-{row_id}" data-version="{row.version}" class="ledger-row{" overdue" if overdue else ""}"']
        if editable:
            parts.append(f' data-edit="{fixed.edit_url[0]}{row_id}{fixed.edit_url[1]}" '
                         f'data-show="{fixed.show_url[0]}{row_id}{fixed.show_url[1]}"')
        history = f"{fixed.history_url[0]}{row_id}{fixed.history_url[1]}"
        body = task.body if self.print_view else _truncate(task.body, 40)
        parts.append(f'>\n<td class="num">{_text(task.number)}</td>\n'
                     f'<th scope="row" class="task-title" id="t{row_id}">{_text(task.title)}</th>\n'
                     f'<td class="task-body">{_text(body)} <a class="more" id="h{row_id}" aria-labelledby="h{row_id} '
                     f't{row_id}" href="{history}" hx-get="{history}" hx-target="#ledger-panel">{fixed.more_label}</a>'
                     f'</td>\n')
        editor = self._editor(row, editing, state) if editing else None
        parts.append(editor if editing == "lead" else f"{cells['lead', editable, False]}{_text(row.lead)}</td>")
        parts.append("\n")
        parts.append(editor if editing == "members" else f"{cells['members', editable, False]}{_text(row.members)}</td>")
        parts.append(f"\n{fixed.deadline_cell}{_text(task.deadline_text)}</td>\n")
        if editing == "progress":
            parts.append(editor)
        else:
            parts.append(f"{cells['progress', editable, True]}{_text(row.progress)}")
            prereview = prereview_for_row(row)
            if prereview:
                parts.append(f' <a class="prereview-count" href="{_text(prereview["url"])}">'
                             f'{fixed.prereview_count % {"count": prereview["approved"]}}</a>')
            parts.append("</td>")
        parts.append("\n")
        if editing == "status":
            parts.append(editor)
        else:
            parts.append(f'{cells["status", editable, False]}<span class="badge {_text(status)}">'
                         f'{fixed.status_labels.get(status) or _text(status or "")}</span>')
            if row.completed_on and status == "done":
                parts.append(f" <time>{_text(row.completed_on)}</time>")
            if overdue:
                parts.append(fixed.overdue_badge)
            if row.updated_by_id:
                name = row.updated_by.display_name if row.updated_by is not None else ""
                updated_at = row.updated_at  # clock.localtime(updated_at, "%m-%d %H:%M"), the zone looked up once
                when = "" if updated_at is None else (updated_at if updated_at.tzinfo else updated_at.replace(
                    tzinfo=timezone.utc)).astimezone(self.zone).strftime("%m-%d %H:%M")
                parts.append(f'<small class="muted">{_text(name)} {when}</small>')
            parts.append("</td>")
        parts.append("\n")
        if editing == "files":
            parts.append(editor)
        else:
            parts.append(cells["files", editable, False])
            files = row.files
            for file in files[:3]:
                parts.append(f'<a href="{fixed.download_url[0]}{file.id}{fixed.download_url[1]}">'
                             f'{_text(_truncate(file.filename, 14))}</a>')
            if len(files) > 3:
                parts.append(f'<span class="muted">{fixed.file_count % {"count": len(files)}}</span>')
            parts.append("</td>")
        parts.append("\n")
        parts.append(editor if editing == "remarks" else f"{cells['remarks', editable, True]}{_text(row.remarks)}</td>")
        parts.append("\n</tr>")
        return "".join(parts)

    def _editor(self, row, field: str, state: dict) -> str:
        """The open cell: the `editor` macro of _editor.html, with the request's template context."""
        return render_template("ledger/_editor_cell.html", row=row, field=field, **state)


def unit_options(units, selected_id: int) -> Markup:
    """The unit selector's `<option>`s (`queries.unit_choices()`: id, name, depth), indented by depth below the first:
    what the template's loop gave, ~6 µs an option there (a university secretary's page lists ~3,300 units)."""
    if not units:
        return Markup("")
    top = units[0].depth
    return Markup("".join([
        f'<option value="{unit_id}" {"selected" if unit_id == selected_id else ""}>{"　" * (depth - top)}'
        f'{_text(name)}</option>' for unit_id, name, depth in units]))


def renderer(print_view: bool = False) -> RowRenderer:
    """The request's row renderer (built once per request)."""
    key = "ledger_row_renderer_print" if print_view else "ledger_row_renderer"
    built = g.get(key)
    if built is None:
        built = RowRenderer(print_view)
        setattr(g, key, built)
    return built
