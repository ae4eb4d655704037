"""The ceiling: a bare Flask endpoint returning a fixed 1.5 KB fragment, served like the real app.

`gunicorn bench.ceiling_app:app` under the same configuration as the site shows what this
machine, gunicorn and Flask can do with no database, templates, session or CSRF work at all.
"""
from flask import Flask, Response

FRAGMENT_BYTES = 1536


def _fragment() -> bytes:
    """A table row like the ledger's, padded with spaces to exactly FRAGMENT_BYTES."""
    head, tail = b'<tr id="row-1" data-version="1">', b"</tr>"
    cells = b""
    for number in range(100):
        cell = f'<td class="cell">推进情况 {number}</td>'.encode()
        if len(head) + len(cells) + len(cell) + len(tail) > FRAGMENT_BYTES:
            break
        cells += cell
    return head + cells + b" " * (FRAGMENT_BYTES - len(head) - len(cells) - len(tail)) + tail


FRAGMENT = _fragment()
app = Flask(__name__)


@app.route("/")
def fragment() -> Response:
    return Response(FRAGMENT, content_type="text/html; charset=utf-8")
