"""A period that runs into the next year (the autumn semester) has one state on every page: the grid, the
Excel compliance export, the dashboard's figures and the unit's page agree, with a frozen clock."""
import io
from datetime import date

import lxml.html
import openpyxl
import pytest

from tests.activities_factories import make_plan
from webapp.activities import compliance as comp
from webapp.extensions import db

YEAR = 2026


@pytest.fixture
def semester_plan(app, org):
    with app.app_context():
        return make_plan(org.units["general"], YEAR, [{"kind": "党课", "cadence": "semester", "level": "class"}])[0]


@pytest.fixture
def freeze():
    """freeze(day): the clock reads noon of `day` in the college's zone until the test ends."""
    from contextlib import ExitStack
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from webapp.clock import frozen_clock
    with ExitStack() as stack:
        yield lambda day: stack.enter_context(
            frozen_clock(datetime.combine(day, time(12), ZoneInfo("Asia/Shanghai"))))


def autumn_cells(app, org, day):
    with app.app_context():
        return [c for c in comp.compliance(YEAR, day, [org.units["class1"]]) if c.period.endswith("秋季学期")]


def test_the_unit_page_shows_last_years_autumn_semester_while_it_runs(app, org, client, login_as, freeze,
                                                                     semester_plan):
    day = date(YEAR + 1, 1, 15)
    freeze(day)
    assert [c.state for c in autumn_cells(app, org, day)] == ["in_progress"]
    login_as("monitor1")
    page = lxml.html.fromstring(client.get(f"/units/{org.units['class1']}/obligations").get_data(as_text=True))
    item = page.xpath(f"//li[@data-requirement='{semester_plan}']")
    assert item and item[0].get("data-state") == "in_progress"
    assert "秋季学期" in item[0].xpath("string(.//p[contains(@class, 'current')])")


def test_after_it_ended_the_export_says_missing_as_the_grid_does(app, org, client, login_as, freeze,
                                                                 semester_plan):
    day = date(YEAR + 1, 2, 15)
    freeze(day)
    assert [c.state for c in autumn_cells(app, org, day)] == ["missing"]
    login_as("secretary")
    response = client.get(f"/reports/compliance.xlsx?year={YEAR}")
    assert response.status_code == 200
    detail = openpyxl.load_workbook(io.BytesIO(response.data))["明细"]
    states = {row[3]: row[8] for row in detail.iter_rows(min_row=3, values_only=True)
              if row[0] == "2023级计算机1班"}
    autumn = [state for period, state in states.items() if "秋季学期" in str(period)]
    assert autumn == ["缺失"], states
    with app.test_request_context("/"):
        from webapp.reports import queries
        from webapp.models import Unit
        window = queries.report_window(YEAR, "", day)
        figures = queries.obligation_figures_by_unit([db.session.get(Unit, org.units["class1"])], window)
        assert figures[org.units["class1"]].ytd_met == 0 and figures[org.units["class1"]].ytd_required == 2
