"""Request-level tests: scope, the monitor's form, review, attachments, kinds, compliance pages."""
from datetime import date, timedelta

import lxml.html
import pytest
from sqlalchemy import select

from webapp.clock import local_today
from webapp.extensions import db
from webapp.models import Activity, ActivityKind, AuditEntry, StoredFile, User

from .activities_factories import kind_id, make_activity, make_plan, png_bytes, upload


def html_of(response):
    return lxml.html.fromstring(response.get_data(as_text=True))


def has_class(name):
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def text_of(tree, xpath):
    found = tree.xpath(xpath)
    assert found, f"nothing matches {xpath}"
    return " ".join(found[0].text_content().split())


def items(tree):
    """The activity cards on a page, as (id, status)."""
    return [(int(li.get("data-activity-id")), li.get("data-status"))
            for li in tree.xpath(f"//li[{has_class('activity-item')}]")]


def form_values(kind="主题班会", **overrides):
    values = {"kind": str(kind_id(kind)), "held_on": local_today().isoformat(), "topic": "诚信考试主题班会",
              "place": "教学楼301", "host": "班长", "present": "30", "expected": "32",
              "summary": "讨论诚信考试。", "action": "submit"}
    values.update(overrides)
    return values


def post_activity(app, client, csrf, path="/activities/new", **overrides):
    token = csrf(path="/activities/")
    with app.app_context():
        data = form_values(**{k: v for k, v in overrides.items() if k != "files"})
    data["csrf_token"] = token
    if "files" in overrides:
        data["files"] = overrides["files"]
    return client.post(path, data=data, content_type="multipart/form-data")


def only_activity(app):
    with app.app_context():
        return db.session.execute(select(Activity)).scalar_one()


# ---- scope --------------------------------------------------------------------------------------

def test_monitor_logs_for_own_class_and_waits_for_review(app, client, org, login_as, csrf):
    login_as("monitor1")
    response = post_activity(app, client, csrf)
    assert response.status_code == 302
    activity = only_activity(app)
    assert (activity.unit_id, activity.status, activity.created_by_id) == (
        org.units["class1"], "submitted", org.users["monitor1"])
    detail = html_of(client.get(response.headers["Location"]))
    assert text_of(detail, "//*[@id='activity-status']") == "待审核"


@pytest.mark.parametrize("other", ["class2", "class3", "student1"])
def test_monitor_cannot_log_for_another_unit(app, client, org, login_as, csrf, other):
    login_as("monitor1")
    assert client.get(f"/activities/new?unit={org.units[other]}").status_code == 404
    response = post_activity(app, client, csrf, unit=str(org.units[other]))
    assert response.status_code == 404
    with app.app_context():
        assert db.session.execute(select(Activity)).first() is None


def test_secretary_reads_but_does_not_log(app, client, org, login_as):
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3))
    login_as("secretary")
    assert client.get("/activities/new").status_code == 403
    page = html_of(client.get(f"/activities/{activity_id}"))
    assert not page.xpath("//*[@id='approve-button']") and not page.xpath("//a[contains(@href, '/edit')]")


def test_staff_of_another_branch_can_neither_see_nor_review(app, client, org, login_as, csrf):
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="submitted")
    login_as("staff3")
    assert client.get(f"/activities/{activity_id}").status_code == 404
    token = csrf(path="/activities/")
    assert client.post(f"/activities/{activity_id}/approve", data={"csrf_token": token}).status_code == 404
    listing = html_of(client.get("/activities/?tab=review"))
    assert activity_id not in [i for i, _ in items(listing)]
    assert only_activity(app).status == "submitted"


def test_list_shows_only_the_scope_and_filters(app, client, org, login_as):
    with app.app_context():
        own = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3))
        other_kind = make_activity(org.units["class1"], "主题团日", date(2026, 4, 3))
        foreign = make_activity(org.units["class3"], "主题班会", date(2026, 3, 3))
        class1_kind = kind_id("主题班会")
    login_as("staff2")
    ids = {i for i, _ in items(html_of(client.get("/activities/")))}
    assert ids == {own, other_kind}
    filtered = html_of(client.get(f"/activities/?kind={class1_kind}&month=2026-03"))
    assert [i for i, _ in items(filtered)] == [own]
    assert foreign not in ids


# ---- the monitor's form -------------------------------------------------------------------------

