"""The change log: every audit entry in the reader's subtree, filtered by unit, person and dates, paginated."""
from datetime import datetime

import pytest

from tests.ledger_factories import HX, parse
from webapp.extensions import db
from webapp.ledger.queries import CHANGES_PER_PAGE
from webapp.models import AuditEntry


def add_entries(app, org, specs):
    """specs: (unit key, user key, entity, field, after, UTC time)."""
    with app.app_context():
        for unit, user, entity, field, after, at in specs:
            db.session.add(AuditEntry(unit_id=org.units[unit], user_id=org.users[user], entity=entity, entity_id=1,
                                      action="update", field=field, after=after, at=at))
        db.session.commit()


def shown_values(response):
    doc = parse(response.get_data(as_text=True))
    return [td.text_content().strip() for td in doc.xpath('//table[contains(@class,"audit")]//td[contains(@class,"after")]')]


@pytest.fixture
def entries(app, org):
    add_entries(app, org, [
        ("faculty1", "staff1", "ledger_row", "progress", "教工进展", datetime(2023, 3, 1, 2, 0)),
        ("class1", "monitor1", "activity", "topic", "主题班会", datetime(2023, 3, 2, 2, 0)),
        ("general", "admin", "plan", "title", "方案标题", datetime(2023, 3, 3, 2, 0)),
        ("student2", "staff3", "ledger_row", "remarks", "学生二支部备注", datetime(2023, 3, 4, 2, 0)),
        ("foreign", "foreign_admin", "ledger_row", "progress", "外院进展", datetime(2023, 3, 5, 2, 0)),
    ])


def test_secretary_sees_every_area_in_the_subtree_most_recent_first(client, login_as, entries):
    login_as("secretary")
    response = client.get("/ledger/changes")
    assert response.status_code == 200
    assert shown_values(response) == ["学生二支部备注", "方案标题", "主题班会", "教工进展"]
    count = parse(response.get_data(as_text=True)).xpath('//section[@id="changes-results"]/p')[0].text_content()
    assert count.strip() == "共 4 条变更", "the count is scoped too"


def test_filters_by_unit_person_and_dates_live_in_the_url(client, login_as, org, entries):
    login_as("admin")
    assert shown_values(client.get(f"/ledger/changes?unit={org.units['student1']}")) == ["主题班会"]
    assert shown_values(client.get(f"/ledger/changes?user={org.users['staff1']}")) == ["教工进展"]
    # Dates are local (Asia/Shanghai): 2023-03-02 02:00 UTC is 10:00 on the 2nd there.
    assert shown_values(client.get("/ledger/changes?from=2023-03-02&to=2023-03-03")) == ["方案标题", "主题班会"]
    page = parse(client.get(f"/ledger/changes?user={org.users['staff1']}&from=2023-03-01").get_data(as_text=True))
    assert page.xpath('//select[@name="user"]/option[@selected]/@value') == [str(org.users["staff1"])]
    assert page.xpath('//input[@name="from"]/@value') == ["2023-03-01"]
    assert page.xpath('//form[@hx-push-url="true"]/@hx-get') == ["/ledger/changes"]
    fragment = client.get(f"/ledger/changes?unit={org.units['faculty1']}", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="changes-results"')


def test_a_unit_outside_the_scope_filters_to_nothing(client, login_as, org, entries):
    login_as("secretary")
    assert shown_values(client.get(f"/ledger/changes?unit={org.units['foreign']}")) == []


def test_foreign_admin_sees_only_their_college(client, login_as, entries):
    login_as("foreign_admin")
    assert shown_values(client.get("/ledger/changes")) == ["外院进展"]


@pytest.mark.parametrize("who", ["staff1", "monitor1"])
def test_staff_and_monitors_have_no_change_log(client, login_as, who):
    login_as(who)
    assert client.get("/ledger/changes").status_code == 403


def test_the_log_is_paginated(client, login_as, app, org):
    add_entries(app, org, [("faculty1", "staff1", "ledger_row", "progress", f"第{i}条", datetime(2023, 1, 1, 0, i % 60, i // 60))
                           for i in range(CHANGES_PER_PAGE + 5)])
    login_as("secretary")
    first = client.get("/ledger/changes")
    assert len(shown_values(first)) == CHANGES_PER_PAGE
    older = parse(first.get_data(as_text=True)).xpath('//a[@rel="next"]/@href')
    assert older == ["/ledger/changes?page=2"]
    second = client.get(older[0])
    assert len(shown_values(second)) == 5
    assert set(shown_values(first)).isdisjoint(shown_values(second))
