"""What screen readers are told, read off the HTML: names, states, descriptions and the page's landmarks.

The browser tests (test_a11y_*_browser.py) run axe-core and the keyboard; these check, fast and without a
browser, the things axe cannot judge: that a name says *what* a button acts on, that a sorted column says
so, that a chart's figures are there as text.
"""
from __future__ import annotations

from datetime import date

import lxml.html
import pytest
from sqlalchemy import select

from webapp.auth.sessions import SESSION_KEY, start_session
from webapp.demo import seed_demo
from webapp.extensions import db
from webapp.models import LedgerRow, Unit, User

from .conftest import csrf_token_from


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo(lambda *_: None)
        db.session.remove()


def log_in(app, client, username: str):
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        session_id, token = user.get_id(), start_session(user)  # a live server-side session, as login makes
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
        session[SESSION_KEY] = token


def page(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return lxml.html.fromstring(response.get_data(as_text=True))


def text(el) -> str:
    """An element's text as a screen reader reads it (visually hidden parts included), spaces squeezed."""
    return " ".join(el.text_content().split())


def unit_id(app, name: str) -> int:
    with app.app_context():
        return db.session.execute(select(Unit.id).where(Unit.name == name)).scalar_one()


def test_every_page_has_language_skip_link_menu_button_and_a_polite_announcer(app, client, demo):
    log_in(app, client, "staff1")
    doc = page(client, "/")
    assert doc.get("lang") == "zh-Hans"
    body_links = doc.xpath("//body//a | //body//button")
    assert body_links[0].get("class") == "skip-link" and body_links[0].get("href") == "#main"
    assert doc.xpath("//main[@id='main']")
    toggle = doc.xpath("//button[contains(@class,'nav-toggle')]")[0]
    assert toggle.get("aria-expanded") == "false" and toggle.get("aria-controls") == "mainnav"
    assert doc.xpath("//nav[@id='mainnav']")
    # The brand and the ledger link are not both called 台账.
    brand = doc.xpath("//a[contains(@class,'brand')]")[0]
    nav_names = [text(a) for a in doc.xpath("//nav[@id='mainnav']//a")]
    assert "台账" in nav_names and brand.get("aria-label") not in nav_names and "台账" in brand.get("aria-label")
    assert doc.xpath("//button[@name='lang'][@value='en']")[0].get("lang") == "en"
    announcer = doc.xpath("//*[@id='announcer']")[0]
    assert (announcer.get("role"), announcer.get("aria-live")) == ("status", "polite")


def test_ledger_cells_say_they_are_editable_and_row_links_say_which_task(app, client, demo):
    log_in(app, client, "staff1")
    faculty = unit_id(app, "教工第一党支部")
    doc = page(client, f"/units/{faculty}/ledger")
    hint = doc.xpath("//*[@id='edit-hint']")[0]
    assert "编辑" in text(hint)
    rows = doc.xpath("//tr[starts-with(@id,'row-')]")
    assert rows
    for row in rows:
        editable = row.xpath("./td[contains(@class,'editable')]")
        assert editable and all(td.get("aria-describedby") == "edit-hint" and td.get("data-label") for td in editable)
        link = row.xpath(".//a[contains(@class,'more')]")[0]
        parts = link.get("aria-labelledby").split()
        assert parts[0] == link.get("id")
        assert text(doc.xpath(f"//*[@id='{parts[1]}']")[0]) == text(row.xpath("./th[@scope='row']")[0])


def test_a_refused_edit_marks_the_field_and_ties_the_message_to_it(app, client, demo):
    log_in(app, client, "staff1")
    faculty = unit_id(app, "教工第一党支部")
    with app.app_context():
        row = db.session.execute(select(LedgerRow).where(LedgerRow.unit_id == faculty)).scalars().first()
        row_id, version = row.id, row.version
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post(f"/ledger/rows/{row_id}", data={"lead": "名" * 201, "version": str(version)},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 422
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    field = doc.xpath("//input[@name='lead']")[0]
    assert field.get("aria-invalid") == "true"
    message = doc.xpath(f"//*[@id='{field.get('aria-describedby')}']")[0]
    assert message.get("role") == "alert" and text(message)
    # Save and Cancel say which cell they act on.
    assert [text(b) for b in doc.xpath("//td[contains(@class,'editing')]//button")] == ["保存 负责人", "取消 负责人"]


def test_overview_sort_charts_and_names(app, client, demo):
    log_in(app, client, "secretary")
    doc = page(client, "/overview?sort=rate&dir=asc")
    sorted_headers = doc.xpath("//table[contains(@class,'overview-table')]//th[@aria-sort]")
    assert [th.get("aria-sort") for th in sorted_headers] == ["ascending"]
    assert text(sorted_headers[0]).startswith("完成率")
    doc = page(client, "/overview?sort=rate&dir=desc")
    assert [th.get("aria-sort") for th in doc.xpath("//th[@aria-sort]")] == ["descending"]
    # Both charts point at a table of their figures.
    for chart_id in ("bar-figures", "heat-figures"):
        svg = doc.xpath(f"//svg[@aria-describedby='{chart_id}']")
        assert svg, chart_id
        table = doc.xpath(f"//table[@id='{chart_id}']")[0]
        assert len(table.xpath(".//tr")) == 1 + len(doc.xpath("//table[contains(@class,'overview-table')]/tbody/tr"))
    bar_rows = doc.xpath("//table[@id='bar-figures']//tr[th[@scope='row']]")
    assert all(text(r.xpath("./td")[0]).endswith("%") or text(r.xpath("./td")[0]) == "—" for r in bar_rows)
    # Heat squares that are owed carry their number, not only a colour.
    numbers = doc.xpath("//svg//*[local-name()='text'][contains(@class,'heat-number')]")
    assert numbers and all(n.text.strip().isdigit() for n in numbers)
    # Row links name the unit they lead to.
    ledger_links = [text(a) for a in doc.xpath("//span[contains(@class,'row-links')]/a[1]")]
    assert ledger_links and all(name.startswith("台账 ") and len(name) > 3 for name in ledger_links)
    assert len(set(ledger_links)) == len(ledger_links)


def test_compliance_grid_links_say_the_state(app, client, demo):
    log_in(app, client, "secretary")
    doc = page(client, f"/activities/compliance?year={date.today().year}")
    cells = doc.xpath("//td[contains(@class,'cell')][@data-state]")
    assert cells
    labels = {"met": "已完成", "missing": "缺失", "in_progress": "进行中", "upcoming": "未开始"}
    for cell in cells:
        state_word, figures = text(cell.xpath("./a")[0]).rsplit(" ", 1)
        assert state_word == labels[cell.get("data-state")], (state_word, cell.get("data-state"))
        done, required = figures.split("/")
        assert done.isdigit() and required.isdigit()
    assert {cell.get("data-state") for cell in cells} >= {"met", "missing"}


def test_admin_buttons_name_the_unit_or_user(app, client, demo):
    log_in(app, client, "admin")
    doc = page(client, "/admin/units")
    edits = [text(b) for b in doc.xpath("//td[contains(@class,'actions')]//button[starts-with(normalize-space(.),'编辑')]")]
    assert len(edits) > 5 and len(set(edits)) == len(edits), edits
    assert "编辑 教工第一党支部" in edits
    doc = page(client, "/admin/users")
    edits = [text(b) for b in doc.xpath("//td[contains(@class,'actions')]//button[starts-with(normalize-space(.),'编辑')]")]
    assert len(set(edits)) == len(edits) > 3, edits


def test_activity_form_errors_mark_fields_and_describe_them(app, client, demo):
    log_in(app, client, "monitor1")
    token = csrf_token_from(client.get("/activities/new").get_data(as_text=True))
    response = client.post("/activities/new", data={"csrf_token": token, "topic": "", "held_on": "", "action": "submit"})
    assert response.status_code in (200, 422)
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    invalid = doc.xpath("//*[@aria-invalid='true']")
    assert invalid
    for field in invalid:
        message = doc.xpath(f"//*[@id='{field.get('aria-describedby')}']")
        assert message and text(message[0]), field.get("name")