def test_form_defaults_today_and_remembers_the_last_kind(app, client, org, login_as):
    login_as("monitor1")
    page = html_of(client.get("/activities/new"))
    with app.app_context():
        today = local_today()
    assert page.xpath("//input[@name='held_on']")[0].get("value") == today.isoformat()
    files = page.xpath("//input[@type='file']")[0]
    assert (files.get("accept"), files.get("capture"), files.get("multiple")) == (
        "image/*,application/pdf", "environment", "multiple")
    with app.app_context():
        make_activity(org.units["class1"], "主题团日", date(2026, 3, 3), created_by_id=org.users["monitor1"])
        remembered = kind_id("主题团日")
    page = html_of(client.get("/activities/new"))
    assert page.xpath("//select[@name='kind']/option[@selected]")[0].get("value") == str(remembered)


def test_retired_kinds_are_not_offered(app, client, org, login_as):
    login_as("monitor1")
    with app.app_context():
        kind_id("主题班会")  # the standard kinds, as the tree's creation seeds them
        db.session.execute(select(ActivityKind).where(ActivityKind.name == "主题团日")).scalar_one().active = False
        db.session.commit()
    names = [o.text_content() for o in html_of(client.get("/activities/new")).xpath("//select[@name='kind']/option")]
    assert "主题班会" in names and "主题团日" not in names


@pytest.mark.parametrize("field, value, message", [
    ("present", "40", "实到人数不能多于应到人数"),
    ("held_on", (date.today() + timedelta(days=2)).isoformat(), "日期不能晚于今天"),
    ("held_on", "1999-12-31", "日期不能早于2000年"),
    ("held_on", "yesterday", "请输入日期"),
    ("topic", "", "请填写主题"),
    ("summary", "长" * 2001, "最多 2000 个字"),
    ("expected", "many", "请输入整数"),
])
def test_bad_input_gets_a_chinese_message_and_keeps_the_values(app, client, org, login_as, csrf, field, value, message):
    login_as("monitor1")
    response = post_activity(app, client, csrf, **{field: value})
    assert response.status_code == 422
    page = html_of(response)
    assert message in text_of(page, f"//*[@data-error-for='{field}']")
    assert page.xpath("//input[@name='place']")[0].get("value") == "教学楼301"
    assert page.xpath("//textarea[@name='summary']")[0].text_content().strip() == (
        value if field == "summary" else "讨论诚信考试。")
    if field != "topic":
        assert page.xpath("//input[@name='topic']")[0].get("value") == "诚信考试主题班会"
    with app.app_context():
        assert db.session.execute(select(Activity)).first() is None


# ---- review -------------------------------------------------------------------------------------

def test_return_with_comment_then_resubmit_then_approve(app, client, org, login_as, csrf):
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="submitted",
                                    created_by_id=org.users["monitor1"])
    staff = app.test_client()
    login_as("staff2", staff)
    assert staff.post(f"/activities/{activity_id}/return", data={"csrf_token": csrf(staff, "/activities/"),
                                                                 "comment": ""}).status_code == 422
    token = csrf(staff, "/activities/")
    response = staff.post(f"/activities/{activity_id}/return", data={"csrf_token": token, "comment": "请补充签到表照片"})
    assert response.status_code == 302

    login_as("monitor1")
    page = html_of(client.get(f"/activities/{activity_id}"))
    assert text_of(page, "//*[@id='activity-status']") == "已退回"
    assert "请补充签到表照片" in text_of(page, "//*[@id='review-comment']")
    listing = html_of(client.get("/activities/"))
    assert "请补充签到表照片" in text_of(listing, f"//*[@data-activity-id='{activity_id}']//*[{has_class('review-comment')}]")
    edit_page = html_of(client.get(f"/activities/{activity_id}/edit"))
    version = edit_page.xpath("//input[@name='version']")[0].get("value")
    response = post_activity(app, client, csrf, path=f"/activities/{activity_id}/edit", topic="补充后的主题班会",
                             version=version, held_on="2026-03-03")
    assert response.status_code == 302
    assert only_activity(app).status == "submitted" and only_activity(app).topic == "补充后的主题班会"

    response = staff.post(f"/activities/{activity_id}/approve", data={"csrf_token": token})
    assert response.status_code == 302
    activity = only_activity(app)
    assert (activity.status, activity.reviewed_by_id) == ("approved", org.users["staff2"])
    with app.app_context():
        actions = db.session.execute(select(AuditEntry.action).where(
            AuditEntry.entity == "activity", AuditEntry.entity_id == activity_id).order_by(AuditEntry.id)).scalars().all()
    assert actions[:2] == ["return", "comment"] and "submit" in actions and actions[-1] == "approve"
    # An approved activity is no longer the monitor's to edit, nor can it be approved twice.
    assert client.get(f"/activities/{activity_id}/edit").status_code == 403
    assert staff.post(f"/activities/{activity_id}/approve", data={"csrf_token": token}).status_code == 409


