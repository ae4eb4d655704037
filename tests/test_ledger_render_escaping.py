"""The ledger's row renderer (webapp/ledger/render.py: f-strings and markupsafe.escape, no Jinja autoescape) escapes
every value a user can write, in the page and in the row fragment: text stays text, attributes stay closed."""
import lxml.html
import pytest

from tests.ledger_factories import HX, make_plan, rows_of
from webapp.extensions import db
from webapp.models import LedgerRow, StoredFile, Task, User

HOSTILE = '<script>window.__xss=1</script>"\'&amp;><img src=x onerror=alert(1)>'
FIELDS = ("lead", "members", "progress", "remarks")


@pytest.fixture
def hostile_row(app, org):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
        row_id = rows_of(ids, org.units["faculty1"])[0]
        row = db.session.get(LedgerRow, row_id)
        for field in FIELDS:
            setattr(row, field, f"{field}{HOSTILE}")
        row.status = 'd" onclick="a()'  # not a status the form allows (an import or a bug); 20 characters at most
        row.updated_by_id = org.users["staff1"]
        db.session.get(User, org.users["staff1"]).display_name = f"名{HOSTILE}"
        task = db.session.get(Task, row.task_id)
        task.title, task.body, task.deadline_text = f"title{HOSTILE}", f"body{HOSTILE}", f"deadline{HOSTILE}"
        db.session.add(StoredFile(unit_id=row.unit_id, ledger_row_id=row_id, filename=f'a"><svg onload=alert(1)>.pdf',
                                  content_type="application/pdf", size=3, sha256="0" * 64, data=b"abc"))
        db.session.commit()
        return row_id


def _check(html: str, row_id: int) -> None:
    row = lxml.html.fromstring(html).xpath(f'//tr[@id="row-{row_id}"]')[0]
    assert not row.xpath(".//script | .//img | .//svg | .//*[@onerror] | .//*[@onload] | .//*[@onclick]"), \
        lxml.html.tostring(row, encoding="unicode")
    for field in FIELDS:
        assert row.xpath(f'./td[@data-field="{field}"]')[0].text_content().strip().startswith(f"{field}{HOSTILE}")
    assert row.xpath("./th")[0].text_content() == f"title{HOSTILE}"
    assert row.xpath('./td[@class="deadline"]')[0].text_content() == f"deadline{HOSTILE}"
    assert f"名{HOSTILE}" in row.xpath('./td[@data-field="status"]')[0].text_content()
    badge = row.xpath('./td[@data-field="status"]/span')[0]
    assert badge.get("class") == 'badge d" onclick="a()'
    assert row.xpath('./td[@data-field="files"]/a')[0].text_content().startswith('a"><svg')


@pytest.mark.parametrize("who", ["staff1", "secretary"])
def test_the_page_and_the_fragment_escape_every_field(app, org, hostile_row, login_as, who):
    client = login_as(who)
    page = client.get(f"/units/{org.units['faculty1']}/ledger?print=1").get_data(as_text=True)
    _check(page, hostile_row)
    _check(client.get(f"/units/{org.units['faculty1']}/ledger").get_data(as_text=True), hostile_row)
    _check(client.get(f"/ledger/rows/{hostile_row}", headers=HX).get_data(as_text=True), hostile_row)
    if who == "staff1":
        editor = client.get(f"/ledger/rows/{hostile_row}/edit?field=lead", headers=HX).get_data(as_text=True)
        row = lxml.html.fromstring(editor).xpath(f'//tr[@id="row-{hostile_row}"]')[0]
        assert not row.xpath(".//script | .//img | .//svg | .//*[@onerror] | .//*[@onload]")
        assert row.xpath('.//input[@name="lead"]')[0].get("value") == f"lead{HOSTILE}"


def test_the_unit_selector_escapes_unit_names_and_indents_by_depth(app, org, hostile_row, login_as):
    """Its options are built in Python too (render.unit_options): a unit's name stays text."""
    from webapp.models import Unit
    with app.app_context():
        make_plan(org.units["general"], [org.units["class1"]], sections=1, tasks_per_section=1, year=2024)
        db.session.get(Unit, org.units["class1"]).name = f"班{HOSTILE}"
        db.session.commit()
    client = login_as("secretary")
    page = lxml.html.fromstring(client.get(f"/units/{org.units['faculty1']}/ledger").get_data(as_text=True))
    picker = page.xpath('//form[contains(@class, "unit-picker")]//select[@name="unit"]')[0]
    assert not picker.xpath(".//script | .//img | .//*[@onerror]")
    options = picker.xpath("./option")
    assert [option.get("selected") is not None for option in options] == [
        option.get("value") == str(org.units["faculty1"]) for option in options]
    names = [option.text_content() for option in options]
    assert names == ["教工第一党支部", f"　班{HOSTILE}"], names  # the class one level below the branches
