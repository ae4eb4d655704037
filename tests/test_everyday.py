"""Small things people meet every day: the menu, page titles, the history page, the ledger's print view,
the monitor's home and kind filter, compressed and long-cached static files."""
from __future__ import annotations

import gzip
import re
from datetime import date

import lxml.html
import pytest

from webapp.clock import local_today
from webapp.extensions import db
from webapp.models import Activity

from . import activities_factories as act
from . import ledger_factories as led


def page(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    return lxml.html.fromstring(response.get_data(as_text=True))


def menu(client) -> list[str]:
    return [a.text_content().strip() for a in page(client, "/").xpath("//nav[contains(@class,'mainnav')]/a")]


@pytest.mark.parametrize("role, sees", [("admin", True), ("secretary", True), ("staff1", True), ("monitor1", False)])
def test_compliance_is_in_the_menu_of_the_roles_that_may_see_it(client, login_as, role, sees):
    login_as(role)
    assert ("完成情况" in menu(client)) is sees
    if sees:
        assert client.get("/activities/compliance").status_code == 200
    else:
        assert client.get("/activities/compliance").status_code == 403


@pytest.fixture
def ledger(app, org):
    with app.app_context():
        return led.make_plan(org.units["general"], [org.units["faculty1"], org.units["student1"]])


def test_page_titles_do_not_repeat_a_word(client, login_as, org, ledger):
    login_as("secretary")
    title = page(client, f"/units/{org.units['faculty1']}/ledger").findtext(".//title")
    assert title == "教工第一党支部 · 台账"
    for url in ("/", "/overview", "/activities/", "/ledger/changes", "/activities/compliance"):
        parts = page(client, url).findtext(".//title").split(" · ")
        assert len(parts) == len(set(parts)), (url, parts)


def test_the_history_page_has_an_h1(client, login_as, org, ledger):
    login_as("staff1")
    row_id = led.rows_of(ledger, org.units["faculty1"])[0]
    headings = page(client, f"/ledger/rows/{row_id}/history").xpath("//h1")
    assert len(headings) == 1 and "教工第一党支部" in headings[0].text_content()


def test_the_print_view_shows_full_details_without_selector_or_filters(client, login_as, org, ledger):
    login_as("secretary")
    url = f"/units/{org.units['faculty1']}/ledger"
    screen = page(client, url)
    # The screen view: the selector and filters, bodies shortened, a 打印 link to the print view.
    assert screen.xpath("//form[contains(@class,'unit-picker')]") and screen.xpath("//form[contains(@class,'ledger-filters')]")
    first_body = screen.xpath("//td[contains(@class,'task-body')]")[0].text_content()
    assert led.LONG_BODY not in first_body
    link = [a for a in screen.xpath("//div[contains(@class,'head-actions')]/a") if a.text_content().strip() == "打印"]
    assert link and "print=1" in link[0].get("href")
    printed = page(client, link[0].get("href"))
    assert not printed.xpath("//form[contains(@class,'unit-picker')]")
    assert not printed.xpath("//form[contains(@class,'ledger-filters')]")
    assert led.LONG_BODY in printed.xpath("//td[contains(@class,'task-body')]")[0].text_content()
    button = printed.xpath("//button[@data-print]")
    assert [b.text_content().strip() for b in button] == ["打印"]
    # The button works through a static script; no inline script anywhere (CSP).
    assert printed.xpath("//script[contains(@src,'/static/js/print.js')]")
    assert all(script.get("src") for script in printed.xpath("//script"))
    # The print style sheet hides the selector and the filters on the screen view too.
    css = client.get("/static/css/print.css").get_data(as_text=True)
    assert ".unit-picker" in css and ".ledger-filters" in css


def test_filters_survive_into_the_print_view(client, login_as, org, ledger):
    login_as("secretary")
    screen = page(client, f"/units/{org.units['faculty1']}/ledger?status=in_progress")
    href = [a.get("href") for a in screen.xpath("//div[contains(@class,'head-actions')]/a") if a.text_content().strip() == "打印"][0]
    assert "status=in_progress" in href and "print=1" in href


def test_the_monitor_home_lists_activities_returned_for_changes(app, client, login_as, org):
    with app.app_context():
        returned = act.make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="returned",
                                     topic="需要补充照片的班会", review_comment="请补充签到表")
        act.make_activity(org.units["class1"], "主题班会", date(2026, 3, 4), status="approved", topic="已通过的班会")
        act.make_activity(org.units["class3"], "主题班会", date(2026, 3, 4), status="returned", topic="别的班")
    login_as("monitor1")
    home = page(client, "/")
    section = home.xpath("//section[contains(@class,'returned-now')]")
    assert section, "the returned activities are not on the home page"
    links = section[0].xpath(".//a")
    assert [a.text_content() for a in links] == ["需要补充照片的班会"]
    assert links[0].get("href") == f"/activities/{returned}/edit"
    assert "请补充签到表" in section[0].text_content()


def test_no_returned_section_when_nothing_is_returned(client, login_as):
    login_as("monitor1")
    assert not page(client, "/").xpath("//section[contains(@class,'returned-now')]")


def test_the_monitor_kind_filter_lists_only_what_the_class_is_asked_for(app, client, login_as, org):
    with app.app_context():
        act.make_plan(org.units["general"], local_today().year, [
            {"kind": "主题班会", "cadence": "month", "level": "class"},
            {"kind": "党课", "cadence": "quarter", "level": "branch"}])
    login_as("monitor1")
    options = page(client, "/activities/").xpath("//select[@name='kind']/option[@value!='']")
    assert [o.text_content() for o in options] == ["主题班会"]
    login_as("staff2")
    options = page(client, "/activities/").xpath("//select[@name='kind']/option[@value!='']")
    assert len(options) > 1


# ---- delivery -------------------------------------------------------------------------------------

def test_html_and_static_files_are_compressed_when_the_client_accepts_it(client, login_as):
    login_as("secretary")
    plain = client.get("/")
    assert "Content-Encoding" not in plain.headers
    packed = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    html = gzip.decompress(packed.data).decode()
    assert html.startswith("<!doctype html>") and '<main id="main"' in html
    assert len(packed.data) < len(plain.data) / 2
    css = client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(css.data) == client.get("/static/css/app.css").data


def test_static_files_have_versioned_urls_and_long_cache_lifetimes(client, login_as):
    login_as("secretary")
    html = client.get("/").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert urls and all(re.search(r"\?v=[0-9a-f]{12}$", url) for url in urls), urls
    response = client.get(urls[0])
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"] and "immutable" in response.headers["Cache-Control"]
    # A stale version (or none) is not cached for long: the browser revalidates.
    stale = client.get(urls[0].split("?")[0] + "?v=000000000000")
    assert "max-age=31536000" not in stale.headers.get("Cache-Control", "")
