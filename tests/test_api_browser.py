"""Chromium: the API reference page renders from the vendored Swagger UI under the site's CSP, and "Try it out"
reaches the API with the browser's login."""
import pytest
from playwright.sync_api import expect

from .conftest import browser_login

pytestmark = pytest.mark.browser


def test_reference_page_renders_under_the_csp_and_calls_the_api(app, live_server, page, org):
    browser_login(page, live_server, "staff1")
    outside = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(live_server) else None)
    page.goto(f"{live_server}/api/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/ledger-rows/{row_id}").first).to_be_visible()
    page.locator("#operations-account-me .opblock-summary").click()
    page.locator("#operations-account-me button.try-out__btn").click()
    page.locator("#operations-account-me button.execute").click()
    expect(page.locator("#operations-account-me .live-responses-table tbody td.response-col_status").first).to_have_text("200")
    expect(page.locator("#operations-account-me .live-responses-table")).to_contain_text("staff1")
    assert outside == [], f"requests left the site: {outside}"
    assert page.js_errors == [], page.js_errors  # CSP violations are console errors