def test_monitor_cannot_review(app, client, org, login_as, csrf):
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="submitted")
    login_as("monitor1")
    token = csrf(path="/activities/")
    assert client.post(f"/activities/{activity_id}/approve", data={"csrf_token": token}).status_code == 403


def test_staff_own_branch_activity_is_approved_on_submit(app, client, org, login_as, csrf):
    login_as("staff1")
    response = post_activity(app, client, csrf, kind="政治学习")
    assert response.status_code == 302
    activity = only_activity(app)
    assert (activity.unit_id, activity.status) == (org.units["faculty1"], "approved")


def test_draft_is_saved_and_submitted_later(app, client, org, login_as, csrf):
    login_as("monitor1")
    post_activity(app, client, csrf, action="draft")
    activity = only_activity(app)
    assert activity.status == "draft"
    token = csrf(path="/activities/")
    assert client.post(f"/activities/{activity.id}/submit", data={"csrf_token": token}).status_code == 302
    assert only_activity(app).status == "submitted"


def test_stale_edit_is_a_conflict(app, client, org, login_as, csrf):
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="draft")
    login_as("monitor1")
    response = post_activity(app, client, csrf, path=f"/activities/{activity_id}/edit", version="0",
                             held_on="2026-03-03", topic="新主题")
    assert response.status_code == 409
    assert only_activity(app).topic != "新主题"


# ---- attachments --------------------------------------------------------------------------------

def test_photo_is_accepted_and_served_in_scope_only(app, client, org, login_as, csrf):
    login_as("monitor1")
    response = post_activity(app, client, csrf, files=[upload(png_bytes(), "签到表.png")])
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.execute(select(StoredFile)).scalar_one()
        assert (stored.filename, stored.content_type, stored.unit_id) == ("签到表.png", "image/png", org.units["class1"])
        file_id = stored.id
    page = html_of(client.get(response.headers["Location"]))
    assert page.xpath(f"//ul[{has_class('attachments')}]//img[@src='/activities/files/{file_id}']")
    served = client.get(f"/activities/files/{file_id}")
    assert served.status_code == 200 and served.data == png_bytes() and served.mimetype == "image/png"
    login_as("staff3")
    assert client.get(f"/activities/files/{file_id}").status_code == 404


def test_script_renamed_jpg_is_refused(app, client, org, login_as, csrf):
    login_as("monitor1")
    script = b"#!/bin/sh\nrm -rf /\n"
    response = post_activity(app, client, csrf, files=[upload(script, "photo.jpg")])
    assert response.status_code == 422
    assert "photo.jpg" in text_of(html_of(response), "//*[@data-error-for='files']")
    with app.app_context():
        assert db.session.execute(select(StoredFile)).first() is None
        assert db.session.execute(select(Activity)).first() is None


# ---- kinds --------------------------------------------------------------------------------------

