"""Uploaded files: checked by content, with clean names, served only as attachments.

Shared by the ledger (evidence) and the activities (attachments). A file is accepted only when its
bytes are one of the allowed types AND its extension names that type; anything else is refused
with a message the user can act on, and nothing is stored.
"""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from urllib.parse import quote

from flask import Response, current_app
from flask_babel import gettext as _
from lxml import etree

# Detected type → (content type, extensions that may name it).
ALLOWED_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", ("pdf",)),
    "jpeg": ("image/jpeg", ("jpg", "jpeg")),
    "png": ("image/png", ("png",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",)),
}
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for _ctype, exts in ALLOWED_TYPES.values() for ext in exts)

# Office documents are zips: refuse archives that would inflate beyond these (zip bombs).
ZIP_MAX_UNCOMPRESSED = 100 * 1024 * 1024
ZIP_MAX_RATIO = 100
ZIP_MAX_MEMBERS = 5000
MAX_NAME_CHARS = 120
# Browsers sniff the first bytes for markup: a PDF or image that starts like a web page is a polyglot.
SNIFF_BYTES = 1024
_MARKUP = re.compile(rb"<\s*(!doctype|html|head|body|script|svg|iframe|object|embed|img|a\s)", re.IGNORECASE)
_FORBIDDEN_NAME_CHARS = re.compile(r'[<>:"/\\|?*]')


# An encrypted (password-protected) Office file is an OLE compound file holding an "EncryptedPackage" stream.
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class UploadError(ValueError):
    """An upload that is refused; the message is for the user (translated)."""


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    data: bytes
    size: int
    sha256: str


def limit_mb(limit_bytes: int | None = None) -> str:
    """The upload limit as people write it: "10", "2.5" (MB)."""
    limit = current_app.config["MAX_UPLOAD_BYTES"] if limit_bytes is None else limit_bytes
    return f"{limit / 1024 / 1024:.1f}".removesuffix(".0")


def too_large_message() -> str:
    """"文件超过 10 MB 上限": the same words wherever a file is refused for its size."""
    return _("The file is over the %(mb)s MB limit.", mb=limit_mb())


def check_upload(file_storage) -> CheckedFile:
    """Read and check one uploaded file (werkzeug FileStorage); raise UploadError when refused."""
    if file_storage is None or not (file_storage.filename or "").strip():
        raise UploadError(_("Choose a file to upload."))
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    data = file_storage.stream.read(limit + 1)
    if len(data) > limit:
        raise UploadError(too_large_message())
    if not data:
        raise UploadError(_("The file is empty."))
    kind = detect_type(data)
    if kind in ("pdf", "jpeg", "png") and _MARKUP.search(data[:SNIFF_BYTES]):
        raise UploadError(_("The file looks like a web page disguised as another type, so it was refused."))
    if kind is None:
        raise UploadError(_("Only PDF, JPEG, PNG, Word (.docx) and Excel (.xlsx) files can be uploaded."))
    if kind in ("docx", "xlsx"):
        check_office_parts(data)
    content_type, extensions = ALLOWED_TYPES[kind]
    extension = extension_of(file_storage.filename)
    if extension not in extensions:
        raise UploadError(_("The file name does not match its content (a %(kind)s file must end in .%(ext)s).",
                            kind=kind.upper(), ext=extensions[0]))
    return CheckedFile(filename=clean_filename(file_storage.filename, extensions[0]), content_type=content_type,
                       data=data, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def is_encrypted_office(data: bytes) -> bool:
    return data.startswith(OLE_SIGNATURE) and _ENCRYPTED_STREAM in data


def check_office_parts(data: bytes) -> None:
    """Every XML part of an Office zip is well-formed and declares no DOCTYPE (no entity tricks reach a parser).

    The caller has checked the sizes (`detect_type`), so reading the parts cannot inflate without bound."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                if not member.filename.lower().endswith((".xml", ".rels", ".vml")):
                    continue
                content = archive.read(member)
                if _DOCTYPE.search(content):
                    raise UploadError(_("The document carries a DOCTYPE declaration, which Office files never do, "
                                        "so it was refused."))
                tree = etree.parse(io.BytesIO(content), parser)
                if tree.docinfo.doctype:
                    raise UploadError(_("The document carries a DOCTYPE declaration, which Office files never do, "
                                        "so it was refused."))
    except UploadError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
            etree.LxmlError):
        raise UploadError(_("The document is damaged or truncated. Open it in Office, save it again and retry.")) from None


def detect_type(data: bytes) -> str | None:
    """The allowed type these bytes are, by their signature (and for Office files, their parts)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data)
    return None


def _office_type(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        return None
    if len(members) > ZIP_MAX_MEMBERS:
        raise UploadError(_("The document is damaged or unsafe (it would unpack to far more than its size)."))
    unpacked = sum(member.file_size for member in members)
    if unpacked > ZIP_MAX_UNCOMPRESSED or unpacked > ZIP_MAX_RATIO * len(data):
        raise UploadError(_("The document is damaged or unsafe (it would unpack to far more than its size)."))
    names = {member.filename for member in members}
    if "[Content_Types].xml" not in names:
        return None
    if any(name.startswith("word/") for name in names):
        return "docx"
    if any(name.startswith("xl/") for name in names):
        return "xlsx"
    return None


def extension_of(filename: str) -> str:
    base = _basename(filename)
    return base.rsplit(".", 1)[1].strip().lower() if "." in base else ""


def _basename(filename: str) -> str:
    return re.split(r"[\\/]", filename or "")[-1]


def clean_filename(filename: str, extension: str) -> str:
    """The name without directories, control characters or traversal; Chinese kept; 'file.<ext>' if nothing is left."""
    base = unicodedata.normalize("NFC", _basename(filename))
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _FORBIDDEN_NAME_CHARS.sub("_", base).strip().strip(".").strip()
    stem = base.rsplit(".", 1)[0].strip(" ._") if "." in base else ""
    stem = stem.replace("..", "_")[:MAX_NAME_CHARS]
    return f"{stem}.{extension}" if stem else f"file.{extension}"


def content_disposition(filename: str) -> str:
    """attachment with an ASCII fallback and the real (e.g. Chinese) name per RFC 5987."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def send_stored_file(stored_file) -> Response:
    """Serve a StoredFile as a download that no browser will render or cache."""
    response = Response(stored_file.data, mimetype=stored_file.content_type)
    response.headers["Content-Disposition"] = content_disposition(stored_file.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    # Even if opened inline somehow, the file can run nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
