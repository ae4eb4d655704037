"""The overview in a real browser: filters and sorting swap the table in place under the CSP, and the URL follows."""
from playwright.sync_api import expect

from tests.conftest import browser_login
from tests.reports_factories import YEAR, build_college
from webapp.extensions import db


def assigned_cell(page, unit_name: str) -> str:
    row = page.locator("table.overview-table tbody tr", has_text=unit_name)
    return row.locator("td[data-col=assigned]").inner_text()


def test_filters_and_sorting_refresh_in_place(app, org, live_server, page):
    with app.app_context():
        build_college(org)
        db.session.remove()
    browser_login(page, live_server, "secretary")
    page.goto(f"{live_server}/overview?year={YEAR}")
    assert assigned_cell(page, "教工第一党支部") == "4"
    page.locator("h1").evaluate("node => node.dataset.marker = 'same-page'")  # survives only an in-place swap

    page.select_option("select[name=period]", "q1")
    page.wait_for_url("**period=q1**")
    expect(page.locator("select[name=period]")).to_have_value("q1")
    page.locator("table.overview-table tbody tr", has_text="教工第一党支部").locator(
        "td[data-col=assigned]", has_text="2").wait_for()

    page.locator("thead a", has_text="单位").click()
    page.wait_for_url("**sort=unit**")
    names = page.locator("table.overview-table tbody th[data-col=unit] > :first-child").all_inner_texts()
    assert names[:2] == ["学生第一党支部", "学生第二党支部"]
    assert page.locator("h1").get_attribute("data-marker") == "same-page"
    assert "period=q1" in page.url
    assert page.js_errors == []


def test_a_long_overviews_heat_map_loads_in_place_by_keyboard(app, org, live_server, page, monkeypatch):
    """A long overview (a university's colleges) shows a link where the heat map would be: Enter on it swaps the
    map in place under the CSP and puts the focus on it; the overview stays the same page."""
    from webapp.reports import charts
    monkeypatch.setattr(charts, "HEAT_MAP_INLINE_ROWS", 2)
    with app.app_context():
        build_college(org)
        db.session.remove()
    browser_login(page, live_server, "secretary")
    page.goto(f"{live_server}/overview?year={YEAR}")
    page.locator("h1").evaluate("node => node.dataset.marker = 'same-page'")
    assert page.locator("svg rect.heat").count() == 0
    link = page.locator("#heat-map a")
    link.focus()
    page.keyboard.press("Enter")
    page.locator("svg rect.heat").first.wait_for()
    assert page.locator("svg rect.heat").count() == 12 * page.locator("table.overview-table tbody tr").count()
    assert page.evaluate("document.activeElement.id") == "heat-map"
    assert page.locator("h1").get_attribute("data-marker") == "same-page"
    assert page.js_errors == []
