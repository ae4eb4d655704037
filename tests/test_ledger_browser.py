"""Chromium: keyboard-only editing without a reload, and two people editing the same cell."""
import pytest
from playwright.sync_api import expect

from tests.ledger_factories import make_plan, rows_of
from webapp.extensions import db
from webapp.models import LedgerRow

from .conftest import browser_login


@pytest.fixture
def ledger_rows(app, org):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=2)
    return rows_of(ids, org.units["faculty1"])


def open_ledger(page, live_server, org, username="staff1"):
    browser_login(page, live_server, username)
    page.goto(f"{live_server}/units/{org.units['faculty1']}/ledger")
    page.evaluate("window.__sameDocument = 'still here'")


def stored(app, row_id):
    with app.app_context():
        row = db.session.get(LedgerRow, row_id)
        values = {"lead": row.lead, "members": row.members, "progress": row.progress, "version": row.version}
        db.session.remove()
        return values


def test_keyboard_only_editing_saves_in_place(app, live_server, page, org, ledger_rows):
    row = f"#row-{ledger_rows[0]}"
    open_ledger(page, live_server, org)
    page.focus(f'{row} td[data-field="lead"]')
    page.keyboard.press("Enter")
    lead_input = page.locator(f'{row} td.editing input[name="lead"]')
    expect(lead_input).to_be_focused()
    page.keyboard.type("王书记")
    page.keyboard.press("Tab")  # saves the lead and opens the members cell
    members_input = page.locator(f'{row} td.editing input[name="members"]')
    expect(members_input).to_be_focused()
    expect(page.locator(f'{row} td[data-field="lead"]')).to_have_text("王书记")
    page.keyboard.type("不会保存")
    page.keyboard.press("Escape")  # cancels the members edit
    members_cell = page.locator(f'{row} td.editable[data-field="members"]')
    expect(members_cell).to_be_focused()
    expect(members_cell).to_have_text("")
    # Enter on a textarea cell, Shift+Enter for a new line, Enter to save.
    page.focus(f'{row} td[data-field="progress"]')
    page.keyboard.press("Enter")
    expect(page.locator(f'{row} td.editing textarea[name="progress"]')).to_be_focused()
    page.keyboard.type("第一行")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("第二行")
    page.keyboard.press("Enter")
    expect(page.locator(f'{row} td.editable[data-field="progress"]')).to_be_focused()
    assert page.evaluate("window.__sameDocument") == "still here", "the page was reloaded"
    assert stored(app, ledger_rows[0]) == {"lead": "王书记", "members": "", "progress": "第一行\n第二行", "version": 3}
    assert page.get_attribute(row, "data-version") == "3"
    assert not page.js_errors, page.js_errors


def test_second_editor_sees_the_conflict_and_applies_their_text(app, live_server, browser, page, org, ledger_rows):
    row = f"#row-{ledger_rows[1]}"
    open_ledger(page, live_server, org)
    other_context = browser.new_context(locale="zh-CN")
    other = other_context.new_page()
    other_errors = []
    other.on("pageerror", lambda error: other_errors.append(str(error)))
    try:
        open_ledger(other, live_server, org, "admin")
        # Both open the same cell; the first person saves first.
        other.click(f'{row} td[data-field="progress"]')
        expect(other.locator(f'{row} td.editing textarea')).to_be_focused()
        page.click(f'{row} td[data-field="progress"]')
        page.locator(f'{row} td.editing textarea').fill("李老师先保存的内容")
        page.keyboard.press("Enter")
        expect(page.locator(f'{row} td[data-field="progress"]')).to_have_text("李老师先保存的内容")
        # The second person's save is based on the old version: conflict panel, their text kept.
        other.locator(f'{row} td.editing textarea').fill("管理员的补充")
        other.keyboard.press("Enter")
        panel = other.locator(f"{row} .conflict-panel")
        expect(panel).to_contain_text("李老师先保存的内容")
        expect(other.locator(f'{row} td.editing textarea[name="progress"]')).to_have_value("管理员的补充")
        assert stored(app, ledger_rows[1])["progress"] == "李老师先保存的内容"
        other.click(f"{row} button[data-apply-mine]")
        expect(other.locator(f'{row} td[data-field="progress"]')).to_have_text("管理员的补充")
        assert stored(app, ledger_rows[1]) == {"lead": "", "members": "", "progress": "管理员的补充", "version": 3}
        assert other.evaluate("window.__sameDocument") == "still here"
        assert not other_errors, other_errors
    finally:
        other_context.close()
    assert not page.js_errors, page.js_errors
