"""On a phone: a monitor logs a theme class meeting with a photo, staff approve it, the grid turns met."""
from playwright.sync_api import expect

from webapp.clock import local_today

from .activities_factories import make_plan, png_bytes
from .conftest import browser_login, open_page

PHONE = {"width": 375, "height": 740}


def phone_page(browser):
    return open_page(browser, viewport=PHONE, is_mobile=True, has_touch=True)


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def grid_state(page, unit_id: int, period: str) -> str:
    return page.locator(f"tr[data-unit='{unit_id}'] td[data-period='{period}']").get_attribute("data-state")


def test_monitor_logs_on_a_phone_and_approval_meets_the_obligation(app, org, browser, live_server):
    with app.app_context():
        today = local_today()
        make_plan(org.units["general"], today.year, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
    month, class1 = f"{today.year}-{today.month:02d}", org.units["class1"]
    grid_url = f"{live_server}/activities/compliance?year={today.year}"

    with phone_page(browser) as monitor:
        browser_login(monitor, live_server, "monitor1")
        monitor.goto(f"{live_server}/activities/new")
        assert monitor.input_value("input[name=held_on]") == today.isoformat()
        assert fits_the_screen(monitor)
        monitor.select_option("select[name=kind]", label="主题班会")
        monitor.fill("input[name=topic]", "诚信考试主题班会")
        monitor.fill("input[name=present]", "30")
        monitor.fill("input[name=expected]", "32")
        monitor.set_input_files("input[name=files]", files=[
            {"name": "现场.png", "mimeType": "image/png", "buffer": png_bytes(8, 8)}])
        assert monitor.locator("#file-preview li").count() == 1
        monitor.click("button[name=action][value=submit]")
        monitor.wait_for_url("**/activities/*")
        assert monitor.inner_text("#activity-status") == "待审核"
        assert monitor.locator("ul.attachments img").count() == 1
        # (The page may be shown before the photo has arrived: wait for it to load, not for a time.)
        # (Polled by Playwright itself: a wait_for_function predicate would need eval, which the CSP refuses.)
        expect(monitor.locator("ul.attachments img")).to_have_js_property("complete", True)
        assert monitor.evaluate("document.querySelector('ul.attachments img').naturalWidth") == 8
        assert fits_the_screen(monitor)
        assert monitor.js_errors == []

    with phone_page(browser) as staff:
        browser_login(staff, live_server, "staff2")
        staff.goto(grid_url)
        assert grid_state(staff, class1, month) == "in_progress"
        staff.goto(f"{live_server}/activities/?tab=review")
        staff.locator("li.activity-item", has_text="诚信考试主题班会").locator("button", has_text="通过").click()
        staff.wait_for_load_state("networkidle")
        assert staff.locator("li.activity-item").count() == 0
        staff.goto(grid_url)
        assert grid_state(staff, class1, month) == "met"
        staff.click(f"tr[data-unit='{class1}'] td[data-period='{month}'] a")
        staff.wait_for_selector("#cell-detail .cell-card")
        assert "诚信考试主题班会" in staff.inner_text("#cell-detail")
        assert staff.js_errors == []
