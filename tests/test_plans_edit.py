"""Inline edits of a draft plan: task fields, requirements, section titles; 422 on invalid input."""
import json
from datetime import date

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEntry, Plan, Requirement, Section, Task

from .plans_factories import SAMPLE, by_class, html, make_draft, make_published, task_by_number, texts


@pytest.fixture
def htmx(client, login_as, csrf):
    """The admin's client sending requests the way htmx does (CSRF in a header)."""
    login_as("admin")
    token = csrf(path="/plans/")

    def send(method, url, data=None):
        return client.open(url, method=method, data=data,
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    return send


@pytest.fixture
def draft(app, org):
    with app.app_context():
        return make_draft(org)


def _task_form(task: Task, **overrides) -> dict:
    data = {"title": task.title, "body": task.body, "lead": task.lead, "members": task.members,
            "deadline_text": task.deadline_text, "starts_on": task.starts_on.isoformat() if task.starts_on else "",
            "due_on": task.due_on.isoformat() if task.due_on else ""}
    if task.ongoing:
        data["ongoing"] = "y"
    if task.needs_review:
        data["needs_review"] = "y"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _task(app, plan_id, number=1) -> Task:
    with app.app_context():
        task = task_by_number(plan_id, number)
        db.session.expunge(task)
        return task


@pytest.mark.parametrize("field, value, cell, shown", [
    ("title", "开展政治理论学习。", "task-title", "开展政治理论学习。"),
    ("body", "每周集中学习一次。", "task-body", "每周集中学习一次。"),
    ("lead", "李老师", "task-lead", "李老师"),
    ("members", "张老师、赵老师", "task-members", "张老师、赵老师"),
    ("deadline_text", "2025年5月底前完成", "task-deadline", "2025年5月底前完成"),
    ("starts_on", "2025-02-01", "task-start", "2025-02-01"),
    ("due_on", "2025-05-31", "task-due", "2025-05-31"),
    ("ongoing", "y", "task-ongoing", "是"),
])
def test_each_task_field_is_saved_and_shown(app, org, htmx, draft, field, value, cell, shown):
    task = _task(app, draft)
    form = htmx("GET", f"/plans/{draft}/tasks/{task.id}/edit")
    assert form.status_code == 200 and html(form).xpath(f"//*[@name='{field}']")
    response = htmx("POST", f"/plans/{draft}/tasks/{task.id}", _task_form(task, **{field: value}))
    assert response.status_code == 200
    assert texts(by_class(html(response), cell)) == [shown]
    with app.app_context():
        saved = db.session.get(Task, task.id)
        expected = date.fromisoformat(value) if field.endswith("_on") else (True if value == "y" else value)
        assert getattr(saved, field) == expected
        # (A new time limit also re-reads the dates: those changes are entries of their own.)
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.entity == "task",
                                                            AuditEntry.field == field)).scalar_one()
        assert (entry.entity_id, entry.field, entry.unit_id) == (task.id, field, org.units["general"])


def test_clearing_needs_review_removes_the_flag(app, org, htmx):
    with app.app_context():
        plan_id = make_draft(org, SAMPLE.read_text(encoding="utf-8"), year=2023)
    task = _task(app, plan_id, 8)  # the sample's task 8 has no time limit: flagged
    assert task.needs_review
    form = _task_form(task)
    del form["needs_review"]  # the admin unticks "still needs checking"
    response = htmx("POST", f"/plans/{plan_id}/tasks/{task.id}", form)
    card = html(response).xpath("//article[contains(@class,'task')]")[0]  # (the warnings follow out of band)
    assert "needs-review" not in card.get("class")
    with app.app_context():
        assert db.session.get(Task, task.id).needs_review is False


@pytest.mark.parametrize("overrides, message", [
    ({"title": "  "}, "请填写任务名称"),
    ({"starts_on": "2031-01-01"}, "日期应在 2024 年至 2026 年之间"),
    ({"due_on": "1999-12-31"}, "日期应在"),
    ({"starts_on": "2025-06-01", "due_on": "2025-05-01"}, "完成日期早于开始日期"),
    ({"due_on": "2025-13-45"}, "不是有效的日期"),
])
def test_invalid_task_input_is_422_with_the_input_kept(app, org, htmx, draft, overrides, message):
    task = _task(app, draft)
    response = htmx("POST", f"/plans/{draft}/tasks/{task.id}", _task_form(task, lead="新负责人", **overrides))
    assert response.status_code == 422
    page = html(response)
    assert message in " ".join(texts(by_class(page, "field-error")))
    assert page.xpath("//input[@name='lead']/@value") == ["新负责人"]
    with app.app_context():
        assert db.session.get(Task, task.id).lead == task.lead
        assert db.session.execute(select(AuditEntry).where(AuditEntry.entity == "task")).first() is None


