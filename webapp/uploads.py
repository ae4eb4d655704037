"""Checking uploaded evidence and sending stored files back.

Minimal stand-in written by the activities area so its tests run; the ledger area owns the real one
(same API: `check_upload(file_storage) -> CheckedFile`, raising `UploadError`; `send_stored_file`).
"""
from __future__ import annotations

import hashlib
import io
import os
import unicodedata
from dataclasses import dataclass

from flask import current_app, send_file
from flask_babel import gettext as _

# extension -> (content type, the bytes such a file starts with)
ALLOWED = {
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)), "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)), "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", (b"RIFF",)), "pdf": ("application/pdf", (b"%PDF-",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
}


class UploadError(ValueError):
    """The file was refused; str(error) is the message to show the user."""


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    data: bytes
    size: int
    sha256: str


def check_upload(file_storage) -> CheckedFile:
    filename = _clean_name(file_storage.filename or "")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in ALLOWED:
        raise UploadError(_("Only photos (JPG, PNG), PDF, Word or Excel files can be uploaded."))
    data = file_storage.read(current_app.config["MAX_UPLOAD_BYTES"] + 1)
    if not data:
        raise UploadError(_("The file is empty."))
    if len(data) > current_app.config["MAX_UPLOAD_BYTES"]:
        raise UploadError(_("The upload is too large."))
    content_type, signatures = ALLOWED[extension]
    if not data.startswith(signatures) or (extension == "webp" and data[8:12] != b"WEBP"):
        raise UploadError(_("The file's content does not match its name (%(name)s).", name=filename))
    return CheckedFile(filename=filename, content_type=content_type, data=data, size=len(data),
                       sha256=hashlib.sha256(data).hexdigest())


def _clean_name(name: str) -> str:
    # Keep Chinese names readable; drop folders and control characters.
    base = os.path.basename(name.replace("\\", "/"))
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[-200:] or "file"


def send_stored_file(stored_file):
    inline = stored_file.content_type.startswith("image/")
    return send_file(io.BytesIO(stored_file.data), mimetype=stored_file.content_type,
                     as_attachment=not inline, download_name=stored_file.filename)
