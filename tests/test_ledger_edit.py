"""The ledger page and inline editing: every column, validation, stale versions, history, scope."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.ledger_factories import HX, cell_text, editor_error, make_plan, parse, post_row, row_element, rows_of
from webapp.extensions import db
from webapp.clock import local_today
from webapp.models import AuditEntry, LedgerRow

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def ledger(app, org):
    with app.app_context():
        return make_plan(org.units["general"], [org.units[k] for k in ("faculty1", "student1", "class1", "class2")])


@pytest.fixture
def row_id(ledger, org):
    return rows_of(ledger, org.units["faculty1"])[0]


def stored(app, row_id):
    with app.app_context():
        row = db.session.get(LedgerRow, row_id)
        db.session.expunge(row)
        return row


def this_year_plan(app, org):
    with app.app_context():
        return make_plan(org.units["general"], [org.units["faculty1"]], year=local_today().year, sections=1,
                         tasks_per_section=1, title="本年度方案")


# ---- the page ------------------------------------------------------------------------------------

def test_page_shows_the_printed_columns_and_sections_in_order(client, login_as, ledger, org):
    login_as("staff1")
    html = client.get(f"/units/{org.units['faculty1']}/ledger").get_data(as_text=True)
    doc = parse(html)
    headers = [th.text_content().strip() for th in doc.xpath('//table[contains(@class,"ledger")]/thead//th')]
    assert headers == ["序号", "重点任务", "具体内容", "负责人", "成员", "工作时限", "推进情况", "完成情况", "佐证材料", "备注"]
    body_rows = doc.xpath('//table[contains(@class,"ledger")]/tbody/tr')
    kinds = ["section" if "section-row" in r.get("class", "") else r.get("id") for r in body_rows]
    expected_rows = [f"row-{i}" for i in rows_of(ledger, org.units["faculty1"])]
    assert kinds == ["section", *expected_rows[:2], "section", *expected_rows[2:]]
    # The contract other tools parse: id first, then data-version.
    assert re.search(rf'<tr id="row-{expected_rows[0][4:]}" data-version="1"', html)


def test_overdue_rows_stand_out(client, login_as, ledger, org, app):
    login_as("staff1")
    first, second = rows_of(ledger, org.units["faculty1"])[:2]
    with app.app_context():
        db.session.get(LedgerRow, second).status = "done"
        db.session.get(LedgerRow, second).completed_on = date(2023, 6, 1)
        db.session.commit()
    html = client.get(f"/units/{org.units['faculty1']}/ledger").get_data(as_text=True)
    assert "overdue" in row_element(html, first).get("class")
    assert "逾期" in cell_text(html, first, "status")
    assert "overdue" not in row_element(html, second).get("class")


def test_filters_live_in_the_url_and_narrow_the_rows(client, login_as, ledger, org, app, csrf):
    login_as("staff1")
    rows = rows_of(ledger, org.units["faculty1"])
    token = csrf(path="/")
    assert post_row(client, rows[1], token, status="in_progress", progress="已召开支部会议", version="1").status_code == 200
    url = f"/units/{org.units['faculty1']}/ledger"
    page = client.get(f"{url}?status=in_progress&q=支部会议").get_data(as_text=True)
    doc = parse(page)
    assert [r.get("id") for r in doc.xpath('//tr[@data-version]')] == [f"row-{rows[1]}"]
    # The filter form shows the URL's state and pushes its state to the URL.
    assert doc.xpath('//select[@name="status"]/option[@selected]/@value') == ["in_progress"]
    assert doc.xpath('//input[@name="q"]/@value') == ["支部会议"]
    assert doc.xpath('//form[contains(@class,"ledger-filters")]/@hx-push-url') == ["true"]
    assert doc.xpath('//input[@name="q"]/@hx-replace-url') == ["true"]
    # htmx gets only the results, not the page.
    fragment = client.get(f"{url}?overdue=1", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="ledger-results"') and "<html" not in fragment
    overdue = [r.get("id") for r in parse(fragment).xpath('//tr[@data-version]')]
    assert overdue == [f"row-{r}" for r in rows]
    section_two = parse(client.get(f"{url}?section={ledger['sections'][1]}").get_data(as_text=True))
    assert [r.get("id") for r in section_two.xpath('//tr[@data-version]')] == [f"row-{r}" for r in rows[2:]]


def test_plan_selector_defaults_to_the_latest_plan(client, login_as, ledger, org, app):
    with app.app_context():
        newer = make_plan(org.units["general"], [org.units["faculty1"]], year=2024, sections=1, tasks_per_section=1)
    login_as("staff1")
    url = f"/units/{org.units['faculty1']}/ledger"
    latest = parse(client.get(url).get_data(as_text=True))
    assert [r.get("id") for r in latest.xpath('//tr[@data-version]')] == [f"row-{rows_of(newer, org.units['faculty1'])[0]}"]
    assert len(latest.xpath('//select[@name="plan"]/option')) == 2
    older = parse(client.get(f"{url}?plan={ledger['plan']}").get_data(as_text=True))
    assert len(older.xpath('//tr[@data-version]')) == 4
    # The section filter lists the shown plan's sections ("All" first), read with the plans in one statement.
    assert len(latest.xpath('//select[@name="section"]/option')) == 1 + 1
    assert [o.get("value") for o in older.xpath('//select[@name="section"]/option')] == [
        "", *(str(section) for section in ledger["sections"])]


def test_unit_selector_lists_units_in_scope_with_rows(client, login_as, ledger, org):
    login_as("secretary")
    doc = parse(client.get(f"/units/{org.units['general']}/ledger").get_data(as_text=True))
    options = doc.xpath('//form[contains(@class,"unit-picker")]//option/text()')
    assert [o.strip() for o in options] == ["教工第一党支部", "学生第一党支部", "2023级计算机1班", "2023级计算机2班"]
    assert doc.xpath('//p[contains(@class,"card")]/text()'), "the general branch itself has no rows: say so"
    response = client.get(f"/ledger?unit={org.units['class1']}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/units/{org.units['class1']}/ledger")


# ---- editing each column -------------------------------------------------------------------------

@pytest.mark.parametrize("fields, column, shown", [
    ({"lead": "王书记"}, "lead", "王书记"),
    ({"members": "李老师、张老师"}, "members", "李老师、张老师"),
    ({"progress": "3月召开支部会议部署\n4月完成台账"}, "progress", "3月召开支部会议部署\n4月完成台账"),
    ({"status": "in_progress"}, "status", "进行中"),
    ({"status": "done", "completed_on": "2023-05-06"}, "status", "已完成 2023-05-06"),
    ({"remarks": "材料已归档"}, "remarks", "材料已归档"),
])
def test_each_column_saves_and_answers_the_row(client, login_as, csrf, app, row_id, fields, column, shown):
    login_as("staff1")
    response = post_row(client, row_id, csrf(path="/"), version="1", **fields)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert row_element(html, row_id).get("data-version") == "2"
    assert cell_text(html, row_id, column).startswith(shown)
    row = stored(app, row_id)
    for name, value in fields.items():
        assert str(getattr(row, name)) == value
    assert row.version == 2 and row.updated_by_id is not None


def test_only_the_fields_sent_change(client, login_as, csrf, app, row_id):
    login_as("staff1")
    token = csrf(path="/")
    post_row(client, row_id, token, lead="王书记", remarks="备注一", version="1")
    post_row(client, row_id, token, remarks="备注二", version="2")
    row = stored(app, row_id)
    assert (row.lead, row.remarks, row.version) == ("王书记", "备注二", 3)


def test_an_unchanged_save_bumps_nothing(client, login_as, csrf, app, row_id):
    login_as("staff1")
    response = post_row(client, row_id, csrf(path="/"), lead="", version="1")
    assert response.status_code == 200 and stored(app, row_id).version == 1


def test_output_is_escaped(client, login_as, csrf, row_id):
    login_as("staff1")
    html = post_row(client, row_id, csrf(path="/"), progress="<b>bar</b><script>x()</script>", version="1").get_data(as_text=True)
    assert "<b>bar</b>" not in html and "<script>" not in html
    assert cell_text(html, row_id, "progress") == "<b>bar</b><script>x()</script>"


def test_the_row_fragment_stays_small(client, login_as, csrf, row_id):
    login_as("staff1")
    response = post_row(client, row_id, csrf(path="/"), progress="已召开支部委员会专题研究部署意识形态工作，" * 4,
                        lead="王书记", members="李老师、张老师", version="1")
    assert response.status_code == 200
    assert len(response.data) < 3 * 1024, f"row fragment is {len(response.data)} bytes"


# ---- validation ----------------------------------------------------------------------------------

def local_day(app, days=0):
    with app.app_context():
        return (local_today() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize("fields, field", [
    ({"status": "done"}, "completed_on"),
    ({"status": "done", "completed_on": ""}, "completed_on"),
    ({"completed_on": "2020-02-30"}, "completed_on"),
    ({"completed_on": "2021-12-31"}, "completed_on"),
    ({"completed_on": "2025-01-01"}, "completed_on"),
    ({"progress": "长" * 2001}, "progress"),
    ({"remarks": "注" * 2001}, "remarks"),
    ({"status": "finished"}, "status"),
    ({"lead": "名" * 201}, "lead"),
])
def test_invalid_input_comes_back_in_the_editor_with_a_chinese_message(
        client, login_as, csrf, app, row_id, fields, field):
    login_as("staff1")
    response = post_row(client, row_id, csrf(path="/"), version="1", **fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    message = editor_error(html, row_id)
    assert CJK.search(message), f"no Chinese error beside the field: {message!r}"
    editor = row_element(html, row_id).xpath('.//td[contains(@class,"editing")]')[0]
    kept = editor.xpath(f'.//*[@name="{field}"]')[0]
    sent = fields.get(field, "")
    value = kept.text_content() if kept.tag == "textarea" else (
        kept.xpath('./option[@selected]/@value') or [""])[0] if kept.tag == "select" else kept.get("value")
    if kept.tag != "select":
        assert value == sent, "the user's input is kept"
    row = stored(app, row_id)
    assert row.version == 1 and (row.status, row.progress, row.completed_on) == ("not_started", "", None)


def test_a_completion_date_in_the_future_is_refused(client, login_as, csrf, app, org):
    ids = this_year_plan(app, org)
    row_id = rows_of(ids, org.units["faculty1"])[0]
    login_as("staff1")
    response = post_row(client, row_id, csrf(path="/"), status="done", completed_on=local_day(app, 1), version="1")
    assert response.status_code == 422 and "不能晚于今天" in editor_error(response.get_data(as_text=True), row_id)
    today = post_row(client, row_id, csrf(path="/"), status="done", completed_on=local_day(app), version="1")
    assert today.status_code == 200


def test_done_accepts_a_completion_date_already_stored(client, login_as, csrf, app, row_id):
    login_as("staff1")
    token = csrf(path="/")
    assert post_row(client, row_id, token, completed_on="2023-04-01", version="1").status_code == 200
    assert post_row(client, row_id, token, status="done", version="2").status_code == 200
    assert stored(app, row_id).status == "done"


def test_a_missing_version_is_a_bad_request(client, login_as, csrf, row_id):
    login_as("staff1")
    assert post_row(client, row_id, csrf(path="/"), progress="x").status_code == 400


# ---- two people, one row -------------------------------------------------------------------------

def test_a_stale_version_changes_nothing_and_shows_the_conflict(client, app, login_as, csrf, row_id):
    login_as("staff1")
    token = csrf(path="/")
    assert post_row(client, row_id, token, progress="张老师写的进展", version="1").status_code == 200
    response = post_row(client, row_id, token, progress="我的进展", version="1")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    row = stored(app, row_id)
    assert (row.progress, row.version) == ("张老师写的进展", 2)
    tr = row_element(html, row_id)
    assert tr.get("data-version") == "2"
    panel = tr.xpath('.//*[contains(@class,"conflict-panel")]')[0]
    assert "张老师写的进展" in panel.text_content() and "用户staff1" in panel.text_content()
    form = tr.xpath('.//form[@data-conflict]')[0]
    assert form.xpath('.//textarea[@name="progress"]')[0].text_content() == "我的进展"
    assert form.xpath('.//input[@name="version"]/@value') == ["2"]
    assert form.xpath('.//button[@data-apply-mine]')
    # One action applies it on top: the conflict form re-posts the user's text with the new version.
    fields = {el.get("name"): (el.text_content() if el.tag == "textarea" else el.get("value"))
              for el in form.xpath('.//*[@name]')}
    again = post_row(client, row_id, token, **fields)
    assert again.status_code == 200 and stored(app, row_id).progress == "我的进展"
    entries = audit_of(app, row_id)
    assert [(e.before, e.after) for e in entries] == [("", "张老师写的进展"), ("张老师写的进展", "我的进展")]


def audit_of(app, row_id):
    with app.app_context():
        entries = db.session.execute(select(AuditEntry).where(
            AuditEntry.entity == "ledger_row", AuditEntry.entity_id == row_id).order_by(AuditEntry.id)).scalars().all()
        db.session.expunge_all()
        return entries


# ---- history -------------------------------------------------------------------------------------

def test_each_changed_field_is_audited_and_shown_in_the_history(client, app, login_as, csrf, org, row_id):
    login_as("staff1")
    post_row(client, row_id, csrf(path="/"), lead="王书记", status="done", completed_on="2023-05-06", version="1")
    entries = audit_of(app, row_id)
    assert {(e.field, e.before, e.after) for e in entries} == {
        ("lead", "", "王书记"), ("status", "not_started", "done"), ("completed_on", None, "2023-05-06")}
    assert {e.unit_id for e in entries} == {org.units["faculty1"]}
    assert {e.user_id for e in entries} == {org.users["staff1"]}
    page = parse(client.get(f"/ledger/rows/{row_id}/history").get_data(as_text=True))
    table = [[td.text_content().strip() for td in tr.xpath("./td")] for tr in page.xpath('//table[contains(@class,"audit")]/tbody/tr')]
    assert any(row[1:] == ["用户staff1", "完成情况", "未开始", "已完成"] for row in table)
    assert any(row[1:] == ["用户staff1", "负责人", "", "王书记"] for row in table)
    fragment = client.get(f"/ledger/rows/{row_id}/history", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and "王书记" in fragment


# ---- scope and roles -----------------------------------------------------------------------------

def test_staff_of_another_branch_gets_404(client, login_as, csrf, app, row_id, org):
    login_as("staff3")
    token = csrf(path="/")
    assert client.get(f"/units/{org.units['faculty1']}/ledger").status_code == 404
    assert post_row(client, row_id, token, progress="越权", version="1").status_code == 404
    assert client.get(f"/ledger/rows/{row_id}/history").status_code == 404
    assert client.get(f"/ledger/rows/{row_id}/edit?field=progress", headers=HX).status_code == 404
    assert stored(app, row_id).progress == ""


def test_secretary_reads_but_gets_no_editors_and_403_on_post(client, login_as, csrf, app, row_id, org):
    login_as("secretary")
    html = client.get(f"/units/{org.units['faculty1']}/ledger").get_data(as_text=True)
    tr = row_element(html, row_id)
    assert not tr.xpath('.//*[contains(@class,"editable")]') and tr.get("data-edit") is None
    assert not tr.xpath('.//form') and not tr.xpath('.//*[@tabindex]')
    assert post_row(client, row_id, csrf(path="/"), progress="书记改", version="1").status_code == 403
    assert client.get(f"/ledger/rows/{row_id}/edit?field=progress", headers=HX).status_code == 403
    assert stored(app, row_id).progress == ""


def test_monitor_edits_only_their_own_class(client, login_as, csrf, app, ledger, org):
    class1_row = rows_of(ledger, org.units["class1"])[0]
    class2_row = rows_of(ledger, org.units["class2"])[0]
    login_as("monitor1")
    token = csrf(path="/")
    assert post_row(client, class1_row, token, progress="召开主题班会", version="1").status_code == 200
    assert post_row(client, class2_row, token, progress="越权", version="1").status_code == 404
    html = client.get(f"/units/{org.units['class1']}/ledger").get_data(as_text=True)
    assert cell_text(html, class1_row, "progress") == "召开主题班会"
    assert client.get(f"/units/{org.units['student1']}/ledger").status_code == 404


def test_staff_edit_their_classes_and_admin_edits_anything_in_scope(client, login_as, csrf, ledger, org):
    class1_row = rows_of(ledger, org.units["class1"])[1]
    login_as("staff2")
    assert post_row(client, class1_row, csrf(path="/"), lead="张老师", version="1").status_code == 200
    login_as("admin")
    assert post_row(client, class1_row, csrf(path="/"), lead="管理员", version="2").status_code == 200
    login_as("foreign_admin")
    assert post_row(client, class1_row, csrf(path="/"), lead="外院", version="3").status_code == 404


def test_editor_opens_for_one_cell_and_cancel_shows_the_row(client, login_as, row_id):
    login_as("staff1")
    html = client.get(f"/ledger/rows/{row_id}/edit?field=status", headers=HX).get_data(as_text=True)
    editing = row_element(html, row_id).xpath('.//td[contains(@class,"editing")]')
    assert len(editing) == 1 and editing[0].get("data-field") == "status"
    assert editing[0].xpath('.//select[@name="status"]') and editing[0].xpath('.//input[@name="completed_on"]')
    view = client.get(f"/ledger/rows/{row_id}", headers=HX).get_data(as_text=True)
    assert not row_element(view, row_id).xpath('.//td[contains(@class,"editing")]')
    assert client.get(f"/ledger/rows/{row_id}/edit?field=task", headers=HX).status_code == 404
