"""Damaged Office documents: truncated, malformed XML, DOCTYPE, password-protected → 422 with a Chinese message.

Sent to every route that takes a .xlsx or .docx: the ledger workbook re-import, the plan import and
re-import, and ledger evidence. Nothing is stored.
"""
from __future__ import annotations

import functools
import io
import re
import zipfile

import pytest

from webapp.uploads import OLE_SIGNATURE

from .hostile_uploads_helpers import messages, refused_with
from .hostile_world import build_world, csrf_for, log_in

HX = {"HX-Request": "true"}
CJK = re.compile(r"[\u4e00-\u9fff]")
DOCTYPE = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'


@functools.cache
def workbook() -> bytes:
    from openpyxl import Workbook
    book = Workbook()
    book.active.append(["序号", "重点任务", "推进情况"])
    book.active.append([1, "开展政治学习", "已推进"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@functools.cache
def document() -> bytes:
    import docx
    doc = docx.Document()
    doc.add_paragraph("一、加强理论学习")
    doc.add_paragraph("1.开展政治学习。每周四组织教职工政治学习。")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def rewrite(data: bytes, part: str, change) -> bytes:
    """The same zip with one part's bytes changed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, change(content) if info.filename == part else content)
    return buffer.getvalue()


def with_doctype(content: bytes) -> bytes:
    declaration, rest = content.split(b"?>", 1) if content.startswith(b"<?xml") else (b"", content)
    return (declaration + b"?>" if declaration else b"") + DOCTYPE + rest


def encrypted() -> bytes:
    """What Office writes for a password-protected file: an OLE compound file with an EncryptedPackage stream."""
    return OLE_SIGNATURE + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 2048


def variants(original, part: str) -> list[tuple[str, object]]:
    return [
        ("truncated", lambda: original()[: len(original()) // 2]),
        ("malformed xml", lambda: rewrite(original(), part, lambda c: c[: len(c) // 2])),
        ("doctype", lambda: rewrite(original(), part, with_doctype)),
        ("doctype in rels", lambda: rewrite(original(), "_rels/.rels", with_doctype)),
        ("password-protected", encrypted),
    ]


XLSX = variants(workbook, "xl/worksheets/sheet1.xml")
DOCX = variants(document, "word/document.xml")


@pytest.fixture
def world(app, org):
    with app.app_context():
        return build_world(org)


def assert_chinese_422(response) -> None:
    assert response.status_code == 422, response.status_code
    text = messages(response)
    assert CJK.search(text), f"no Chinese message: {text!r}"


def test_the_originals_are_accepted(app, org, world):
    """The payloads are damaged versions of documents the routes accept (else the test proves nothing)."""
    client = log_in(app, org, "monitor1")
    token = csrf_for(client)
    response = client.post(f"/units/{world.our.ids['unit']}/ledger/import", headers={"X-CSRFToken": token},
                           data={"file": (io.BytesIO(workbook()), "台账.xlsx")})
    assert response.status_code == 200
    admin = log_in(app, org, "admin")
    token = csrf_for(admin)
    response = admin.post(f"/plans/{world.our.ids['plan']}/reimport", headers={"X-CSRFToken": token},
                          data={"document": (io.BytesIO(document()), "方案.docx")})
    assert response.status_code == 200


@pytest.mark.parametrize("name, data", XLSX, ids=[name for name, _ in XLSX])
def test_damaged_workbook_import_is_422_in_chinese(app, org, world, name, data):
    client = log_in(app, org, "monitor1")
    token = csrf_for(client)
    refused_with(app, lambda: client.post(f"/units/{world.our.ids['unit']}/ledger/import",
                                          headers={"X-CSRFToken": token},
                                          data={"file": (io.BytesIO(data()), "台账.xlsx")}), assert_chinese_422)


@pytest.mark.parametrize("name, data", DOCX, ids=[name for name, _ in DOCX])
def test_damaged_plan_document_is_422_in_chinese(app, org, world, name, data):
    client = log_in(app, org, "admin")
    token = csrf_for(client)
    refused_with(app, lambda: client.post("/plans/", headers={"X-CSRFToken": token},
                                          data={"year": "2025", "document": (io.BytesIO(data()), "方案.docx")}),
                 assert_chinese_422)
    refused_with(app, lambda: client.post(f"/plans/{world.our.ids['plan']}/reimport", headers={"X-CSRFToken": token},
                                          data={"document": (io.BytesIO(data()), "方案.docx")}), assert_chinese_422)


@pytest.mark.parametrize("name, data, filename", [(n, d, "台账.xlsx") for n, d in XLSX] + [(n, d, "纪要.docx") for n, d in DOCX],
                         ids=[f"xlsx {n}" for n, _ in XLSX] + [f"docx {n}" for n, _ in DOCX])
def test_damaged_evidence_is_422_in_chinese(app, org, world, name, data, filename):
    client = log_in(app, org, "monitor1")
    token = csrf_for(client)
    refused_with(app, lambda: client.post(f"/ledger/rows/{world.our.ids['row']}/files",
                                          headers={**HX, "X-CSRFToken": token},
                                          data={"file": (io.BytesIO(data()), filename)}), assert_chinese_422)
