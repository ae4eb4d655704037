"""In a real browser: the admin pastes a plan, checks the preview, edits a title inline, publishes."""
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import LedgerRow, Plan

from .conftest import browser_login
from .plans_factories import SMALL_PLAN


def test_admin_pastes_edits_and_publishes(app, org, live_server, page):
    browser_login(page, live_server, "admin")
    page.goto(f"{live_server}/plans/")
    page.fill("input[name=year]", "2025")
    page.fill("textarea[name=text]", SMALL_PLAN)
    page.click("#import-form button[type=submit]")
    page.wait_for_selector(".plan-title")
    assert page.locator(".task-title").all_inner_texts() == ["开展政治学习。", "召开党政联席会议。", "管理宣传阵地。"]
    first = page.locator("article.task").first
    first.locator("button", has_text="编辑").first.click()
    title = page.locator("textarea[name=title]")
    title.fill("开展教职工政治理论学习。")
    page.locator("form.task-form button[type=submit]").click()
    page.wait_for_selector("article.task:not(.editing) .task-title >> text=开展教职工政治理论学习。")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#publish-button")
    page.wait_for_selector(".flash-success")
    assert "已发布" in page.locator(".plan-meta").inner_text()
    assert page.js_errors == []
    with app.app_context():
        plan = db.session.execute(select(Plan)).scalar_one()
        assert plan.status == "published" and plan.tasks[0].title == "开展教职工政治理论学习。"
        assert db.session.execute(select(func.count(LedgerRow.id))).scalar_one() == 9
