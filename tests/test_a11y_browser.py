"""axe-core on every page of every role, at desktop and phone size (states between pages, such as the
open editor, 422, 409, the history panel and the plan preview: test_a11y_ledger_browser.py).

One Chromium, one login per role: each role's pages are found by following the links of its pages
(one page per URL shape, so 21 activity detail pages cost one visit), then axe-core runs on each at
1280 px and at 375 px. Failures are gathered for the whole sweep so one run lists everything.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from webapp.demo import DEMO_PASSWORD, seed_demo
from webapp.extensions import db

from .a11y import assert_accessible, resize, violations
from .conftest import browser_login, open_page

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
ROLES = ["admin", "secretary", "staff2", "monitor1"]  # staff2: a student branch, with classes to review
# Downloads, the log-out form's target and static files are not pages.
NOT_PAGES = re.compile(r"\.xlsx$|^/files/|^/activities/files/|^/static/|^/logout|^/language")


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo(lambda *_: None)
        db.session.remove()


# Query arguments that make another kind of page (the review tab, the print view); the rest only filter.
PAGE_KINDS = re.compile(r"(?:^|&)((?:tab|print)=[^&]*)")


def url_shape(url: str) -> str:
    """/activities/17 and /activities/18 are one page; so are /overview?year=2026 and /overview."""
    parts = urlsplit(url)
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(PAGE_KINDS.findall(parts.query))


def page_links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        href = href.split("#")[0]
        if href.startswith(base) and not NOT_PAGES.search(urlsplit(href).path):
            found.append(href)
    return found


def sweep(page, base: str, start: str, problems: list[str]) -> list[str]:
    """Visit every page shape reachable from `start`; axe at desktop and phone size. Returns the shapes seen."""
    seen, queue = set(), [start]
    while queue:
        url = queue.pop(0)
        shape = url_shape(url)
        if shape in seen:
            continue
        seen.add(shape)
        page.set_viewport_size(DESKTOP)
        response = page.goto(url)  # waits for "load"; no page fetches anything after it
        if response.status != 200:
            problems.append(f"{url}: HTTP {response.status}")
            continue
        for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
            resize(page, size)
            problems.extend(f"{url} [{size_name}] {line}" for line in violations(page))
        queue.extend(page_links(page, base))
    return sorted(seen)


@pytest.mark.parametrize("username", ROLES)
def test_every_page_of_every_role_passes_axe(demo, browser, live_server, username):
    problems: list[str] = []
    with open_page(browser) as page:
        browser_login(page, live_server, username, DEMO_PASSWORD)
        assert urlsplit(page.url).path != "/login", "the demo login failed"
        shapes = sweep(page, live_server, f"{live_server}/", problems)
        assert not page.js_errors, page.js_errors
    assert len(shapes) >= 3, shapes
    assert not problems, f"{username} ({len(shapes)} pages):\n" + "\n".join(problems)


def test_login_page_passes_axe(demo, browser, live_server):
    with open_page(browser) as page:
        page.goto(f"{live_server}/login")
        assert_accessible(page, "login (desktop)")
        resize(page, PHONE)
        assert_accessible(page, "login (phone)")
        page.fill("input[name=username]", "staff1")
        page.fill("input[name=password]", "wrong-password")
        page.click("main form button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert_accessible(page, "login with an error (phone)")
        page.click("button[name=lang][value=en]")
        page.wait_for_load_state()
        assert page.get_attribute("html", "lang") == "en"
        assert page.get_attribute("button[name=lang][value=zh_Hans_CN]", "lang") == "zh-Hans"
        assert_accessible(page, "login in English (phone)")
