"""An Excel workbook as a download: the one response shape every area's export uses."""
from __future__ import annotations

from urllib.parse import quote

from flask import make_response

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(data: bytes, filename: str, fallback: str):
    response = make_response(data)
    response.headers["Content-Type"] = XLSX_MIMETYPE
    # RFC 6266: an ASCII fallback for old clients, then the real (Chinese) name.
    response.headers["Content-Disposition"] = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return response
