"""Importing through the browser: upload or paste, the plan list, the preview, and who may do it."""
import io

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEntry, Plan

from .plans_factories import SAMPLE, SMALL_PLAN, by_class, html, make_draft, make_published, row_counts, texts


@pytest.fixture
def admin(client, login_as, csrf):
    login_as("admin")
    return csrf(path="/plans/")


def test_upload_creates_a_draft_and_shows_its_preview(app, client, org, admin):
    data = {"csrf_token": admin, "year": "2023", "text": "",
            "document": (io.BytesIO(SAMPLE.read_bytes()), "2023方案.txt")}
    response = client.post("/plans/", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    page = html(client.get(response.headers["Location"]))
    assert texts(by_class(page, "plan-title")) == ["高校2023年意识形态工作方案"]
    assert texts(by_class(page, "section-text")) == ["夯实基层党支部全面领导责任", "全面加强意识形态领域风险防控",
                                                     "加强各类意识形态阵地管理"]
    titles = texts(by_class(page, "task-title"))
    assert len(titles) == 8 and titles[0] == "学院制定和落实年度重点任务清单。"
    task1 = by_class(page, "task")[0]
    assert texts(by_class(task1, "task-start", ".//*")) == ["2023-01-01"]
    assert texts(by_class(task1, "task-due", ".//*")) == ["2023-03-31"]
    task2 = by_class(page, "task")[1]
    assert "每周四组织教职工政治学习" in " ".join(texts(by_class(task2, "req-text", ".//*")))
    assert "周四" in " ".join(texts(by_class(task2, "req-weekday", ".//*")))
    # Task 8 has no time limit: the reader warns, the warning is on top and the task is flagged.
    assert any("任务8" in w for w in texts(page.xpath("//section[contains(@class, 'reader-warnings')]//li")))
    flagged = [t for t in by_class(page, "task") if "needs-review" in t.get("class")]
    assert texts(by_class(flagged[-1], "task-number", ".//*")) == ["8."]
    with app.app_context():
        plan = db.session.execute(select(Plan)).scalar_one()
        assert plan.source_filename == "2023方案.txt" and plan.status == "draft"
        assert db.session.execute(select(AuditEntry).where(AuditEntry.entity == "plan")).scalar_one().action == "import"


def test_paste_creates_a_draft(app, client, org, admin):
    response = client.post("/plans/", data={"csrf_token": admin, "year": "2025", "text": SMALL_PLAN})
    assert response.status_code == 302
    with app.app_context():
        plan = db.session.execute(select(Plan)).scalar_one()
        assert (plan.year, len(plan.tasks), plan.unit_id) == (2025, 3, org.units["general"])


def test_the_list_shows_each_plan(app, client, org, admin):
    with app.app_context():
        make_draft(org)
        make_published(org)
    rows = html(client.get("/plans/")).xpath("//tr[contains(@class, 'plan-row')]")
    assert len(rows) == 2
    cells = {(texts(by_class(r, "plan-status", ".//*"))[0], texts(by_class(r, "plan-tasks", ".//*"))[0],
              texts(by_class(r, "plan-year", ".//*"))[0]) for r in rows}
    assert cells == {("草稿", "3", "2025"), ("已发布", "3", "2025")}
    published = [r for r in rows if texts(by_class(r, "plan-status", ".//*")) == ["已发布"]][0]
    assert texts(by_class(published, "plan-published", ".//*"))[0].startswith("20")


@pytest.mark.parametrize("data, message", [
    ({"year": "2023", "text": ""}, "上传文件或粘贴文本"),
    ({"year": "2023", "text": "<svg>\n<rect/>\n</svg>"}, "未找到任何任务"),
    ({"year": "1899", "text": SMALL_PLAN}, "2000"),
])
def test_unusable_input_is_refused_with_a_message(app, client, org, admin, data, message):
    response = client.post("/plans/", data={"csrf_token": admin, **data})
    assert response.status_code == 422
    page = html(response)
    assert message in " ".join(texts(page.xpath("//form[@id='import-form']")))
    assert page.xpath("//textarea[@name='text']")[0].text_content().strip() == data["text"].strip()
    with app.app_context():
        assert row_counts()["Plan"] == 0


def test_binary_upload_is_refused(app, client, org, admin):
    data = {"csrf_token": admin, "year": "2023", "document": (io.BytesIO(bytes(range(256)) * 50), "plan.docx")}
    response = client.post("/plans/", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "无法读取文件" in " ".join(texts(by_class(html(response), "error-panel")))


def test_oversized_upload_is_refused(app, client, org, admin):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    try:
        data = {"csrf_token": admin, "year": "2023", "document": (io.BytesIO(SAMPLE.read_bytes()), "plan.txt")}
        response = client.post("/plans/", data=data, content_type="multipart/form-data")
    finally:
        app.config["MAX_UPLOAD_BYTES"] = 10 * 1024 * 1024
    assert response.status_code == 422
    assert "超过" in " ".join(texts(by_class(html(response), "field-error")))


def test_post_without_csrf_token_is_refused(app, client, org, login_as):
    login_as("admin")
    response = client.post("/plans/", data={"year": "2025", "text": SMALL_PLAN})
    assert response.status_code == 400
    with app.app_context():
        plan_id = make_draft(org)
    assert client.post(f"/plans/{plan_id}/publish").status_code == 400
    with app.app_context():
        assert db.session.get(Plan, plan_id).status == "draft"


def _plan_routes(plan_id, task_id, requirement_id, section_id):
    p = f"/plans/{plan_id}"
    return [
        ("GET", "/plans/"), ("POST", "/plans/"), ("GET", p), ("GET", f"{p}/tasks/{task_id}"),
        ("GET", f"{p}/tasks/{task_id}/edit"), ("POST", f"{p}/tasks/{task_id}"),
        ("GET", f"{p}/requirements/{requirement_id}"), ("GET", f"{p}/requirements/{requirement_id}/edit"),
        ("POST", f"{p}/requirements/{requirement_id}"), ("POST", f"{p}/requirements/{requirement_id}/delete"),
        ("GET", f"{p}/tasks/{task_id}/requirements/new"), ("POST", f"{p}/tasks/{task_id}/requirements"),
        ("GET", f"{p}/sections/{section_id}"), ("GET", f"{p}/sections/{section_id}/edit"),
        ("POST", f"{p}/sections/{section_id}"), ("GET", f"{p}/tasks/{task_id}/assignments/edit"),
        ("POST", f"{p}/tasks/{task_id}/assignments"), ("POST", f"{p}/publish"), ("POST", f"{p}/reimport"),
        ("POST", f"{p}/reimport/confirm"), ("POST", f"{p}/copy"),
    ]


@pytest.fixture
def draft_ids(app, org):
    with app.app_context():
        plan = db.session.get(Plan, make_draft(org))
        task = plan.tasks[0]
        return plan.id, task.id, task.requirements[0].id, plan.sections[0].id


@pytest.mark.parametrize("role", ["secretary", "staff1", "monitor1", "foreign_staff"])
def test_non_admins_get_403_on_every_plans_route(app, client, org, login_as, csrf, draft_ids, role):
    login_as(role)
    token = csrf(path="/")
    for method, url in _plan_routes(*draft_ids):
        response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 403, (method, url)
    with app.app_context():
        assert db.session.get(Plan, draft_ids[0]).status == "draft"


def test_foreign_admin_gets_404_on_our_plan(app, client, org, login_as, csrf, draft_ids):
    login_as("foreign_admin")
    token = csrf(path="/plans/")
    for method, url in _plan_routes(*draft_ids)[2:]:
        response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 404, (method, url)
    assert html(client.get("/plans/")).xpath("//tr[contains(@class, 'plan-row')]") == []


def test_pages_use_no_inline_style_or_script(client, org, admin, draft_ids):
    body = client.get(f"/plans/{draft_ids[0]}").get_data(as_text=True)
    assert "style=" not in body and "<script>" not in body and "hx-on" not in body


def test_an_admin_below_the_issuing_unit_cannot_manage_its_plan(app, client, org, login_as, csrf, draft_ids):
    from webapp.models import Unit
    from webapp.org import add_user
    with app.app_context():
        org.users["branch_admin"] = add_user("branch_admin", "支部管理员", "admin",
                                             db.session.get(Unit, org.units["faculty1"]), "x" * 12).id
        db.session.commit()
    login_as("branch_admin")
    token = csrf(path="/plans/")
    assert client.get(f"/plans/{draft_ids[0]}").status_code == 403
    assert client.post(f"/plans/{draft_ids[0]}/publish", data={"csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.get(Plan, draft_ids[0]).status == "draft"
