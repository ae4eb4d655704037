"""Chromium: the session ends (idle timeout, frozen clock) while a cell editor or the activity form is open;
what was typed is saved after logging in again, in place or in another tab, without leaving the page."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from webapp.clock import local_today
from webapp.auth import sessions
from webapp.extensions import db
from webapp.models import Activity, LedgerRow
from webapp.models.base import utcnow

from .activities_factories import make_plan as make_activity_plan
from .conftest import PASSWORD, browser_login
from .ledger_factories import make_plan, rows_of

pytestmark = pytest.mark.browser
TYPED = "会话结束前输入的推进情况"


@pytest.fixture
def ledger_row(app, org):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
    return rows_of(ids, org.units["faculty1"])[0]


def progress_of(app, row_id: int) -> str:
    with app.app_context():
        value = db.session.get(LedgerRow, row_id).progress
        db.session.remove()
    return value


def end_every_session_by_idling(app, monkeypatch) -> None:
    """Three hours later by the server's clock: past the 2-hour idle timeout."""
    later = utcnow() + timedelta(seconds=app.config["SESSION_IDLE_SECONDS"] + 3600)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)


def edit_progress(page, live_server, org, row_id: int):
    browser_login(page, live_server, "staff1")
    page.goto(f"{live_server}/units/{org.units['faculty1']}/ledger")
    page.evaluate("window.__sameDocument = 'still here'")
    page.focus(f'#row-{row_id} td[data-field="progress"]')
    page.keyboard.press("Enter")
    editor = page.locator(f'#row-{row_id} td.editing textarea[name="progress"]')
    expect(editor).to_be_focused()
    editor.fill(TYPED)
    return editor


def test_cell_text_is_saved_after_logging_in_again_in_place(app, live_server, page, org, ledger_row, monkeypatch):
    editor = edit_progress(page, live_server, org, ledger_row)
    end_every_session_by_idling(app, monkeypatch)
    page.locator(f"#row-{ledger_row} td.editing button[type=submit]").click()
    dialog = page.locator("dialog#relogin")
    expect(dialog).to_be_visible()
    expect(editor).to_have_value(TYPED)  # still on the page, text intact
    assert progress_of(app, ledger_row) == ""
    dialog.locator("input[name=password]").fill("wrong-password")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator("[data-relogin-error]")).to_contain_text("用户名或密码错误")
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f'#row-{ledger_row} td[data-field="progress"]')).to_have_text(TYPED)
    assert progress_of(app, ledger_row) == TYPED
    assert page.evaluate("window.__sameDocument") == "still here", "the page was left"
    # The browser logs the refused request itself; nothing else may go wrong.
    assert [e for e in page.js_errors if "status of 401" not in e] == [], page.js_errors


def test_cell_text_is_saved_after_logging_in_in_another_tab(app, live_server, page, org, ledger_row, monkeypatch):
    editor = edit_progress(page, live_server, org, ledger_row)
    ledger_url = page.url
    end_every_session_by_idling(app, monkeypatch)
    page.keyboard.press("Enter")  # Enter in the textarea saves
    dialog = page.locator("dialog#relogin")
    expect(dialog).to_be_visible()
    with page.context.expect_page() as opened:
        dialog.locator("a[target=_blank]").click()
    other = opened.value
    other.fill("input[name=username]", "staff1")
    other.fill("input[name=password]", PASSWORD)
    other.click("main form button[type=submit]")
    other.wait_for_load_state("networkidle")
    assert other.url == ledger_url  # login returns to the page it came from
    other.close()
    dialog.locator("[data-relogin-retry]").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f'#row-{ledger_row} td[data-field="progress"]')).to_have_text(TYPED)
    assert progress_of(app, ledger_row) == TYPED
    expect(editor).to_have_count(0)
    assert page.evaluate("window.__sameDocument") == "still here"


def test_activity_form_is_saved_after_logging_in_again(app, live_server, page, org, monkeypatch):
    with app.app_context():
        make_activity_plan(org.units["general"], local_today().year,
                           [{"kind": "主题班会", "cadence": "month", "level": "class"}])
    browser_login(page, live_server, "monitor1")
    page.goto(f"{live_server}/activities/new")
    page.select_option("select[name=kind]", label="主题班会")
    page.fill("input[name=topic]", "会话结束前填写的主题班会")
    page.fill("input[name=present]", "30")
    page.fill("input[name=expected]", "32")
    end_every_session_by_idling(app, monkeypatch)
    # The page's clock too: it checks the session before sending only once the session may have ended.
    page.clock.set_system_time(datetime.now(timezone.utc) + timedelta(hours=3))
    page.click("button[name=action][value=draft]")
    dialog = page.locator("dialog#relogin")
    expect(dialog).to_be_visible()
    assert page.input_value("input[name=topic]") == "会话结束前填写的主题班会"
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/activities/\d+"))
    with app.app_context():
        topics = [a.topic for a in db.session.execute(db.select(Activity)).scalars()]
        db.session.remove()
    assert "会话结束前填写的主题班会" in topics
