"""Chromium: the ledger's print view and its 打印 button, the upload limit said before sending, pages
served compressed with versioned static files, and the activity form keeping chosen photos after an error."""
import pytest
from playwright.sync_api import expect

from tests.activities_factories import ensure_standard_kinds, png_bytes
from tests.ledger_factories import make_plan, rows_of
from webapp.extensions import db

from .conftest import browser_login

pytestmark = pytest.mark.browser


@pytest.fixture
def ledger_rows(app, org):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=2)
    return rows_of(ids, org.units["faculty1"])


def test_the_print_button_prints_the_full_ledger(live_server, page, org, ledger_rows):
    page.add_init_script("window.print = function () { window.__printed = (window.__printed || 0) + 1; };")
    browser_login(page, live_server, "staff1")
    page.goto(f"{live_server}/units/{org.units['faculty1']}/ledger")
    page.get_by_role("link", name="打印").click()
    page.wait_for_url("**print=1*")
    expect(page.locator("form.ledger-filters")).to_have_count(0)
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("window.__printed") == 1
    # Printed, the page shows no buttons, menus or panel links.
    page.emulate_media(media="print")
    expect(page.locator(".head-actions")).to_be_hidden()
    expect(page.locator("table.ledger .more").first).to_be_hidden()
    assert page.js_errors == []


def test_a_file_over_the_limit_is_refused_before_sending(app, live_server, page, org, ledger_rows, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024 * 1024)
    browser_login(page, live_server, "staff1")
    page.goto(f"{live_server}/units/{org.units['faculty1']}/ledger")
    row = f"#row-{ledger_rows[0]}"
    page.click(f'{row} td[data-field="files"]')
    cell = page.locator(f"{row} td.editing")
    cell.locator("input[type=file]").set_input_files(
        files=[{"name": "bad.svg", "mimeType": "image/svg+xml", "buffer": b"<svg xmlns='http://www.w3.org/2000/svg'/>"}])
    cell.locator("button[type=submit]").click()
    expect(page.locator(f"{row} td.editing .field-error")).to_have_count(1)
    requests = []
    page.on("request", lambda request: requests.append(request.url) if "/files" in request.url else None)
    cell = page.locator(f"{row} td.editing")
    cell.locator("input[type=file]").set_input_files(
        files=[{"name": "big.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10)}])
    cell.locator("button[type=submit]").click()
    errors = page.locator(f"{row} td.editing .field-error")
    expect(errors).to_have_count(1)
    expect(errors).to_have_text("文件超过 1 MB 上限")
    assert requests == []


def test_pages_and_static_files_arrive_compressed_and_versioned(live_server, page, org):
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(f"{live_server}/login")
    html = next(r for r in responses if r.url.endswith("/login"))
    assert html.headers.get("content-encoding") == "gzip"
    css = next(r for r in responses if "/static/css/app.css?v=" in r.url)
    assert css.headers.get("content-encoding") == "gzip" and "immutable" in css.headers.get("cache-control", "")
    assert page.evaluate("getComputedStyle(document.body).margin") is not None


def test_photos_stay_chosen_after_an_error(app, live_server, page, org):
    with app.app_context():
        ensure_standard_kinds()  # as creating the tree does (no GET seeds them)
        db.session.commit()
    browser_login(page, live_server, "monitor1")
    page.goto(f"{live_server}/activities/new")
    page.fill("input[name=topic]", "")
    page.set_input_files("input[name=files]", files=[
        {"name": "现场.png", "mimeType": "image/png", "buffer": png_bytes(8, 8)}])
    page.click("button[name=action][value=submit]")
    expect(page.locator("fieldset.pending-files")).to_contain_text("现场.png")
    page.fill("input[name=topic]", "诚信考试主题班会")
    page.click("button[name=action][value=submit]")
    page.wait_for_url("**/activities/*")
    expect(page.locator("ul.attachments img")).to_have_count(1)
