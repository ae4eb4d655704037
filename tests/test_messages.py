"""Messages that say what to do, and nothing retyped: the upload limit in words (in the cell, replacing the old
error), no silent cuts of long text, photos that survive a validation error, impossible dates kept and explained."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import lxml.html
import pytest
from sqlalchemy import func, select

from tests.activities_factories import png_bytes
from tests.ledger_factories import HX, make_plan, post_row, row_element, rows_of
from tests.test_activities_routes import form_values
from webapp.clock import parse_typed_date
from webapp.extensions import db
from webapp.models import Activity, AuditEntry, StoredFile

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def tree(response):
    return lxml.html.fromstring(response.get_data(as_text=True))


# ---- the upload limit -----------------------------------------------------------------------------

@pytest.fixture
def row_id(app, org):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
    return rows_of(ids, org.units["faculty1"])[0]


def upload(client, row_id, token, data, name):
    return client.post(f"/ledger/rows/{row_id}/files", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       headers=HX, content_type="multipart/form-data")


def cell_errors(response, row_id) -> list[str]:
    row = row_element(response.get_data(as_text=True), row_id)
    return [e.text_content().strip() for e in row.xpath(".//td[@data-field='files']//*[contains(@class,'field-error')]")]


def test_a_file_over_the_limit_says_the_limit_and_replaces_the_old_error(client, app, login_as, csrf, row_id,
                                                                         monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024 * 1024)
    login_as("staff1")
    token = csrf(path="/")
    first = upload(client, row_id, token, SVG, "logo.svg")
    assert first.status_code == 422 and len(cell_errors(first, row_id)) == 1
    second = upload(client, row_id, token, PDF + b"0" * (1024 * 1024), "big.pdf")
    assert second.status_code == 422
    # The answer is the whole row: the new error stands alone in the file cell.
    assert cell_errors(second, row_id) == ["文件超过 1 MB 上限"]
    # The editor says the limit up front too, and the script can refuse before sending.
    field = row_element(second.get_data(as_text=True), row_id).xpath(".//input[@type='file']")[0]
    assert field.get("data-max-bytes") == str(1024 * 1024) and field.get("data-too-large") == "文件超过 1 MB 上限"


def test_a_request_over_the_server_limit_answers_in_the_cell(client, app, login_as, csrf, row_id, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    login_as("staff1")
    response = upload(client, row_id, csrf(path="/"), PDF + b"0" * (128 * 1024), "huge.pdf")
    assert response.status_code == 422
    assert cell_errors(response, row_id) == ["文件超过 10 MB 上限"]


def test_the_limit_reads_as_a_whole_number(app_ctx):
    from webapp.uploads import limit_mb
    assert limit_mb(10 * 1024 * 1024) == "10" and limit_mb(int(2.5 * 1024 * 1024)) == "2.5"


# ---- no silent cuts -------------------------------------------------------------------------------

def test_long_text_gets_a_message_never_a_silent_cut(app, client, login_as, csrf):
    login_as("monitor1")
    page = tree(client.get("/activities/new"))
    # Browsers cut pasted text at maxlength without a word: no input carries one.
    assert page.xpath("//input[@maxlength] | //textarea[@maxlength]") == []
    response = client.post("/activities/new", data={**_activity(app, topic="长" * 201), "csrf_token": csrf(path="/")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    answer = tree(response)
    assert answer.xpath("//input[@name='topic']/@value") == ["长" * 201]
    assert "最多 200 个字符" in answer.xpath("string(//*[@data-error-for='topic'])")
    with app.app_context():
        assert db.session.execute(select(func.count(Activity.id))).scalar_one() == 0


def test_admin_inputs_carry_no_maxlength_either(client, login_as):
    login_as("admin")
    page = tree(client.get("/admin/units"))
    assert page.xpath("//input[@maxlength]") == []


# ---- photos survive a validation error ------------------------------------------------------------

def _activity(app, **overrides):
    with app.app_context():
        return form_values(**overrides)


def _post(client, app, token, files=None, **overrides):
    data = {**_activity(app, **overrides), "csrf_token": token}
    if files is not None:
        data["files"] = files
    return client.post("/activities/new", data=data, content_type="multipart/form-data")


def test_chosen_photos_survive_a_validation_error(app, client, login_as, csrf):
    login_as("monitor1")
    token = csrf(path="/")
    photo = png_bytes()
    first = _post(client, app, token, files=[(io.BytesIO(photo), "签到表.png")], topic="")
    assert first.status_code == 422
    page = tree(first)
    assert "签到表.png" in page.xpath("string(//fieldset[contains(@class,'pending-files')])")
    draft = page.xpath("//input[@name='draft']/@value")[0]
    with app.app_context():
        pending = db.session.execute(select(StoredFile)).scalar_one()
        assert pending.pending_draft == draft and pending.activity_id is None
    # The second try sends no file at all: the kept one is saved with the activity.
    second = _post(client, app, token, draft=draft)
    assert second.status_code == 302
    with app.app_context():
        activity = db.session.execute(select(Activity)).scalar_one()
        stored = db.session.execute(select(StoredFile)).scalar_one()
        assert (stored.activity_id, stored.pending_draft, stored.filename) == (activity.id, None, "签到表.png")
        assert db.session.execute(select(StoredFile.data)).scalar_one() == photo
        assert db.session.execute(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "attach", AuditEntry.entity_id == activity.id)).scalar_one() == 1


def test_a_kept_photo_can_be_taken_off(app, client, login_as, csrf):
    login_as("monitor1")
    token = csrf(path="/")
    first = _post(client, app, token, files=[(io.BytesIO(png_bytes()), "a.png")], topic="")
    draft = tree(first).xpath("//input[@name='draft']/@value")[0]
    with app.app_context():
        file_id = db.session.execute(select(StoredFile.id)).scalar_one()
    assert _post(client, app, token, draft=draft, remove_pending=str(file_id)).status_code == 302
    with app.app_context():
        assert db.session.execute(select(func.count(StoredFile.id))).scalar_one() == 0


def test_someone_elses_draft_key_adopts_nothing(app, client, login_as, csrf, org):
    login_as("monitor1")
    token = csrf(path="/")
    draft = tree(_post(client, app, token, files=[(io.BytesIO(png_bytes()), "a.png")], topic="")).xpath(
        "//input[@name='draft']/@value")[0]
    login_as("staff2")  # class1's branch: the same scope, another person
    token = csrf(path="/")
    with app.app_context():
        data = {**form_values(), "csrf_token": token, "draft": draft, "unit": str(org.units["class1"])}
    assert client.post("/activities/new", data=data, content_type="multipart/form-data").status_code == 302
    with app.app_context():
        stored = db.session.execute(select(StoredFile)).scalar_one()
        assert stored.activity_id is None and stored.pending_draft == draft


def test_pending_photos_are_removed_after_a_day(app, client, login_as, csrf, org):
    login_as("monitor1")
    token = csrf(path="/")
    draft = tree(_post(client, app, token, files=[(io.BytesIO(png_bytes()), "old.png")], topic="")).xpath(
        "//input[@name='draft']/@value")[0]
    with app.app_context():
        stored = db.session.execute(select(StoredFile)).scalar_one()
        stored.uploaded_at = datetime.utcnow() - timedelta(days=1, minutes=1)
        db.session.commit()
    # Any later post of the form purges what was abandoned more than a day ago.
    assert _post(client, app, token, draft=draft, topic="").status_code == 422
    with app.app_context():
        assert db.session.execute(select(func.count(StoredFile.id))).scalar_one() == 0


# ---- impossible dates -----------------------------------------------------------------------------

def test_an_impossible_date_keeps_what_was_typed_and_says_why(app, client, login_as, csrf):
    login_as("monitor1")
    response = _post(client, app, csrf(path="/"), held_on="2026-02-30")
    assert response.status_code == 422
    page = tree(response)
    held_on = page.xpath("//input[@name='held_on']")[0]
    # As text: a date input would drop a value that is no date.
    assert (held_on.get("value"), held_on.get("type")) == ("2026-02-30", "text")
    message = page.xpath("string(//*[@data-error-for='held_on'])")
    assert "2026-02-30" in message and "2026年2月只有 28 天" in message


def test_an_impossible_completion_date_in_the_ledger(app, client, login_as, csrf, row_id):
    login_as("staff1")
    response = post_row(client, row_id, csrf(path="/"), status="done", completed_on="2025-13-01", version="1")
    assert response.status_code == 422
    row = row_element(response.get_data(as_text=True), row_id)
    field = row.xpath(".//input[@name='completed_on']")[0]
    assert (field.get("value"), field.get("type")) == ("2025-13-01", "text")
    assert "月份只能是 1 到 12" in row.xpath("string(.//*[contains(@class,'field-error')])")


@pytest.mark.parametrize("text, day", [("2026-03-05", (2026, 3, 5)), ("2026/3/5", (2026, 3, 5)),
                                       ("2026年3月5日", (2026, 3, 5)), ("2024-02-29", (2024, 2, 29))])
def test_typed_dates_people_write(text, day, app_ctx):
    parsed, problem = parse_typed_date(text)
    assert problem is None and (parsed.year, parsed.month, parsed.day) == day


@pytest.mark.parametrize("text", ["2025-02-29", "2026-04-31", "2026-00-10", "03/05/2026", "明天"])
def test_impossible_or_unreadable_dates_say_why(text, app_ctx):
    parsed, problem = parse_typed_date(text)
    assert parsed is None and problem
