"""Evidence files: checked by content, names cleaned, stored in the database, served only within scope."""
import io
import zipfile
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from tests.ledger_factories import HX, make_plan, parse, row_element, rows_of
from webapp.extensions import db
from webapp.models import AuditEntry, LedgerRow, StoredFile
from webapp.uploads import UploadError, check_upload, clean_filename

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def office_file(kind: str) -> bytes:
    buffer = io.BytesIO()
    if kind == "docx":
        from docx import Document
        document = Document()
        document.add_paragraph("支部会议记录")
        document.save(buffer)
    else:
        from openpyxl import Workbook
        Workbook().save(buffer)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """A .docx-shaped zip whose content inflates ~1000 times."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\x00" * (8 * 1024 * 1024))
    return buffer.getvalue()


def storage(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


# ---- the shared check ----------------------------------------------------------------------------

@pytest.mark.parametrize("data, name, content_type, stored_name", [
    (PDF, "会议记录.pdf", "application/pdf", "会议记录.pdf"),
    (PNG, "photo.PNG", "image/png", "photo.png"),
    (JPEG, "签到表.jpg", "image/jpeg", "签到表.jpg"),
    (JPEG, "签到表.jpeg", "image/jpeg", "签到表.jpg"),
    ("docx", "纪要.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "纪要.docx"),
    ("xlsx", "台账.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "台账.xlsx"),
])
def test_allowed_types_pass(app, data, name, content_type, stored_name):
    data = office_file(data) if isinstance(data, str) else data
    with app.app_context():
        checked = check_upload(storage(data, name))
    assert (checked.content_type, checked.size, checked.data) == (content_type, len(data), data)
    assert checked.filename == stored_name
    assert len(checked.sha256) == 64


@pytest.mark.parametrize("data, name", [
    (b"#!/bin/sh\nrm -rf /\n", "script.pdf"),
    (b"<html><script>alert(1)</script></html>", "page.pdf"),
    (SVG, "logo.svg"),
    (SVG, "logo.png"),
    (b"MZ\x90\x00", "setup.exe"),
    (PNG, "photo.pdf"),
    (PDF, "report"),
    ("docx", "纪要.xlsx"),
    (b"PK\x03\x04not really a zip", "fake.docx"),
    (b"", "empty.pdf"),
])
def test_wrong_content_or_mismatched_names_are_refused(app, data, name):
    data = office_file(data) if data == "docx" else data
    with app.app_context(), pytest.raises(UploadError) as refused:
        check_upload(storage(data, name))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(refused.value)), "the message is Chinese"


def test_a_zip_bomb_named_docx_is_refused(app):
    with app.app_context(), pytest.raises(UploadError, match="解压"):
        check_upload(storage(zip_bomb(), "bomb.docx"))


def test_oversized_files_are_refused(app):
    with app.app_context():
        limit = app.config["MAX_UPLOAD_BYTES"]
        with pytest.raises(UploadError, match="MB"):
            check_upload(storage(PDF + b"0" * limit, "big.pdf"))


@pytest.mark.parametrize("name, cleaned", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\windows\\会议记录.pdf", "会议记录.pdf"),
    ("C:\\Users\\张老师\\支部 会议.PDF", "支部 会议.pdf"),
    ("re\u202eport\x00\n.pdf", "report.pdf"),
    ('a<b>:"c|?.pdf', "a_b___c.pdf"),
    ("....pdf", "file.pdf"),
    ("..", "file.pdf"),
    (".pdf", "file.pdf"),
])
def test_names_are_cleaned(name, cleaned):
    assert clean_filename(name, "pdf") == cleaned


# ---- the routes ----------------------------------------------------------------------------------

@pytest.fixture
def row_id(app, org):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"], org.units["student2"]], sections=1, tasks_per_section=1)
    return rows_of(ids, org.units["faculty1"])[0]


def upload(client, row_id, token, data, name):
    return client.post(f"/ledger/rows/{row_id}/files", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       headers=HX, content_type="multipart/form-data")


def file_count(app):
    with app.app_context():
        return db.session.execute(select(func.count(StoredFile.id))).scalar_one()


def test_upload_lists_the_file_and_download_is_an_attachment(client, app, login_as, csrf, row_id):
    login_as("staff1")
    response = upload(client, row_id, csrf(path="/"), PDF, "../../支部会议记录.pdf")
    assert response.status_code == 200
    links = row_element(response.get_data(as_text=True), row_id).xpath('.//a[starts-with(@href,"/files/")]')
    assert [a.text_content() for a in links] == ["支部会议记录.pdf"]
    with app.app_context():
        stored = db.session.execute(select(StoredFile)).scalar_one()
        assert (stored.filename, stored.size, stored.ledger_row_id) == ("支部会议记录.pdf", len(PDF), row_id)
        assert db.session.get(LedgerRow, row_id).version == 1, "files bump nothing else"
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.entity == "ledger_row")).scalar_one()
        assert (entry.action, entry.field, entry.after, entry.entity_id) == ("add_file", "files", "支部会议记录.pdf", row_id)
        file_id = stored.id
    download = client.get(f"/files/{file_id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{quote('支部会议记录.pdf')}" in disposition
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"
    # The page shows the file in the row's evidence cell.
    page = client.get(f"/units/{row_owner(app, row_id)}/ledger").get_data(as_text=True)
    cell = row_element(page, row_id).xpath('./td[@data-field="files"]')[0]
    assert cell.xpath('.//a/@href') == [f"/files/{file_id}"]


def row_owner(app, row_id):
    with app.app_context():
        return db.session.get(LedgerRow, row_id).unit_id


@pytest.mark.parametrize("data, name", [
    (b"#!/bin/sh\necho owned\n", "evil.pdf"),
    (SVG, "logo.svg"),
    (zip_bomb(), "bomb.docx"),
])
def test_refused_uploads_store_nothing_and_say_why(client, app, login_as, csrf, row_id, data, name):
    login_as("staff1")
    response = upload(client, row_id, csrf(path="/"), data, name)
    assert response.status_code == 422
    errors = row_element(response.get_data(as_text=True), row_id).xpath('.//*[contains(@class,"field-error")]')
    assert errors and any("\u4e00" <= ch <= "\u9fff" for ch in errors[0].text_content())
    assert file_count(app) == 0


def test_an_oversized_upload_is_refused(client, app, login_as, csrf, row_id, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024)
    login_as("staff1")
    response = upload(client, row_id, csrf(path="/"), PDF + b"0" * 2048, "big.pdf")
    assert response.status_code == 422 and "MB" in response.get_data(as_text=True)
    assert file_count(app) == 0


def test_files_are_served_only_within_scope(client, app, login_as, csrf, row_id):
    login_as("staff1")
    upload(client, row_id, csrf(path="/"), PNG, "photo.png")
    with app.app_context():
        file_id = db.session.execute(select(StoredFile.id)).scalar_one()
    login_as("secretary")
    assert client.get(f"/files/{file_id}").status_code == 200
    for outsider in ("staff3", "foreign_admin", "monitor1"):
        login_as(outsider)
        assert client.get(f"/files/{file_id}").status_code == 404, outsider


def test_remove_is_audited_and_limited_to_editors(client, app, login_as, csrf, row_id):
    login_as("staff1")
    token = csrf(path="/")
    upload(client, row_id, token, PDF, "记录.pdf")
    with app.app_context():
        file_id = db.session.execute(select(StoredFile.id)).scalar_one()
    login_as("secretary")
    assert client.post(f"/files/{file_id}/delete", data={"csrf_token": csrf(path="/")}, headers=HX).status_code == 403
    login_as("staff3")
    assert client.post(f"/files/{file_id}/delete", data={"csrf_token": csrf(path="/")}, headers=HX).status_code == 404
    login_as("secretary")
    assert client.post(f"/ledger/rows/{row_id}/files", data={"csrf_token": csrf(path="/")}).status_code == 403
    assert file_count(app) == 1
    login_as("staff1")
    response = client.post(f"/files/{file_id}/delete", data={"csrf_token": csrf(path="/")}, headers=HX)
    assert response.status_code == 200 and file_count(app) == 0
    assert not row_element(response.get_data(as_text=True), row_id).xpath('.//a[starts-with(@href,"/files/")]')
    with app.app_context():
        actions = db.session.execute(select(AuditEntry.action, AuditEntry.before).order_by(AuditEntry.id)).all()
        assert [tuple(a) for a in actions] == [("add_file", None), ("remove_file", "记录.pdf")]
        assert db.session.get(LedgerRow, row_id).version == 1


def test_the_evidence_editor_has_the_upload_form_with_a_progress_bar(client, login_as, row_id):
    login_as("staff1")
    html = client.get(f"/ledger/rows/{row_id}/edit?field=files", headers=HX).get_data(as_text=True)
    form = row_element(html, row_id).xpath('.//form[contains(@class,"upload-form")]')[0]
    assert form.get("hx-encoding") == "multipart/form-data" and form.xpath('.//progress')
    assert parse(html).xpath('//input[@type="file"]/@name') == ["file"]
