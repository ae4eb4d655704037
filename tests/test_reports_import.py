"""Re-importing a ledger workbook: export, edit offline, upload, see the diff, confirm, and only then save
through the ledger's own validation, version check and audit."""
from __future__ import annotations

import io

import lxml.html
import openpyxl
import pytest

from tests.reports_factories import YEAR, assign, make_plan
from webapp.extensions import db
from webapp.models import AuditEntry, LedgerRow
from webapp.reports.services import parse_status


@pytest.fixture
def ledger(app, org):
    with app.app_context():
        data = make_plan(org.units["general"])
        assign(data, org.units["faculty1"], ["done", "in_progress", "not_started", "not_started"],
               lead="李老师", progress="已部署")
        assign(data, org.units["class1"], ["in_progress"])
        db.session.commit()
    return data


def exported(client, unit_id: int) -> openpyxl.Workbook:
    response = client.get(f"/units/{unit_id}/ledger.xlsx")
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.data))


def line_of(sheet, number: int) -> int:
    return next(cell.row for cell in sheet["A"] if cell.value == number)


def edit(workbook, changes: dict[tuple[int, str], object]) -> bytes:
    """{(task number, column letter): new value} applied to the first sheet, saved to bytes."""
    sheet = workbook.worksheets[0]
    for (number, column), value in changes.items():
        sheet[f"{column}{line_of(sheet, number)}"] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, csrf, unit_id: int, data: bytes, filename: str = "台账.xlsx"):
    token = csrf(path=f"/units/{unit_id}/ledger/import")
    return client.post(f"/units/{unit_id}/ledger/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(data), filename)})


def diff_cells(html: str) -> dict[tuple[int, str], tuple[str, str]]:
    doc = lxml.html.fromstring(html)
    return {(int(tr.get("data-row-id")), tr.get("data-field")):
            (tr.xpath("string(.//span[@class='diff-old'])"), tr.xpath("string(.//span[@class='diff-new'])"))
            for tr in doc.xpath("//table[contains(@class, 'import-diff')]/tbody/tr")}


def confirm(client, unit_id: int, preview_html: str):
    doc = lxml.html.fromstring(preview_html)
    form = doc.xpath("//form[contains(@action, '/ledger/import/apply')]")[0]
    fields = {field.get("name"): field.get("value") for field in form.xpath(".//input[@type='hidden']")}
    return client.post(form.get("action"), data=fields)


def outcomes(html: str) -> dict[int, str]:
    doc = lxml.html.fromstring(html)
    return {int(tr.get("data-row-id")): tr.get("data-state")
            for tr in doc.xpath("//table[contains(@class, 'import-result')]/tbody/tr")}


def row(app, row_id: int) -> LedgerRow:
    with app.app_context():
        found = db.session.get(LedgerRow, row_id)
        db.session.expunge(found)
        return found


def test_round_trip_shows_the_diff_then_applies_with_audit(app, client, login_as, csrf, org, ledger):
    unit = org.units["faculty1"]
    progress_row, status_row = ledger.rows[(2, unit)], ledger.rows[(3, unit)]
    login_as("staff1")
    data = edit(exported(client, unit), {(2, "G"): "已完成第一轮学习，第二轮进行中", (3, "H"): f"已完成（{YEAR}-05-20）"})
    preview = upload(client, csrf, unit, data)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert diff_cells(html) == {(progress_row, "progress"): ("已部署", "已完成第一轮学习，第二轮进行中"),
                                (status_row, "status"): ("未开始", f"已完成（{YEAR}-05-20）")}
    # Nothing is saved by the upload itself.
    assert row(app, progress_row).progress == "已部署" and row(app, progress_row).version == 1

    result = confirm(client, unit, html)
    assert result.status_code == 200
    assert outcomes(result.get_data(as_text=True)) == {progress_row: "applied", status_row: "applied"}
    saved = row(app, status_row)
    assert (saved.status, saved.completed_on.isoformat(), saved.version) == ("done", f"{YEAR}-05-20", 2)
    assert row(app, progress_row).progress == "已完成第一轮学习，第二轮进行中"
    with app.app_context():
        entries = db.session.execute(db.select(AuditEntry).where(AuditEntry.entity == "ledger_row")
                                     .order_by(AuditEntry.id)).scalars().all()
        assert {(e.entity_id, e.field, e.before, e.after, e.user_id) for e in entries} == {
            (progress_row, "progress", "已部署", "已完成第一轮学习，第二轮进行中", org.users["staff1"]),
            (status_row, "status", "not_started", "done", org.users["staff1"]),
            (status_row, "completed_on", None, f"{YEAR}-05-20", org.users["staff1"]),
        }


def test_row_edited_between_upload_and_apply_is_a_conflict_and_nothing_is_applied(
        app, client, login_as, csrf, org, ledger):
    unit = org.units["faculty1"]
    contested, other = ledger.rows[(1, unit)], ledger.rows[(4, unit)]
    login_as("staff1")
    data = edit(exported(client, unit), {(1, "J"): "导入的备注", (4, "D"): "新负责人"})
    html = upload(client, csrf, unit, data).get_data(as_text=True)
    with app.app_context():  # someone saves row 1 inline meanwhile
        db.session.execute(db.update(LedgerRow).where(LedgerRow.id == contested)
                           .values(remarks="同事刚写的", version=LedgerRow.version + 1))
        db.session.commit()
    result = confirm(client, unit, html).get_data(as_text=True)
    assert outcomes(result) == {contested: "conflict", other: "held"}
    assert "没有保存" in lxml.html.fromstring(result).xpath("string(//p[@role='alert'])")
    assert row(app, contested).remarks == "同事刚写的"
    assert row(app, other).lead == "李老师" and row(app, other).version == 1
    with app.app_context():
        assert not db.session.execute(db.select(AuditEntry).where(AuditEntry.entity == "ledger_row")).first()


def test_an_import_failing_on_its_last_row_leaves_nothing_applied(app, client, login_as, csrf, org, ledger):
    """Rows 1-3 would apply; row 4 was changed in the same field meanwhile: the whole import is refused."""
    from webapp.ledger.services import save_row
    unit = org.units["faculty1"]
    login_as("staff1")
    data = edit(exported(client, unit), {(1, "J"): "备注一", (2, "J"): "备注二", (3, "E"): "全体党员",
                                         (4, "D"): "导入的负责人"})
    html = upload(client, csrf, unit, data).get_data(as_text=True)
    last = ledger.rows[(4, unit)]
    with app.app_context():
        save_row(org.users["staff1"], last, 1, {"lead": "同事填的负责人"})
    result = confirm(client, unit, html).get_data(as_text=True)
    states = outcomes(result)
    assert states[last] == "conflict" and set(states.values()) == {"conflict", "held"} and len(states) == 4
    doc = lxml.html.fromstring(result)
    assert "负责人" in doc.xpath(f"string(//tr[@data-row-id='{last}']//span[@class='field-error'])")
    for number in (1, 2, 3):
        saved = row(app, ledger.rows[(number, unit)])
        assert (saved.remarks, saved.members, saved.version) == ("", "", 1)
    assert row(app, last).lead == "同事填的负责人"
    with app.app_context():
        entries = db.session.execute(db.select(AuditEntry).where(AuditEntry.entity == "ledger_row")).scalars().all()
        assert [(e.entity_id, e.field, e.after) for e in entries] == [(last, "lead", "同事填的负责人")]


def test_an_import_merges_with_another_field_saved_meanwhile(app, client, login_as, csrf, org, ledger):
    from webapp.ledger.services import save_row
    unit = org.units["faculty1"]
    target = ledger.rows[(1, unit)]
    login_as("staff1")
    html = upload(client, csrf, unit, edit(exported(client, unit), {(1, "J"): "导入的备注"})).get_data(as_text=True)
    with app.app_context():
        save_row(org.users["staff1"], target, 1, {"progress": "同事写的进展"})
    assert outcomes(confirm(client, unit, html).get_data(as_text=True)) == {target: "applied"}
    saved = row(app, target)
    assert (saved.progress, saved.remarks, saved.version) == ("同事写的进展", "导入的备注", 3)


def test_unknown_status_is_shown_and_not_applied(app, client, login_as, csrf, org, ledger):
    unit = org.units["faculty1"]
    bad, good = ledger.rows[(2, unit)], ledger.rows[(3, unit)]
    login_as("staff1")
    data = edit(exported(client, unit), {(2, "H"): "差不多了", (3, "E"): "全体党员"})
    html = upload(client, csrf, unit, data).get_data(as_text=True)
    doc = lxml.html.fromstring(html)
    invalid = doc.xpath(f"//tr[@data-row-id='{bad}']")[0]
    assert "invalid" in invalid.get("class")
    assert "差不多了" in invalid.xpath("string(.//span[@class='field-error'])")
    assert diff_cells(html)[(bad, "status")] == ("进行中", "差不多了")
    result = confirm(client, unit, html).get_data(as_text=True)
    assert outcomes(result) == {good: "applied"}
    assert row(app, bad).status == "in_progress" and row(app, bad).version == 1
    assert row(app, good).members == "全体党员"


def test_values_the_ledger_refuses_are_shown_and_not_applied(app, client, login_as, csrf, org, ledger):
    unit = org.units["faculty1"]
    login_as("staff1")
    # Done in a year far from the plan's: the ledger's own validation refuses it.
    data = edit(exported(client, unit), {(3, "H"): "已完成（2001-01-01）"})
    html = upload(client, csrf, unit, data).get_data(as_text=True)
    assert lxml.html.fromstring(html).xpath("string(//tr[contains(@class, 'invalid')]//span[@class='field-error'])")
    assert not lxml.html.fromstring(html).xpath("//form[contains(@action, '/apply')]")


def test_unknown_and_missing_numbers_are_reported(client, login_as, csrf, org, ledger):
    unit = org.units["faculty1"]
    login_as("staff1")
    workbook = exported(client, unit)
    sheet = workbook.worksheets[0]
    sheet[f"A{line_of(sheet, 4)}"] = 99
    buffer = io.BytesIO()
    workbook.save(buffer)
    doc = lxml.html.fromstring(upload(client, csrf, unit, buffer.getvalue()).get_data(as_text=True))
    assert "99" in doc.xpath("string(//li[@id='unknown-numbers'])")
    assert "4" in doc.xpath("string(//li[@id='missing-numbers'])")


@pytest.mark.parametrize("filename, data", [
    ("台账.xlsx", b"just some text, not a workbook"),
    ("台账.pdf", b"%PDF-1.4 not a workbook"),
    ("台账.xlsx", b"PK\x03\x04broken zip"),
])
def test_a_file_that_is_not_a_workbook_is_refused(client, login_as, csrf, org, ledger, filename, data):
    login_as("staff1")
    response = upload(client, csrf, org.units["faculty1"], data, filename)
    assert response.status_code == 422
    message = lxml.html.fromstring(response.get_data(as_text=True)).xpath("string(//p[@role='alert'])")
    assert "Excel" in message and any("\u4e00" <= ch <= "\u9fff" for ch in message)


def test_a_file_over_the_limit_is_refused(app, client, login_as, csrf, org, ledger):
    login_as("staff1")
    data = edit(exported(client, org.units["faculty1"]), {})
    limit = app.config["MAX_UPLOAD_BYTES"]
    app.config["MAX_UPLOAD_BYTES"] = len(data) - 1
    try:
        response = upload(client, csrf, org.units["faculty1"], data)
    finally:
        app.config["MAX_UPLOAD_BYTES"] = limit
    assert response.status_code == 422
    assert "MB" in lxml.html.fromstring(response.get_data(as_text=True)).xpath("string(//p[@role='alert'])")


@pytest.mark.parametrize("user, unit, status", [
    ("secretary", "faculty1", 403),   # reads everything, edits nothing
    ("staff3", "faculty1", 404),      # another branch
    ("foreign_admin", "faculty1", 404),
    ("monitor1", "class1", 200),      # their own class
    ("staff1", "faculty1", 200),
])
def test_only_those_who_may_edit_the_rows_can_import(client, login_as, org, ledger, user, unit, status):
    login_as(user)
    assert client.get(f"/units/{org.units[unit]}/ledger/import").status_code == status


def test_confirm_cannot_touch_rows_of_another_unit(app, client, login_as, csrf, org, ledger):
    """The payload is the client's; rows outside the unit's ledger are not applied."""
    login_as("staff1")
    foreign_row = ledger.rows[(1, org.units["class1"])]
    token = csrf(path=f"/units/{org.units['faculty1']}/ledger/import")
    payload = f'[{{"row_id": {foreign_row}, "version": 1, "values": {{"remarks": "越权"}}}}]'
    response = client.post(f"/units/{org.units['faculty1']}/ledger/import/apply",
                           data={"csrf_token": token, "plan": payload})
    assert outcomes(response.get_data(as_text=True)) == {foreign_row: "missing"}
    assert row(app, foreign_row).remarks == ""


@pytest.mark.parametrize("text, expected", [
    ("已完成（2026-03-15）", ("done", "2026-03-15")), ("已完成 2026年3月5日", ("done", "2026-03-05")),
    ("完成", ("done", None)), ("进行中", ("in_progress", None)), ("未开始", ("not_started", None)),
    ("", ("not_started", None)),
])
def test_parse_status(text, expected):
    status, day = parse_status(text)
    assert (status, day.isoformat() if day else None) == expected
    with pytest.raises(ValueError):
        parse_status("差不多了")


def test_a_confirmation_nested_too_deeply_is_damaged_not_a_500(app):
    import pytest as _pytest
    from webapp.reports import services as import_services
    with app.test_request_context("/"):
        with _pytest.raises(import_services.LedgerImportError):
            import_services.decode_plan("[" * 100_000)
