"""Keyboard and screen-reader use of the ledger, and the ledger as cards on a phone.

The keyboard walk logs in, edits two cells, opens and closes the history and logs out with keys only;
axe-core checks the states between pages (editor, 422, 409, history panel, plan preview); a phone-sized
browser edits the card layout by tap and by keyboard without sideways scrolling.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from webapp.demo import DEMO_PASSWORD, seed_demo
from webapp.extensions import db
from webapp.ledger.services import save_row
from webapp.models import LedgerRow, Unit, User

from .a11y import assert_accessible, resize
from .conftest import browser_login, open_page
from .plans_factories import SMALL_PLAN

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo(lambda *_: None)
        db.session.remove()


def unit_id(app, name: str) -> int:
    with app.app_context():
        return db.session.execute(select(Unit.id).where(Unit.name == name)).scalar_one()


def first_row(app, unit: int) -> int:
    with app.app_context():
        return db.session.execute(select(LedgerRow.id).where(LedgerRow.unit_id == unit).order_by(LedgerRow.id)).scalars().first()


def stored(app, row_id: int) -> LedgerRow:
    with app.app_context():
        row = db.session.get(LedgerRow, row_id)
        db.session.expunge(row)
        return row


def real_errors(page) -> list[str]:
    """Script errors; the browser's own log line for an expected 409/422 answer is not one."""
    return [e for e in page.js_errors if not ("Failed to load resource" in e and ("409" in e or "422" in e))]


def focused(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)


