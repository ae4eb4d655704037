"""In a browser: a monitor submits a post with its material from a phone; the branch staff review it at a desk."""
from __future__ import annotations

from datetime import timedelta

import pytest

from webapp.prereview import clock

from .conftest import browser_login, open_page
from .prereview_factories import PDF, kinds

PHONE = {"width": 375, "height": 740}
pytestmark = pytest.mark.browser


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_submit_on_a_phone_then_review_on_a_desktop(app, org, browser, live_server):
    with app.app_context():
        kinds(org)
        held_on = (clock.local_today() + timedelta(days=14)).isoformat()

    with open_page(browser, viewport=PHONE, is_mobile=True, has_touch=True) as monitor:
        browser_login(monitor, live_server, "monitor1")
        monitor.goto(f"{live_server}/prereview/")
        assert fits_the_screen(monitor)
        monitor.click("#new-prereview")
        monitor.wait_for_url("**/prereview/new")
        assert fits_the_screen(monitor)
        monitor.select_option("select[name=kind]", label="新媒体推送")
        monitor.fill("input[name=title]", "班级公众号推送：诚信考试倡议书")
        monitor.fill("input[name=held_on]", held_on)
        monitor.fill("input[name=channel]", "2023级计算机1班公众号")
        monitor.fill("input[name=speaker]", "班级宣传委员")
        monitor.fill("textarea[name=summary]", "倡议全班同学诚信应考。")
        monitor.set_input_files("input[name=files]", files=[
            {"name": "推送稿.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        assert monitor.locator("#file-preview li").count() == 1
        monitor.click("button[name=action][value=submit]")
        monitor.wait_for_url("**/prereview/*")
        assert monitor.inner_text("#item-status") == "审查中"
        assert "初审" in monitor.inner_text("#item-stage")
        assert monitor.locator("ul.attachments a", has_text="推送稿.pdf").count() == 1
        assert fits_the_screen(monitor)
        assert monitor.js_errors == []

    with open_page(browser) as staff:
        browser_login(staff, live_server, "staff2")
        assert "班级公众号推送：诚信考试倡议书" in staff.inner_text("#prereview-home")
        staff.click("#prereview-home a.button")
        staff.locator("#review-queue a", has_text="班级公众号推送").click()
        staff.wait_for_selector("#review")
        with staff.expect_download() as download:
            staff.click("ul.attachments a")
        assert download.value.suggested_filename == "推送稿.pdf"
        staff.check("input[name=decision][value=return]")
        staff.click("#decide-button")
        staff.wait_for_load_state("networkidle")
        assert staff.locator("#review [data-error-for=comment]").count() == 1  # a return needs a comment
        staff.check("input[name=decision][value=pass]")
        staff.fill("textarea[name=comment]", "内容积极向上，同意。")
        staff.click("#decide-button")
        staff.wait_for_load_state("networkidle")
        assert "复审" in staff.inner_text("#item-stage")
        assert staff.locator("#review").count() == 0  # 复审 is the general branch's, not theirs
        assert "内容积极向上" in staff.inner_text("#history")
        # The refused decision (422) is logged by Chromium as a failed resource; nothing else may be.
        assert [error for error in staff.js_errors if "422" not in error] == []