def _requirement_form(**overrides) -> dict:
    data = {"kind": "政治学习", "cadence": "week", "count": "1", "weekday": "4", "level": "faculty_branch"}
    data.update(overrides)
    return data


def test_requirement_fields_are_saved_and_the_card_redrawn(app, org, htmx, draft):
    task = _task(app, draft)
    with app.app_context():
        requirement_id = db.session.get(Task, task.id).requirements[0].id
    assert htmx("GET", f"/plans/{draft}/requirements/{requirement_id}/edit").status_code == 200
    response = htmx("POST", f"/plans/{draft}/requirements/{requirement_id}",
                    _requirement_form(kind="理论学习", cadence="month", count="2", weekday="", level="branch",
                                      include_children="y"))
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == f"#task-{task.id}"
    row = html(response).xpath(f"//li[@id='requirement-{requirement_id}']")[0]
    assert texts(by_class(row, "req-kind", ".//*")) == ["理论学习"]
    assert texts(by_class(row, "req-cadence", ".//*")) == ["每月"]
    assert texts(by_class(row, "req-count", ".//*")) == ["2 次"]
    assert texts(by_class(row, "req-level", ".//*")) == ["各党支部"]
    with app.app_context():
        saved = db.session.get(Requirement, requirement_id)
        assert (saved.kind, saved.cadence, saved.count, saved.weekday, saved.level, saved.include_children) == \
            ("理论学习", "month", 2, None, "branch", True)
        fields = set(db.session.execute(select(AuditEntry.field).where(AuditEntry.entity == "requirement")).scalars())
        assert fields == {"kind", "cadence", "count", "weekday", "level", "include_children"}


@pytest.mark.parametrize("overrides, message", [
    ({"count": "0"}, "1 到 400"), ({"count": "401"}, "1 到 400"), ({"count": "abc"}, "整数"),
    ({"cadence": "daily"}, "有效的选择"), ({"level": "university"}, "有效的选择"),
    ({"weekday": "8"}, "有效的选择"), ({"kind": " "}, "请填写活动类型"),
])
def test_invalid_requirement_is_422(app, org, htmx, draft, overrides, message):
    task = _task(app, draft)
    with app.app_context():
        requirement = db.session.get(Task, task.id).requirements[0]
        requirement_id, before = requirement.id, (requirement.kind, requirement.count, requirement.cadence)
    response = htmx("POST", f"/plans/{draft}/requirements/{requirement_id}", _requirement_form(**overrides))
    assert response.status_code == 422 and "HX-Retarget" not in response.headers
    assert message in " ".join(texts(by_class(html(response), "field-error")))
    with app.app_context():
        requirement = db.session.get(Requirement, requirement_id)
        assert (requirement.kind, requirement.count, requirement.cadence) == before


def test_add_and_delete_a_requirement(app, org, htmx, draft):
    task = _task(app, draft, 3)  # no requirements: the whole college
    assert htmx("GET", f"/plans/{draft}/tasks/{task.id}/requirements/new").status_code == 200
    bad = htmx("POST", f"/plans/{draft}/tasks/{task.id}/requirements", _requirement_form(count="0"))
    assert bad.status_code == 422
    response = htmx("POST", f"/plans/{draft}/tasks/{task.id}/requirements",
                    _requirement_form(kind="主题班会", cadence="month", weekday="", level="class"))
    assert response.status_code == 200 and response.headers["HX-Retarget"] == f"#task-{task.id}"
    assert texts(by_class(html(response), "req-kind")) == ["主题班会"]
    with app.app_context():
        requirement = db.session.get(Task, task.id).requirements[0]
        assert requirement.kind_id is None  # the org fixture has no kinds; linked at publish
        requirement_id = requirement.id
    response = htmx("POST", f"/plans/{draft}/requirements/{requirement_id}/delete")
    assert response.status_code == 200
    assert by_class(html(response), "requirement") == []
    with app.app_context():
        assert db.session.get(Requirement, requirement_id) is None
        actions = list(db.session.execute(select(AuditEntry.action).where(AuditEntry.entity == "requirement")
                                          .order_by(AuditEntry.id)).scalars())
        assert actions == ["create", "delete"]


