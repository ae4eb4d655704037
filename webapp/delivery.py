"""How responses travel: gzip where the client accepts it, static files under versioned URLs cached for a year.

Static URLs carry the file's content hash (`/static/css/app.css?v=3f2a…`): a changed file gets a new URL,
so browsers may keep each version for a year without asking again.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from functools import lru_cache

from flask import Flask, current_app, request
from flask.wrappers import Response

COMPRESSIBLE = {"text/html", "text/css", "text/javascript", "application/javascript", "application/json",
                "image/svg+xml", "text/plain"}
MIN_SIZE = 512
# The ledger page (51 KB of HTML): level 6 takes 0.35 ms of CPU for 5.9 KB, level 4 0.23 ms for 6.1 KB, level 1
# 0.13 ms for 6.6 KB. The whole page now costs ~2.6 ms, so level 4 was ~9 % of it for 0.4 KB (7 %) less on the wire;
# level 1 keeps 87 % of the saving (51 → 6.6 KB, what a phone on Wi-Fi notices) for half the CPU.
COMPRESS_LEVEL = 1
STATIC_MAX_AGE = 365 * 24 * 3600


@lru_cache(maxsize=512)
def _file_version(path: str, mtime: float) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:12]


def static_version(filename: str) -> str | None:
    path = os.path.join(current_app.static_folder or "", filename)
    try:
        return _file_version(path, os.path.getmtime(path))
    except OSError:
        return None


def _version_static_urls(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        version = static_version(values["filename"])
        if version:
            values["v"] = version


def _cache_static(response: Response) -> Response:
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    version = request.args.get("v")
    if version and version == static_version(request.view_args.get("filename", "")):
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
        response.expires = None
    return response


def _compress(response: Response) -> Response:
    if (response.status_code != 200 or "gzip" not in request.headers.get("Accept-Encoding", "").lower()
            or response.mimetype not in COMPRESSIBLE or "Content-Encoding" in response.headers
            or response.is_streamed and not response.direct_passthrough):
        return response
    response.direct_passthrough = False  # static files: read the file to compress it
    data = response.get_data()
    if len(data) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(data, compresslevel=COMPRESS_LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    etag, weak = response.get_etag()
    if etag:  # another representation, another tag
        response.set_etag(f"{etag}-gzip", weak=weak)
    return response


def init_app(app: Flask) -> None:
    app.url_defaults(_version_static_urls)
    app.after_request(_cache_static)
    app.after_request(_compress)
