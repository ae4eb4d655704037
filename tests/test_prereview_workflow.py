"""Pre-review: a full three-stage round with a return and a resubmission, stage authority, self-review,
concurrent decisions, deadline flags on a frozen clock, the register pages and export, the ledger row."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import lxml.html
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEntry, PrereviewFile, PrereviewItem, PrereviewStep

from .prereview_factories import PDF, add_item, freeze, in_days, item, kinds, version_of

NOW = datetime(2026, 5, 4, 2, 0)  # 10:00 in Shanghai
TODAY = date(2026, 5, 4)


def tree(response):
    return lxml.html.fromstring(response.get_data(as_text=True))


def decide(app, login_as, csrf, key, item_id, decision, comment="", version=None, client=None):
    client = client or app.test_client()
    login_as(key, client)
    version = version or version_of(client, item_id)
    return client.post(f"/prereview/{item_id}/decide", headers={"X-CSRFToken": csrf(client, "/")},
                       data={"decision": decision, "comment": comment, "version": version})


@pytest.fixture
def frozen(monkeypatch):
    freeze(monkeypatch, NOW)


@pytest.fixture
def post_kind(app, org):
    with app.app_context():
        return kinds(org)["新媒体推送"]


def test_three_stage_round_with_a_return_and_a_resubmission(app, client, org, login_as, csrf, frozen, post_kind):
    login_as("monitor1")
    token = csrf(client, "/")
    response = client.post("/prereview/new", data={
        "csrf_token": token, "unit": org.units["class1"], "kind": post_kind, "title": "班级公众号推送：诚信考试",
        "held_on": (TODAY + timedelta(days=10)).isoformat(), "channel": "2023级计算机1班公众号",
        "speaker": "班级宣传委员", "summary": "推送正文", "action": "submit",
        "files": (io.BytesIO(PDF), "推送稿.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        item_id = db.session.execute(select(PrereviewItem.id)).scalar_one()
        submitted = item(item_id)
        assert (submitted.status, submitted.stage, submitted.round, submitted.late) == ("submitted", 0, 1, False)
        assert [f.filename for f in submitted.files] == ["推送稿.pdf"]

    # 初审: the class's branch staff; the secretary may not decide this stage.
    assert decide(app, login_as, csrf, "secretary", item_id, "pass").status_code == 403
    assert decide(app, login_as, csrf, "staff1", item_id, "pass", version="1").status_code == 404  # another branch
    assert decide(app, login_as, csrf, "staff2", item_id, "pass", "可以").status_code == 302
    # 复审: the general branch's office (admin) returns it.
    assert decide(app, login_as, csrf, "staff2", item_id, "pass").status_code == 403
    assert decide(app, login_as, csrf, "admin", item_id, "return", "标题需修改").status_code == 302
    with app.app_context():
        returned = item(item_id)
        assert (returned.status, returned.stage, returned.review_comment) == ("returned", 1, "标题需修改")
        assert returned.channel == "2023级计算机1班公众号" and returned.summary == "推送正文"  # kept

    # The organiser edits and resubmits: review resumes at 复审, in round 2.
    login_as("monitor1")
    page = tree(client.get(f"/prereview/{item_id}/edit"))
    assert page.xpath("//input[@name='title']/@value") == ["班级公众号推送：诚信考试"]
    response = client.post(f"/prereview/{item_id}/edit", data={
        "csrf_token": token, "unit": org.units["class1"], "kind": post_kind, "title": "班级公众号推送：诚信考试倡议",
        "held_on": (TODAY + timedelta(days=10)).isoformat(), "channel": "2023级计算机1班公众号",
        "speaker": "班级宣传委员", "summary": "推送正文", "action": "submit", "version": version_of(client, item_id)},
        content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        again = item(item_id)
        assert (again.status, again.stage, again.round) == ("submitted", 1, 2)
    assert decide(app, login_as, csrf, "admin", item_id, "pass").status_code == 302
    # 终审: the secretary.
    assert decide(app, login_as, csrf, "secretary", item_id, "pass", "同意发布").status_code == 302
    with app.app_context():
        done = item(item_id)
        assert done.status == "approved" and done.decided_at == NOW
        steps = db.session.execute(select(PrereviewStep).order_by(PrereviewStep.id)).scalars().all()
        assert [(s.round, s.stage_name, s.action) for s in steps] == [
            (1, "初审", "submit"), (1, "初审", "pass"), (1, "复审", "return"),
            (2, "复审", "submit"), (2, "复审", "pass"), (2, "终审", "approve")]
        assert all(s.user_id and s.at == NOW for s in steps)
        audited = db.session.execute(select(AuditEntry.action).where(AuditEntry.entity == "prereview_item")
                                     .order_by(AuditEntry.id)).scalars().all()
        assert audited.count("pass") == 2 and "return" in audited and "approve" in audited

    # The history shows each round with its decisions.
    history = tree(client.get(f"/prereview/{item_id}"))
    rounds = history.xpath("//ol[@data-round]")
    assert [r.get("data-round") for r in rounds] == ["1", "2"]
    assert [li.get("data-action") for li in rounds[0].xpath("li")] == ["submit", "pass", "return"]
    assert "标题需修改" in rounds[0].text_content()

    # After approval the post is marked published with its link.
    login_as("monitor1")
    response = client.post(f"/prereview/{item_id}/outcome", headers={"X-CSRFToken": token}, data={
        "outcome": "published", "link": "https://mp.weixin.qq.com/s/abc", "version": version_of(client, item_id)})
    assert response.status_code == 302
    with app.app_context():
        assert item(item_id).status == "published"


def test_nobody_reviews_their_own_submission(app, client, org, login_as, csrf, frozen, post_kind):
    with app.app_context():
        # staff2 organises for class1 and submits: staff2 would be the 初审 reviewer, but not of their own item.
        item_id = add_item(org, "class1", post_kind, in_days(10, TODAY), by="staff2", submit=True)
    response = decide(app, login_as, csrf, "staff2", item_id, "pass")
    assert response.status_code == 403
    login_as("staff2")
    page = tree(client.get(f"/prereview/{item_id}"))
    assert not page.xpath("//form[contains(@action, '/decide')]")
    assert page.xpath("//*[@id='own-submission']")
    with app.app_context():
        assert item(item_id).stage == 0 and item(item_id).status == "submitted"


def test_concurrent_decisions_one_wins_the_other_gets_409(app, org, login_as, csrf, frozen, post_kind):
    with app.app_context():
        item_id = add_item(org, "class1", post_kind, in_days(10, TODAY), submit=True)
    first, second = app.test_client(), app.test_client()
    login_as("staff2", first)
    login_as("staff2", second)
    seen = version_of(first, item_id)
    assert version_of(second, item_id) == seen
    a = decide(app, login_as, csrf, "staff2", item_id, "pass", version=seen, client=first)
    b = decide(app, login_as, csrf, "staff2", item_id, "return", "不行", version=seen, client=second)
    assert (a.status_code, b.status_code) == (302, 409)
    assert "Someone else" in b.get_data(as_text=True) or "其他人" in b.get_data(as_text=True)
    with app.app_context():
        assert item(item_id).status == "submitted" and item(item_id).stage == 1
        assert len(db.session.execute(select(PrereviewStep).where(PrereviewStep.action != "submit")).all()) == 1


def test_stale_decision_at_the_orm_level_is_refused(app, org, frozen, post_kind):
    """Two sessions load the same version; the second commit finds the row changed (StaleDataError → 409)."""
    from webapp.models import User
    from webapp.prereview import services
    with app.app_context():
        item_id = add_item(org, "class1", post_kind, in_days(10, TODAY), submit=True)
        loaded = item(item_id)
        version = loaded.version
        # Someone else's decision lands meanwhile, through another connection.
        with db.engine.begin() as conn:
            conn.execute(PrereviewItem.__table__.update().where(PrereviewItem.id == item_id)
                         .values(version=version + 1, status="returned"))
        with app.test_request_context():
            reviewer = db.session.get(User, org.users["staff2"])
            with pytest.raises(services.StaleVersion):
                services.decide(reviewer, loaded, version, "pass", "")
        assert item(item_id).status == "returned"


def test_deadline_flags_on_a_frozen_clock(app, client, org, login_as, monkeypatch, post_kind):
    freeze(monkeypatch, NOW)
    with app.app_context():
        lecture = kinds(org)["讲座"]
        timely = add_item(org, "class1", lecture, TODAY + timedelta(days=7), submit=True, title="按时报备的讲座")
        late = add_item(org, "class1", lecture, TODAY + timedelta(days=6), submit=True, title="逾期报备的讲座")
        near = add_item(org, "class1", lecture, TODAY + timedelta(days=3), title="临近未审的讲座")
        assert (item(timely).late, item(late).late) == (False, True)
    login_as("monitor1")
    page = tree(client.get(f"/units/{org.units['class1']}/prereview"))
    flagged = {row.xpath("string(th)").strip(): "red-flag" in (row.get("class") or "") for row in page.xpath("//tr[@data-item-id]")}
    assert flagged == {"按时报备的讲座": False, "逾期报备的讲座": False, "临近未审的讲座": True}
    assert tree(client.get(f"/prereview/{late}")).xpath("//*[@id='late-flag']")
    assert not tree(client.get(f"/prereview/{timely}")).xpath("//*[@id='late-flag']")
    # Two days later the timely one is within three days of its date and still under review: red for its reviewer.
    freeze(monkeypatch, NOW + timedelta(days=4))
    login_as("staff2")
    home = tree(client.get("/"))
    red = [li.xpath("string(a)") for li in home.xpath("//section[@id='prereview-home']//li[contains(@class, 'red-flag')]")]
    assert set(red) == {"按时报备的讲座", "逾期报备的讲座"}
    # The organiser's home lists their unit's red items, the draft included.
    login_as("monitor1")
    organiser = tree(client.get("/"))
    assert "临近未审的讲座" in organiser.xpath("string(//section[@id='prereview-home'])")


def test_reviewer_home_and_register_show_what_awaits_each_stage(app, client, org, login_as, frozen, post_kind):
    with app.app_context():
        item_id = add_item(org, "class1", post_kind, in_days(10, TODAY), submit=True, title="等待初审的推送")
    for key, expected in (("staff2", True), ("staff3", False), ("secretary", False), ("admin", False)):
        login_as(key)
        home = client.get("/").get_data(as_text=True)
        assert ("等待初审的推送" in home) is expected, key
    login_as("staff2")
    queue = tree(client.get("/prereview/")).xpath("//section[@id='review-queue']//tr[@data-item-id]")
    assert [int(row.get("data-item-id")) for row in queue] == [item_id]


def test_attachments_are_checked_like_evidence(app, client, org, login_as, csrf, frozen, post_kind):
    login_as("monitor1")
    response = client.post("/prereview/new", data={
        "csrf_token": csrf(client, "/"), "unit": org.units["class1"], "kind": post_kind, "title": "推送",
        "held_on": in_days(10, TODAY).isoformat(), "channel": "公众号", "action": "submit",
        "files": (io.BytesIO(b"<html><script>alert(1)</script>"), "稿件.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422
    page = tree(response)
    assert page.xpath("//span[@data-error-for='files']")
    assert page.xpath("//input[@name='title']/@value") == ["推送"]
    with app.app_context():
        assert db.session.execute(select(PrereviewItem)).first() is None
        assert db.session.execute(select(PrereviewFile)).first() is None


def test_out_of_scope_items_are_missing(app, client, org, login_as, frozen, post_kind):
    with app.app_context():
        item_id = add_item(org, "class1", post_kind, in_days(10, TODAY), submit=True)
    login_as("staff3")  # student2's staff: class1 is not in their subtree
    assert client.get(f"/prereview/{item_id}").status_code == 404
    login_as("foreign_admin")
    assert client.get(f"/prereview/{item_id}").status_code == 404
    assert client.get(f"/units/{org.units['class1']}/prereview").status_code == 404


def test_register_exports_in_the_printed_layout(app, client, org, login_as, frozen, post_kind):
    with app.app_context():
        add_item(org, "class1", post_kind, in_days(10, TODAY), submit=True, title="班级推送")
        add_item(org, "student1", kinds(org)["讲座"], in_days(20, TODAY), submit=True, by="staff2", title="支部讲座")
    login_as("secretary")
    response = client.get(f"/units/{org.units['student1']}/prereview.xlsx?subtree=1")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet["A1"].value == "意识形态预审查登记台账（学生第一党支部及下属单位）"
    assert sheet.freeze_panes == "A3"
    assert sheet["A2"].value == "序号" and sheet["C2"].value == "名称 / 标题"
    assert sorted(sheet.cell(row=r, column=3).value for r in (3, 4)) == ["支部讲座", "班级推送"]
    own = load_workbook(io.BytesIO(client.get(f"/units/{org.units['student1']}/prereview.xlsx").get_data())).active
    assert [own.cell(row=3, column=3).value, own.max_row] == ["支部讲座", 3]


def test_ledger_row_of_the_task_that_asks_for_prereview_shows_the_approved_count(app, client, org, login_as,
                                                                                frozen, post_kind):
    from webapp.models import LedgerRow, Plan, Section, Task
    with app.app_context():
        year = TODAY.year
        plan = Plan(unit_id=org.units["general"], year=year, title=f"{year}年意识形态工作方案", status="published",
                    source_text="", source_filename="plan.txt")
        section = Section(plan=plan, position=0, number="一", title="阵地管理")
        asks = Task(plan=plan, section=section, position=1, number=8, title="从严管理宣传思想文化阵地",
                    body="做好各类讲座、论坛、会议的意识形态风险防控与审查工作。", deadline_text="全年")
        other = Task(plan=plan, section=section, position=2, number=9, title="开展政治学习", body="每周四学习。",
                     deadline_text="全年")
        db.session.add_all([plan, section, asks, other])
        db.session.flush()
        rows = [LedgerRow(task_id=t.id, unit_id=org.units["class1"]) for t in (asks, other)]
        db.session.add_all(rows)
        db.session.commit()
        row_ids = [r.id for r in rows]
        item_id = add_item(org, "class1", post_kind, in_days(10, TODAY), submit=True)
        approved = item(item_id)
        approved.status = "approved"
        db.session.commit()
    login_as("monitor1")
    response = client.get(f"/ledger/rows/{row_ids[0]}", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.startswith(f'<tr id="row-{row_ids[0]}" data-version="')
    assert len(html.encode()) < 3072
    link = tree(response).xpath("//a[@class='prereview-count']")
    assert link and "1" in link[0].text_content()
    assert link[0].get("href") == f"/units/{org.units['class1']}/prereview"
    other_row = tree(client.get(f"/ledger/rows/{row_ids[1]}", headers={"HX-Request": "true"}))
    assert not other_row.xpath("//a[@class='prereview-count']")


def test_admin_adds_a_kind_with_its_own_stages_and_it_drives_the_review(app, client, org, login_as, csrf, frozen):
    with app.app_context():
        kinds(org)
    login_as("admin")
    token = csrf(client, "/")
    refused = client.post("/prereview/kinds", headers={"X-CSRFToken": token}, data={
        "name": "读书会", "category": "event", "lead_days": "3", "stage_name": ["", ""],
        "stage_role": ["staff", "staff"], "stage_level": ["own", "own"]})
    assert refused.status_code == 422 and "至少设置一个审查环节" in refused.get_data(as_text=True)
    response = client.post("/prereview/kinds", headers={"X-CSRFToken": token}, data={
        "name": "读书会", "category": "event", "lead_days": "3",
        "stage_name": ["支部审核", "", "总支审核"], "stage_role": ["staff", "staff", "secretary"],
        "stage_level": ["branch", "own", "general"]})
    assert response.status_code == 302
    with app.app_context():
        from webapp.models import PrereviewKind
        kind = db.session.execute(select(PrereviewKind).where(PrereviewKind.name == "读书会")).scalar_one()
        assert kind.unit_id == org.units["general"] and kind.lead_days == 3
        assert [s["name"] for s in kind.stages] == ["支部审核", "总支审核"]
        kind_id = kind.id
        item_id = add_item(org, "class1", kind_id, TODAY + timedelta(days=2), submit=True)
        assert item(item_id).late  # 2 days ahead, 3 required
    assert decide(app, login_as, csrf, "staff2", item_id, "pass").status_code == 302
    assert decide(app, login_as, csrf, "secretary", item_id, "pass").status_code == 302
    with app.app_context():
        assert item(item_id).status == "approved"
    # Other admins' trees do not see it; staff may not manage kinds.
    login_as("foreign_admin")
    assert client.get(f"/prereview/kinds/{kind_id}").status_code == 404
    login_as("staff2")
    assert client.get("/prereview/kinds").status_code == 403


def test_return_and_reject_need_a_comment_and_outcomes_follow_the_kind(app, client, org, login_as, csrf, frozen):
    with app.app_context():
        lecture = kinds(org)["讲座"]
        item_id = add_item(org, "class1", lecture, TODAY + timedelta(days=10), submit=True)
    response = decide(app, login_as, csrf, "staff2", item_id, "reject", "")
    assert response.status_code == 422
    assert tree(response).xpath("//span[@data-error-for='comment']")
    assert decide(app, login_as, csrf, "staff2", item_id, "pass").status_code == 302
    assert decide(app, login_as, csrf, "secretary", item_id, "pass").status_code == 302
    login_as("monitor1")
    token = csrf(client, "/")
    version = version_of(client, item_id)
    wrong = client.post(f"/prereview/{item_id}/outcome", headers={"X-CSRFToken": token},
                        data={"outcome": "held", "outcome_on": "", "version": version})
    assert wrong.status_code == 422
    held = client.post(f"/prereview/{item_id}/outcome", headers={"X-CSRFToken": token},
                       data={"outcome": "held", "outcome_on": (TODAY + timedelta(days=10)).isoformat(),
                             "version": version})
    assert held.status_code == 302
    with app.app_context():
        assert (item(item_id).status, item(item_id).outcome_on) == ("held", TODAY + timedelta(days=10))
    # A decided item cannot be decided again.
    again = decide(app, login_as, csrf, "secretary", item_id, "pass", version=str(int(version) + 1))
    assert again.status_code == 409