def tab_to(page, selector: str, key: str = "Tab", limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until the focus is on `selector`; fails if it never gets there."""
    for _ in range(limit):
        if focused(page, selector):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {selector}; focus is on "
                         + page.evaluate("document.activeElement && document.activeElement.outerHTML.slice(0, 200)"))


def test_keyboard_walk_log_in_edit_two_cells_history_log_out(demo, app, browser, live_server):
    faculty = unit_id(app, "教工第一党支部")
    row_id = first_row(app, faculty)
    row = f"#row-{row_id}"
    with open_page(browser) as page:
        page.goto(f"{live_server}/login")
        assert page.get_attribute("html", "lang") == "zh-Hans"
        assert page.get_attribute("button[name=lang][value=en]", "lang") == "en"
        tab_to(page, "input[name=username]")
        page.keyboard.type("staff1")
        page.keyboard.press("Tab")
        page.keyboard.type(DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server}/")
        # The skip link is the first stop and lands on the main content.
        page.keyboard.press("Tab")
        assert focused(page, "a.skip-link")
        page.keyboard.press("Enter")
        assert focused(page, "main#main")
        page.keyboard.press("Shift+Tab")
        tab_to(page, "nav.mainnav a[href$='/units/%d/ledger']" % faculty)
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/units/{faculty}/ledger")
        # Two cells: the lead (Tab saves it and opens members), then members (Enter saves).
        tab_to(page, f'{row} td.editable[data-field="lead"]')
        assert page.get_attribute(f'{row} td[data-field="lead"]', "aria-describedby") == "edit-hint"
        page.keyboard.press("Enter")
        expect(page.locator(f'{row} td.editing input[name="lead"]')).to_be_focused()
        page.keyboard.press("Control+A")
        page.keyboard.type("周晓明")
        page.keyboard.press("Tab")
        expect(page.locator(f'{row} td.editing input[name="members"]')).to_be_focused()
        expect(page.locator("#announcer")).to_have_text("已保存：负责人")
        page.keyboard.press("Control+A")
        page.keyboard.type("吴老师、郑老师")
        page.keyboard.press("Enter")
        expect(page.locator(f'{row} td.editable[data-field="members"]')).to_be_focused()
        expect(page.locator("#announcer")).to_have_text("已保存：成员")
        saved = stored(app, row_id)
        assert (saved.lead, saved.members) == ("周晓明", "吴老师、郑老师")
        # The history: a dialog that takes focus, keeps Tab inside, closes with Esc, gives focus back.
        link = f"#h{row_id}"
        tab_to(page, link, key="Shift+Tab")
        title = page.inner_text(f"{row} th.task-title")
        expect(page.locator(link)).to_have_accessible_name(re.compile("详情.*" + re.escape(title)))  # says which task
        page.keyboard.press("Enter")
        panel = page.locator("#ledger-panel[role=dialog]")
        expect(panel).to_be_visible()
        expect(panel.locator("h2")).to_be_focused()
        for _ in range(6):
            page.keyboard.press("Tab")
            assert page.evaluate("document.getElementById('ledger-panel').contains(document.activeElement) "
                                 "|| document.activeElement === document.body"), "Tab left the history panel"
        tab_to(page, "#ledger-panel [data-close-panel]")
        page.keyboard.press("Escape")
        expect(page.locator("#ledger-panel")).to_be_empty()
        expect(page.locator(link)).to_be_focused()
        assert page.evaluate("document.querySelector('main > .page-head').inert") is False
        # Log out: back up through the page to the header's button.
        tab_to(page, ".account button[type=submit]", key="Shift+Tab", limit=200)
        page.keyboard.press("Enter")
        page.wait_for_url("**/login**")
        assert not page.js_errors, page.js_errors


def open_cell(page, row: str, field: str):
    page.focus(f'{row} td[data-field="{field}"]')
    page.keyboard.press("Enter")
    expect(page.locator(f"{row} td.editing")).to_be_visible()


def test_editor_states_pass_axe_and_errors_never_trap_tab(demo, app, browser, live_server):
    faculty = unit_id(app, "教工第一党支部")
    row_id = first_row(app, faculty)
    row = f"#row-{row_id}"
    with open_page(browser) as page:
        browser_login(page, live_server, "staff1", DEMO_PASSWORD)
        page.goto(f"{live_server}/units/{faculty}/ledger")
        # Shift+Tab from the completion date returns to the status box, not to the previous cell.
        open_cell(page, row, "status")
        assert_accessible(page, "the status editor")
        page.focus(f"{row} td.editing input[name=completed_on]")
        page.keyboard.press("Shift+Tab")
        expect(page.locator(f"{row} td.editing select[name=status]")).to_be_focused()
        # A completion date in the future: 422, the date field marked and described, focus on it.
        page.select_option(f"{row} td.editing select[name=status]", "done")
        tomorrow = (date.today() + timedelta(days=400)).isoformat()  # refused whatever the time zone
        page.fill(f"{row} td.editing input[name=completed_on]", tomorrow)
        page.focus(f"{row} td.editing select[name=status]")
        page.keyboard.press("Enter")
        date_input = page.locator(f"{row} td.editing input[name=completed_on][aria-invalid=true]")
        expect(date_input).to_be_focused()
        error_id = date_input.get_attribute("aria-describedby")
        assert page.locator(f"#{error_id}").inner_text().strip()
        assert_accessible(page, "the editor with a 422 error")
        # Tab moves on to Save and Cancel, then out of the cell; the typed date stays in the editor.
        tab_to(page, f"{row} td.editing button[type=submit]", limit=5)  # a date field has a Tab stop per part
        page.keyboard.press("Tab")
        expect(page.locator(f"{row} td.editing button[data-cancel-edit]")).to_be_focused()
        page.keyboard.press("Tab")
        assert not focused(page, "td.editing *"), "Tab stayed in the editor"
        assert page.input_value(f"{row} td.editing input[name=completed_on]") == tomorrow
        # Shift+Tab comes back; Esc cancels.
        page.keyboard.press("Shift+Tab")
        expect(page.locator(f"{row} td.editing button[data-cancel-edit]")).to_be_focused()
        page.keyboard.press("Escape")
        expect(page.locator(f"{row} td.editing")).to_have_count(0)
        expect(page.locator(f'{row} td.editable[data-field="status"]')).to_be_focused()
        assert stored(app, row_id).status != "done" or stored(app, row_id).completed_on is None \
            or stored(app, row_id).completed_on.isoformat() != tomorrow

        # 409: someone else saves the progress while this editor is open; Enter in the panel applies mine.
        open_cell(page, row, "progress")
        with app.app_context():
            version = db.session.get(LedgerRow, row_id).version
            admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
            save_row(admin, row_id, version, {"progress": "总支办公室先保存的内容"})
            db.session.commit()
        page.fill(f"{row} td.editing textarea[name=progress]", "支部的推进情况")
        page.keyboard.press("Enter")
        expect(page.locator(f"{row} .conflict-panel")).to_be_visible()
        assert "总支办公室先保存的内容" in page.inner_text(f"{row} .conflict-panel")
        assert_accessible(page, "the editor with a 409 conflict")
        page.focus(f"{row} td.editing textarea[name=progress]")
        page.keyboard.press("Enter")
        expect(page.locator(f"{row} td.editing")).to_have_count(0)
        assert stored(app, row_id).progress == "支部的推进情况"

        # The history panel, open.
        page.click(f"#h{row_id}")
        expect(page.locator("#ledger-panel[role=dialog] h2")).to_be_focused()
        assert_accessible(page, "the history panel")
        page.click("#ledger-panel [data-close-panel]")
        expect(page.locator(f"#h{row_id}")).to_be_focused()
        assert not real_errors(page), page.js_errors


def test_plan_preview_and_its_editors_pass_axe(demo, browser, live_server):
    with open_page(browser) as page:
        browser_login(page, live_server, "admin", DEMO_PASSWORD)
        page.goto(f"{live_server}/plans/")
        page.click("#import-form button[type=submit]")  # nothing pasted: the form comes back with errors
        page.wait_for_load_state("networkidle")
        assert_accessible(page, "the import form with errors")
        page.fill("input[name=year]", "2025")
        page.fill("textarea[name=text]", SMALL_PLAN)
        page.click("#import-form button[type=submit]")
        page.wait_for_selector(".plan-title")
        assert_accessible(page, "the plan preview")
        page.locator("article.task").first.locator("button", has_text="编辑").first.click()
        page.wait_for_selector("textarea[name=title]")
        assert_accessible(page, "the plan preview with a task editor")
        resize(page, PHONE)
        assert_accessible(page, "the plan preview with a task editor (phone)")
        assert not real_errors(page), page.js_errors


def phone(browser):
    return open_page(browser, viewport=PHONE, is_mobile=True, has_touch=True)


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_monitor_updates_the_class_ledger_on_a_phone_by_tap_and_by_keyboard(demo, app, browser, live_server):
    class1 = unit_id(app, "2023级计算机1班")
    row_id = first_row(app, class1)
    row = f"#row-{row_id}"
    with phone(browser) as page:
        browser_login(page, live_server, "monitor1", DEMO_PASSWORD)
        # The menu is a real button that opens and closes.
        toggle = page.locator("button.nav-toggle")
        expect(toggle).to_have_attribute("aria-expanded", "false")
        assert not page.is_visible("nav.mainnav")
        toggle.tap()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        page.locator("nav.mainnav a", has_text="台账").tap()
        page.wait_for_url(f"**/units/{class1}/ledger")
        assert fits(page), "the ledger scrolls sideways on a phone"
        # A card: task, time limit, status, progress, then the rest, one under the other.
        tops = [page.locator(f"{row} {cell}").bounding_box()["y"] for cell in
                ("th.task-title", "td.deadline", 'td[data-field="status"]', 'td[data-field="progress"]',
                 'td[data-field="lead"]', 'td[data-field="remarks"]')]
        assert tops == sorted(tops) and len(set(tops)) == len(tops), tops
        for cell in ('td[data-field="progress"]', 'td[data-field="status"]'):
            box = page.locator(f"{row} {cell}").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (cell, box)
            assert box["height"] >= 44, (cell, box)  # a thumb's target
        assert_accessible(page, "the ledger as cards (phone)")
        # By tap: the progress cell, type, tap Save.
        page.locator(f'{row} td[data-field="progress"]').tap()
        textarea = page.locator(f"{row} td.editing textarea[name=progress]")
        expect(textarea).to_be_focused()
        assert fits(page)
        assert_accessible(page, "the card's editor (phone)")
        textarea.fill("已召开主题班会一次")
        page.locator(f"{row} td.editing button[type=submit]").tap()
        expect(page.locator(f'{row} td[data-field="progress"]')).to_have_text("已召开主题班会一次")
        # By keyboard: the status box, arrow to 进行中, Enter.
        page.focus(f'{row} td[data-field="status"]')
        page.keyboard.press("Enter")
        select = page.locator(f"{row} td.editing select[name=status]")
        expect(select).to_be_focused()
        select.select_option("in_progress")
        page.keyboard.press("Enter")
        expect(page.locator(f'{row} td.editable[data-field="status"]')).to_be_focused()
        saved = stored(app, row_id)
        assert (saved.progress, saved.status) == ("已召开主题班会一次", "in_progress")
        assert fits(page)
        # The history as a bottom sheet: focus in, axe-clean, closed by its button, focus back on the link.
        page.locator(f"#h{row_id}").tap()
        expect(page.locator("#ledger-panel[role=dialog] h2")).to_be_focused()
        assert_accessible(page, "the history panel (phone)")
        page.locator("#ledger-panel [data-close-panel]").tap()
        expect(page.locator(f"#h{row_id}")).to_be_focused()
        assert not page.js_errors, page.js_errors


def test_the_menu_at_200_percent_zoom_is_a_button_reached_with_tab(demo, browser, live_server):
    # 200 % zoom of a 1280 px window lays the page out at 640 CSS px.
    with open_page(browser, viewport={"width": 640, "height": 450}) as page:
        browser_login(page, live_server, "secretary", DEMO_PASSWORD)
        tab_to(page, "button.nav-toggle")
        expect(page.locator("button.nav-toggle")).to_have_attribute("aria-expanded", "false")
        page.keyboard.press("Enter")
        expect(page.locator("button.nav-toggle")).to_have_attribute("aria-expanded", "true")
        page.keyboard.press("Tab")
        assert focused(page, "nav.mainnav a"), "the first menu link is not next in the Tab order"
        page.keyboard.press("Escape")
        expect(page.locator("button.nav-toggle")).to_be_focused()
        expect(page.locator("button.nav-toggle")).to_have_attribute("aria-expanded", "false")
        assert not page.js_errors, page.js_errors


def test_a_form_with_errors_puts_focus_on_the_first_invalid_field(demo, browser, live_server):
    with phone(browser) as page:
        browser_login(page, live_server, "monitor1", DEMO_PASSWORD)
        page.goto(f"{live_server}/activities/new")
        page.fill("input[name=held_on]", "")
        page.click("button[name=action][value=submit]")
        page.wait_for_load_state("networkidle")
        first_invalid = page.locator("[aria-invalid=true]").first
        expect(first_invalid).to_be_focused()
        described = first_invalid.get_attribute("aria-describedby")
        assert page.inner_text(f"#{described}").strip()
        assert_accessible(page, "the activity form with errors (phone)")
        assert not real_errors(page), page.js_errors


def _luminance(rgb: str) -> float:
    channels = [int(part) / 255 for part in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_focus_ring_on_the_red_header_input_borders_and_reduced_motion(demo, browser, live_server):
    with open_page(browser, reduced_motion="reduce") as page:
        browser_login(page, live_server, "staff1", DEMO_PASSWORD)
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert focused(page, "a.brand")
        ring = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
        header = page.evaluate("getComputedStyle(document.querySelector('.topbar')).backgroundColor")
        assert page.evaluate("parseFloat(getComputedStyle(document.activeElement).outlineWidth)") >= 2
        assert contrast(ring, header) >= 3, (ring, header)
        page.goto(f"{live_server}/activities/new")
        for selector in ("input[name=topic]", "select[name=kind]", "textarea[name=summary]"):
            border = page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).borderTopColor")
            assert contrast(border, "rgb(255, 255, 255)") >= 3, (selector, border)
        # Who asks for no motion gets none (the saved-row flash is an animation).
        duration = page.evaluate("""() => { const p = document.createElement('p'); p.className = 'saved-flash';
            document.body.append(p); return parseFloat(getComputedStyle(p).animationDuration); }""")
        assert duration < 0.01


def test_admin_inline_editor_and_its_errors_pass_axe(demo, browser, live_server):
    with open_page(browser) as page:
        browser_login(page, live_server, "admin", DEMO_PASSWORD)
        page.goto(f"{live_server}/admin/units")
        row = page.locator("tr", has=page.locator("button.cell-edit", has_text="教工第一党支部"))
        row.get_by_role("button", name="编辑 教工第一党支部").click()  # the action names its unit
        expect(page.locator("tr.editing select[name=kind]")).to_be_focused()
        assert_accessible(page, "the unit editor")
        name = page.locator("tr.editing input[name=name]")
        name.fill("")
        page.locator("tr.editing button[type=submit]").click()
        invalid = page.locator("tr.editing input[name=name][aria-invalid=true]")
        expect(invalid).to_be_focused()
        assert page.inner_text("#" + invalid.get_attribute("aria-describedby")).strip()
        assert_accessible(page, "the unit editor with an error")
        page.keyboard.press("Escape")
        expect(page.locator("tr.editing")).to_have_count(0)
        assert not real_errors(page), page.js_errors
