"""Chromium: the admin edits a display name inline, keyboard only after the first click, without a reload."""
from playwright.sync_api import expect

from webapp.extensions import db

from .conftest import browser_login


def test_admin_edits_a_display_name_inline(app, org, live_server, page):
    browser_login(page, live_server, "admin")
    page.goto(f"{live_server}/admin/users")
    page.evaluate("window.__marker = 1")  # survives only if the page is never reloaded
    row = page.locator(f"#user-{org.users['monitor1']}")

    row.locator("button.cell-edit").click()
    name = row.locator("input[name=display_name]")
    expect(name).to_be_focused()
    name.fill("陈班长")
    name.press("Enter")
    expect(row.locator("button.cell-edit")).to_have_text("陈班长")
    expect(row.locator("button.cell-edit")).to_be_focused()  # focus returns to the row

    # Enter reopens the editor from the focused name, Esc cancels without saving.
    page.keyboard.press("Enter")
    expect(name).to_be_focused()
    name.fill("不要保存")
    name.press("Escape")
    expect(row.locator("button.cell-edit")).to_have_text("陈班长")
    expect(row.locator("button.cell-edit")).to_be_focused()

    assert page.evaluate("window.__marker") == 1
    assert not page.js_errors, page.js_errors
    with app.app_context():
        assert org.user("monitor1").display_name == "陈班长"
        db.session.remove()