def test_section_title_edit(app, org, htmx, draft):
    with app.app_context():
        section_id = db.session.get(Plan, draft).sections[1].id
    assert htmx("GET", f"/plans/{draft}/sections/{section_id}/edit").status_code == 200
    bad = htmx("POST", f"/plans/{draft}/sections/{section_id}", {"title": ""})
    assert bad.status_code == 422 and "请填写部分标题" in " ".join(texts(by_class(html(bad), "field-error")))
    response = htmx("POST", f"/plans/{draft}/sections/{section_id}", {"title": "加强网络阵地管理"})
    assert texts(by_class(html(response), "section-text")) == ["加强网络阵地管理"]
    with app.app_context():
        assert db.session.get(Section, section_id).title == "加强网络阵地管理"
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.entity == "section")).scalar_one()
        assert (entry.before, entry.after) == ("加强阵地管理", "加强网络阵地管理")


def test_a_published_plan_is_read_only(app, org, htmx):
    with app.app_context():
        plan_id = make_published(org)
        task = task_by_number(plan_id, 1)
        task_id, requirement_id, section_id = task.id, task.requirements[0].id, task.section_id
    for method, url, data in [
        ("GET", f"/plans/{plan_id}/tasks/{task_id}/edit", None),
        ("POST", f"/plans/{plan_id}/tasks/{task_id}", {"title": "改"}),
        ("POST", f"/plans/{plan_id}/requirements/{requirement_id}", _requirement_form()),
        ("POST", f"/plans/{plan_id}/requirements/{requirement_id}/delete", None),
        ("POST", f"/plans/{plan_id}/tasks/{task_id}/requirements", _requirement_form()),
        ("POST", f"/plans/{plan_id}/sections/{section_id}", {"title": "改"}),
        ("POST", f"/plans/{plan_id}/publish", None),
    ]:
        response = htmx(method, url, data)
        assert response.status_code == 409, url
        assert "已发布" in response.get_data(as_text=True)
    page = html(htmx("GET", f"/plans/{plan_id}"))
    assert page.xpath("//button[contains(@hx-get, '/edit') and not(contains(@hx-get, 'assignments'))]") == []


def test_warnings_and_dates_follow_a_task_edit(app, org, htmx):
    """"以下任务没有工作时限：任务8" goes once task 8 has a time limit, and its dates are read from it."""
    with app.app_context():
        plan_id = make_draft(org, SAMPLE.read_text(encoding="utf-8"), year=2023)
    task = _task(app, plan_id, 8)
    page = html(htmx("GET", f"/plans/{plan_id}"))
    assert any("任务8" in w and "没有工作时限" in w for w in texts(page.xpath("//*[@id='plan-warnings']//li")))
    response = htmx("POST", f"/plans/{plan_id}/tasks/{task.id}",
                    _task_form(task, deadline_text="2023年3月启动，6月底前完成。"))
    assert response.status_code == 200
    answer = html(response)
    # The card shows the dates read from the new time limit…
    assert texts(by_class(answer, "task-start")) == ["2023-03-01"]
    assert texts(by_class(answer, "task-due")) == ["2023-06-30"]
    # …and the page's warnings come along out of band, without task 8.
    oob = answer.xpath("//*[@id='plan-warnings'][@hx-swap-oob='true']")
    assert oob and not any("没有工作时限" in w and "任务8" in w for w in texts(oob[0].xpath(".//li")))
    page = html(htmx("GET", f"/plans/{plan_id}"))
    assert not any("没有工作时限" in w and "任务8" in w for w in texts(page.xpath("//*[@id='plan-warnings']//li")))
    with app.app_context():
        saved = db.session.get(Task, task.id)
        assert (saved.starts_on, saved.due_on) == (date(2023, 3, 1), date(2023, 6, 30))


def test_dates_typed_with_the_time_limit_are_kept(app, org, htmx, draft):
    task = _task(app, draft)
    htmx("POST", f"/plans/{draft}/tasks/{task.id}",
         _task_form(task, deadline_text="2025年5月底前完成", due_on="2025-04-30"))
    with app.app_context():
        assert db.session.get(Task, task.id).due_on == date(2025, 4, 30)


def test_a_heading_too_long_to_keep_whole_is_said():
    from webapp.plans.services import _warnings
    parsed = {"title": "方" * 201, "warnings": ["读到的提示"],
              "sections": [{"number": "一", "title": "长" * 301, "tasks": []}, {"number": "二", "title": "短", "tasks": []}]}
    assert json.loads(_warnings(parsed)) == ["读到的提示", "方案标题超过 200 字，只保存了前 200 字，请核对",
                                             "第一部分的标题超过 300 字，只保存了前 300 字，请核对"]
