"""Evidence files (佐证材料): upload to a row, download, remove. Files are served only within scope."""
from __future__ import annotations

from flask import abort, flash, redirect, request
from flask_login import current_user

from ..htmx import is_htmx
from ..permissions import can_remove_file, may_edit_ledger_of, permitted, roles_required
from ..uploads import UploadError, check_upload, send_stored_file, too_large_message
from . import queries
from .routes import bp, load_editable_row, load_row, render_row, row_page_url
from .services import add_evidence, remove_evidence


def _row_answer(row_id: int, status: int = 200, error: str | None = None):
    """htmx gets the row with its file list open; a plain form post goes back to the ledger page."""
    row = load_row(row_id)
    if is_htmx():
        return render_row(row, status, editing="files", upload_error=error)
    if error:
        flash(error, "error")
    return redirect(row_page_url(row))


@bp.route("/ledger/rows/<int:row_id>/files", methods=["POST"])
@roles_required()
def upload_evidence(row_id: int):
    row = load_editable_row(row_id)
    uploads = [upload for upload in request.files.getlist("file") if upload.filename] or [None]
    try:
        checked = [check_upload(upload) for upload in uploads]
    except UploadError as error:
        return _row_answer(row.id, 422, str(error))
    add_evidence(row, checked, current_user.id)
    return _row_answer(row.id)


def upload_too_large():
    """A request over MAX_CONTENT_LENGTH to a row's upload: the row with the limit in its file cell (422),
    replacing whatever error the cell showed; None for any other request."""
    if request.endpoint != "ledger.upload_evidence" or not is_htmx() or not current_user.is_authenticated:
        return None
    row = load_row(request.view_args["row_id"])
    if not may_edit_ledger_of(current_user, row.unit_id):
        return None
    return render_row(row, 422, editing="files", upload_error=too_large_message())


@bp.route("/files/<int:file_id>")
@roles_required()
def download(file_id: int):
    stored = queries.stored_file_with_data(file_id)
    if stored is None:
        abort(404)
    return send_stored_file(stored)


@bp.route("/files/<int:file_id>/delete", methods=["POST"])
@roles_required()
def delete_file(file_id: int):
    stored = permitted(can_remove_file, queries.stored_file(file_id))
    row_id = stored.ledger_row_id
    remove_evidence(stored)
    return _row_answer(row_id)
