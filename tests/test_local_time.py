"""Times as people read them: a clock frozen at 06:39 Beijing time (22:39 UTC the day before) must show
06:39 of the local day on every page and export; periods named as people say them; percentages half up."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import lxml.html
import openpyxl
import pytest

from tests.ledger_factories import post_row
from tests.reports_factories import YEAR, add_activity, build_college
from webapp import audit
from webapp.clock import frozen_clock, local_today, percent, percent_text, period_label, short_period_label
from webapp.extensions import db
from webapp.models import LedgerRow, Plan

# 06:39 on 2 December in Beijing is 22:39 on 1 December in UTC.
UTC_MOMENT = datetime(YEAR, 12, 1, 22, 39, tzinfo=timezone.utc)
LOCAL_DAY = f"{YEAR}-12-02"
LOCAL_TIME = f"{YEAR}-12-02 06:39"


@pytest.fixture
def college(app, org):
    with app.app_context():
        return build_college(org)


def test_local_today_is_the_beijing_date_before_eight(app_ctx):
    with frozen_clock(UTC_MOMENT):
        assert local_today() == date(YEAR, 12, 2)
    with frozen_clock(datetime(YEAR, 12, 1, 15, 59, tzinfo=timezone.utc)):  # 23:59 local
        assert local_today() == date(YEAR, 12, 1)


def test_an_edit_at_0639_shows_as_0639_everywhere(app, client, login_as, org, college, csrf):
    row_id = college.rows[(2, org.units["faculty1"])]
    login_as("staff1")
    token = csrf(path="/")
    with frozen_clock(UTC_MOMENT):
        with app.app_context():
            version = db.session.get(LedgerRow, row_id).version
        response = post_row(client, row_id, token, progress="早上六点多更新", version=str(version))
        assert response.status_code == 200
        # The row fragment: the editor's name and the local time of the save.
        assert f"12-02 06:39" in lxml.html.fromstring(response.get_data(as_text=True)).text_content()
        with app.app_context():
            assert db.session.get(LedgerRow, row_id).updated_at == UTC_MOMENT.replace(tzinfo=None)
            activity_id = add_activity(org.units["class1"], college.kind_ids["主题班会"], date(YEAR, 11, 30))
            audit.record("activity", activity_id, "create", unit_id=org.units["class1"], user_id=org.users["monitor1"])
            db.session.get(Plan, college.plan_id).published_at = UTC_MOMENT.replace(tzinfo=None)
            db.session.commit()

    history = lxml.html.fromstring(client.get(f"/ledger/rows/{row_id}/history").get_data(as_text=True))
    assert LOCAL_TIME in [t.text_content().strip() for t in history.xpath("//time")]

    login_as("secretary")
    overview = lxml.html.fromstring(client.get(f"/overview?year={YEAR}").get_data(as_text=True))
    updated = {tr.xpath("th[@data-col='unit']")[0].text_content().split()[0]:
               tr.xpath("td[@data-col='updated']")[0].text_content().strip()
               for tr in overview.xpath("//table[contains(@class,'overview-table')]/tbody/tr")}
    assert updated["教工第一党支部"] == LOCAL_DAY

    changes = lxml.html.fromstring(client.get("/ledger/changes").get_data(as_text=True))
    assert LOCAL_TIME in [t.text_content().strip() for t in changes.xpath("//time")]

    detail = lxml.html.fromstring(client.get(f"/activities/{activity_id}").get_data(as_text=True))
    assert LOCAL_TIME in [t.text_content().strip() for t in detail.xpath("//time")]

    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/units/{org.units['general']}/ledgers.xlsx").data))
    summary = {row[0]: row for row in workbook.worksheets[0].iter_rows(min_row=3, values_only=True)}
    assert summary["教工第一党支部"][-1] == LOCAL_TIME

    login_as("admin")
    plans = lxml.html.fromstring(client.get("/plans/").get_data(as_text=True))
    assert [td.text_content().strip() for td in plans.xpath("//td[contains(@class,'plan-published')]")] == [LOCAL_DAY]


def test_periods_read_as_people_say_them():
    assert period_label("2026-W49", english=False) == "2026年第49周"
    assert period_label("2026-W05", english=False) == "2026年第5周"
    assert period_label("2026-Q4", english=False) == "2026年第4季度"
    assert period_label("2026-03", english=False) == "2026年3月"
    assert period_label("2026-春季学期", english=False) == "2026年春季学期"
    assert period_label("2026-秋季学期", english=False) == "2026年秋季学期"
    assert period_label("2026", english=False) == "2026年"
    assert period_label("2026-W49", english=True) == "Week 49, 2026"
    assert period_label("2026-Q4", english=True) == "Q4 2026"
    assert period_label("2026-03", english=True) == "March 2026"
    assert period_label("2026-春季学期", english=True) == "Spring semester 2026"
    assert short_period_label("2026-W05", english=False) == "第5周"
    assert short_period_label("2026-Q1", english=False) == "第1季度"
    assert short_period_label("2026-秋季学期", english=False) == "秋季学期"


@pytest.mark.parametrize("rate, shown", [(1 / 8, 13), (3 / 8, 38), (5 / 8, 63), (0.145, 15), (0.125, 13),
                                         (2 / 3, 67), (0.0, 0), (1.0, 100), (0.005, 1), (0.004999, 0)])
def test_percentages_round_half_up(rate, shown):
    assert percent(rate) == shown
    assert percent_text(rate) == f"{shown}%"


def test_one_in_eight_is_13_percent_on_the_page_the_chart_and_in_excel(app, client, login_as, org, college):
    with app.app_context():
        # 学生第一党支部 and its classes: make exactly 1 of 8 rows done.
        rows = db.session.execute(db.select(LedgerRow).where(LedgerRow.unit_id.in_(
            [org.units["student1"], org.units["class1"], org.units["class2"]]))).scalars().all()
        assert len(rows) == 12
        for index, row in enumerate(rows):
            row.status = "done" if index == 0 else "not_started"
        for row in rows[8:]:
            db.session.delete(row)
        db.session.commit()
    login_as("secretary")
    html = client.get(f"/overview?year={YEAR}").get_data(as_text=True)
    doc = lxml.html.fromstring(html)
    rates = {tr.xpath("th[@data-col='unit']")[0].text_content().split()[0]:
             tr.xpath("td[@data-col='rate']")[0].text_content().strip()
             for tr in doc.xpath("//table[contains(@class,'overview-table')]/tbody/tr")}
    assert rates["学生第一党支部"] == "13%"
    assert "学生第一党支部: 13%" in [t.text_content() for t in doc.xpath("//svg//title")]
    # The Excel summary sheet writes its rates through the same function.
    from webapp.reports.excel import _percent
    assert _percent(1 / 8) == "13%" and _percent(None) == ""


def test_period_names_on_the_grid_the_cell_page_and_the_obligations(app, client, login_as, org):
    from tests import activities_factories as act
    with app.app_context():
        year = local_today().year
        act.make_plan(org.units["general"], year, [{"kind": "党课", "cadence": "quarter", "level": "branch"}])
    login_as("secretary")
    grid = lxml.html.fromstring(client.get(f"/activities/compliance?year={year}").get_data(as_text=True))
    heads = [th.text_content().strip() for th in grid.xpath("//table//thead//th[@scope='col']")]
    assert ["第1季度", "第2季度", "第3季度", "第4季度"] == [h for h in heads if "季度" in h]
    link = grid.xpath("//td[@data-period]/a")[0]
    assert f"{year}年第" in link.get("title")
    cell = lxml.html.fromstring(client.get(link.get("href")).get_data(as_text=True))
    assert f"{year}年第1季度" in cell.xpath("string(//h2)")
    # Excel: the detail sheet names periods the same way.
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/compliance.xlsx?year={year}").data))
    periods = {row[3] for row in workbook["明细"].iter_rows(min_row=3, values_only=True)}
    assert f"{year}年第4季度" in periods and not any("-Q" in str(p) for p in periods)