def test_no_get_seeds_kinds_and_admin_edits_inline(app, client, org, login_as, csrf):
    login_as("admin")
    assert not html_of(client.get("/activities/kinds")).xpath("//*[@id='kind-rows']/tr")  # a GET writes nothing
    with app.app_context():
        assert not db.session.execute(select(ActivityKind)).first()
        kind_id("主题班会")  # the standard kinds, as the tree's creation seeds them
    page = html_of(client.get("/activities/kinds"))
    assert len(page.xpath("//*[@id='kind-rows']/tr")) == 12
    with app.app_context():
        kind = db.session.execute(select(ActivityKind).where(ActivityKind.name == "警示教育会")).scalar_one()
    token = csrf(path="/activities/kinds")
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    edit_row = html_of(client.get(f"/activities/kinds/{kind.id}/edit", headers=headers))
    assert edit_row.xpath("//input[@name='name']")[0].get("value") == "警示教育会"
    duplicate = client.post(f"/activities/kinds/{kind.id}", headers=headers,
                            data={"name": "党课", "cadence": "year", "count": "1", "level": "general"})
    assert duplicate.status_code == 422 and "已存在" in duplicate.get_data(as_text=True)
    saved = client.post(f"/activities/kinds/{kind.id}", headers=headers,
                        data={"name": "警示教育大会", "cadence": "semester", "count": "1", "level": "general"})
    assert saved.status_code == 200
    assert text_of(html_of(saved), f"//td[{has_class('kind-name')}]") == "警示教育大会"
    retired = client.post(f"/activities/kinds/{kind.id}/active", headers=headers, data={"active": "0"})
    assert "inactive" in html_of(retired).get("class")
    added = client.post("/activities/kinds", headers=headers,
                        data={"name": "组织生活会", "cadence": "year", "count": "1", "level": "branch"})
    assert "组织生活会" in [td.text_content() for td in html_of(added).xpath(f"//td[{has_class('kind-name')}]")]
    with app.app_context():
        assert db.session.get(ActivityKind, kind.id).active is False
        audited = db.session.execute(select(AuditEntry.action).where(AuditEntry.entity == "activity_kind")).scalars().all()
    assert {"update", "retire", "create"} <= set(audited)


def test_kinds_page_is_for_admins(client, login_as):
    login_as("staff1")
    assert client.get("/activities/kinds").status_code == 403


# ---- compliance pages ---------------------------------------------------------------------------

def test_grid_shows_met_and_missing_cells_and_opens_a_cell(app, client, org, login_as):
    with app.app_context():
        year = local_today().year
        make_plan(org.units["general"], year - 1, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
        make_activity(org.units["class1"], "主题班会", date(year - 1, 3, 5))
        make_activity(org.units["class1"], "主题班会", date(year - 1, 3, 9), status="draft")
    login_as("staff2")
    page = html_of(client.get(f"/activities/compliance?year={year - 1}"))
    rows = page.xpath("//*[@id='compliance-grid']//tbody/tr")
    assert {int(r.get("data-unit")) for r in rows} == {org.units["class1"], org.units["class2"]}
    class1 = page.xpath(f"//tr[@data-unit='{org.units['class1']}']")[0]
    assert class1.xpath(f"td[@data-period='{year - 1}-03']")[0].get("data-state") == "met"
    assert class1.xpath(f"td[@data-period='{year - 1}-04']")[0].get("data-state") == "missing"
    link = class1.xpath(f"td[@data-period='{year - 1}-03']/a")[0].get("href")
    cell = html_of(client.get(link, headers={"HX-Request": "true"}))
    assert cell.get("data-state") == "met"
    assert sorted(status for _, status in items(cell)) == ["approved", "draft"]


def test_grid_is_not_for_monitors_who_see_their_obligations(app, client, org, login_as):
    with app.app_context():
        make_plan(org.units["general"], local_today().year, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
    login_as("monitor1")
    assert client.get("/activities/compliance").status_code == 403
    page = html_of(client.get(f"/units/{org.units['class1']}/obligations"))
    item = page.xpath(f"//li[{has_class('obligation')}]")[0]
    assert item.get("data-state") == "in_progress"
    assert "已完成 0 / 1" in text_of(item, f".//*[{has_class('current')}]")
    assert client.get(f"/units/{org.units['class2']}/obligations").status_code == 404


def test_pages_have_no_inline_script_or_style_and_render_in_english(app, client, org, login_as):
    with app.app_context():
        year = local_today().year
        [requirement] = make_plan(org.units["general"], year, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
        activity_id = make_activity(org.units["class1"], "主题班会", date(year, 1, 5), status="submitted")
    login_as("admin")
    paths = ["/activities/", "/activities/?tab=review", "/activities/new", f"/activities/{activity_id}",
             f"/activities/{activity_id}/edit", "/activities/kinds", "/activities/compliance",
             f"/units/{org.units['class1']}/obligations",
             f"/activities/compliance/cell?unit={org.units['class1']}&requirement={requirement}&period={year}-01"]
    for lang in ("zh_Hans_CN", "en"):
        client.set_cookie("lang", lang)
        with app.app_context():
            db.session.get(User, org.users["admin"]).locale = lang
            db.session.commit()
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            html = response.get_data(as_text=True)
            assert " style=" not in html and "<style" not in html and "hx-on" not in html, path
            assert all("src=" in tag.split(">")[0] for tag in html.split("<script")[1:]), path
