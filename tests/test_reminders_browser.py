"""In a browser: the bell shows the unread count, leads to the list, and mark-as-read updates it (CSP holds)."""
import pytest
from playwright.sync_api import expect

from webapp.clock import frozen_clock
from webapp.extensions import db
from webapp.reminders import services

from .conftest import browser_login, open_page
from .test_reminders import AS_OF, NOW, build


@pytest.mark.browser
def test_bell_and_mark_as_read(app, org, browser, live_server, tmp_path):
    with app.app_context():
        build(org)
        with app.test_request_context("/"), frozen_clock(NOW):
            services.run(AS_OF)
        db.session.remove()
    with open_page(browser) as page:
        browser_login(page, live_server, "staff1")
        bell = page.locator("#reminder-bell")
        assert bell.locator(".bell-count").inner_text() == "3"
        assert "3" in bell.get_attribute("aria-label")
        bell.click()
        page.wait_for_url(f"{live_server}/reminders/")
        unread = page.locator("li.reminder.unread")
        assert unread.count() == 3
        first = unread.first
        target = first.locator("a.reminder-link").get_attribute("href")
        first.get_by_role("button", name="标为已读").click()
        expect(page.locator("li.reminder.unread")).to_have_count(2)
        expect(page.locator("#reminder-bell .bell-count")).to_have_text("2")  # reloaded on the HX-Trigger event
        page.screenshot(path="/tmp/reminders15.png", full_page=True)
        page.get_by_role("button", name="全部标为已读").click()
        expect(page.locator("li.reminder.unread")).to_have_count(0)
        expect(page.locator("#reminder-bell .bell-count")).to_have_count(0)
        assert page.locator("li.reminder").count() == 3  # read ones stay in the list
        page.goto(live_server + target)
        assert page.locator("#reminder-bell .bell-count").count() == 0
        assert page.js_errors == []
