"""The overview: figures per unit checked against data built here, sorting, filters, drill-down, scope,
and a query count that does not grow with the data."""
from __future__ import annotations

from datetime import date

import lxml.html
import pytest
from sqlalchemy import event

from tests.reports_factories import YEAR, add_activity, assign, build_college, make_plan
from webapp.extensions import db

COLUMNS = ["assigned", "done", "in_progress", "not_started", "overdue", "rate", "period", "ytd"]


@pytest.fixture
def college(app, org):
    with app.app_context():
        return build_college(org)


def has_class(name: str) -> str:
    return f"contains(concat(' ', @class, ' '), ' {name} ')"


def table(html: str) -> dict[str, dict[str, str]]:
    """{unit name: {column: text}} from the overview table, in page order (dicts keep it)."""
    doc = lxml.html.fromstring(html)
    result = {}
    for tr in doc.xpath(f"//table[{has_class('overview-table')}]/tbody/tr"):
        name = tr.xpath("th[@data-col='unit']")[0].text_content().split()[0]
        result[name] = {td.get("data-col"): td.text_content().strip() for td in tr.xpath("td")}
    return result


def figures(row: dict[str, str]) -> list[str]:
    return [row[column] for column in COLUMNS]


def test_secretary_sees_each_branch_rolled_up(client, login_as, college):
    login_as("secretary")
    response = client.get(f"/overview?year={YEAR}")
    assert response.status_code == 200
    rows = table(response.get_data(as_text=True))
    # Branches roll up their classes; the general branch's own ledger is empty.
    assert figures(rows["教工第一党支部"]) == ["4", "1", "1", "2", "1", "25%", "—", "—"]
    assert figures(rows["学生第一党支部"]) == ["12", "6", "0", "6", "3", "50%", "0/2", "3/24"]
    assert figures(rows["学生第二党支部"]) == ["4", "3", "1", "0", "1", "75%", "0/1", "1/12"]
    assert figures(rows["计算机学院党总支"])[:6] == ["0", "0", "0", "0", "0", "—"]
    # The last edit of a faculty row (rows untouched since publishing do not count).
    assert rows["教工第一党支部"]["updated"] == f"{YEAR}-03-04"
    # Worst first: ascending completion rate, units with nothing assigned last.
    assert list(rows) == ["教工第一党支部", "学生第一党支部", "学生第二党支部", "计算机学院党总支"]


def test_overdue_and_missing_are_red_badges(client, login_as, college):
    login_as("secretary")
    doc = lxml.html.fromstring(client.get(f"/overview?year={YEAR}").get_data(as_text=True))
    row = doc.xpath("//tbody/tr")[0]
    assert row.xpath(f"td[@data-col='overdue']/span[{has_class('overdue')}]")[0].text == "1"
    student1 = [tr for tr in doc.xpath("//tbody/tr") if "学生第一党支部" in tr.text_content()][0]
    assert student1.xpath(f"td[@data-col='ytd']/span[{has_class('missing')}]")[0].text == "3/24"


def test_total_row_covers_the_subtree(client, login_as, college):
    login_as("secretary")
    doc = lxml.html.fromstring(client.get(f"/overview?year={YEAR}").get_data(as_text=True))
    total = doc.xpath("//tfoot/tr")[0]
    assert [total.xpath(f"td[@data-col='{c}']")[0].text_content().strip() for c in COLUMNS] == \
        ["20", "10", "2", "8", "5", "50%", "0/3", "4/36"]


def test_drill_down_into_a_branch_shows_its_classes(client, login_as, org, college):
    login_as("secretary")
    html = client.get(f"/overview?year={YEAR}&unit={org.units['student1']}").get_data(as_text=True)
    rows = table(html)
    assert set(rows) == {"学生第一党支部", "2023级计算机1班", "2023级计算机2班"}
    assert figures(rows["学生第一党支部"])[:6] == ["4", "2", "0", "2", "1", "50%"]
    assert figures(rows["2023级计算机1班"]) == ["4", "4", "0", "0", "0", "100%", "0/1", "3/12"]
    assert figures(rows["2023级计算机2班"]) == ["4", "0", "0", "4", "2", "0%", "0/1", "0/12"]
    assert rows["2023级计算机2班"]["updated"] == "—"
    doc = lxml.html.fromstring(html)
    assert [a.text for a in doc.xpath(f"//nav[{has_class('trail')}]/a")] == ["计算机学院党总支"]
    # The branch row on the top level links here.
    top = lxml.html.fromstring(client.get(f"/overview?year={YEAR}").get_data(as_text=True))
    links = [a.get("href") for a in top.xpath(f"//a[{has_class('drill')}]")]
    assert any(f"unit={org.units['student1']}" in link for link in links)


def test_quarter_filter_narrows_tasks_and_obligations(client, login_as, org, college):
    login_as("secretary")
    rows = table(client.get(f"/overview?year={YEAR}&period=q1&unit={org.units['student1']}").get_data(as_text=True))
    # Q1: tasks due by 31 March or undated (tasks 1 and 2); obligations of January to March.
    assert figures(rows["2023级计算机1班"]) == ["2", "2", "0", "0", "0", "100%", "3/3", "3/3"]
    assert figures(rows["2023级计算机2班"]) == ["2", "0", "0", "2", "0", "0%", "0/3", "0/3"]


def test_month_filter(client, login_as, org, college):
    login_as("secretary")
    rows = table(client.get(f"/overview?year={YEAR}&period=2&unit={org.units['student2']}").get_data(as_text=True))
    assert rows["2023级网络工程1班"]["period"] == "0/1" and rows["2023级网络工程1班"]["ytd"] == "1/2"


@pytest.mark.parametrize("sort, direction, expected", [
    ("unit", "asc", ["学生第一党支部", "学生第二党支部", "教工第一党支部", "计算机学院党总支"]),
    ("assigned", "desc", ["学生第一党支部", "教工第一党支部", "学生第二党支部", "计算机学院党总支"]),
    ("overdue", "desc", ["学生第一党支部", "教工第一党支部", "学生第二党支部", "计算机学院党总支"]),
    ("rate", "desc", ["学生第二党支部", "学生第一党支部", "教工第一党支部", "计算机学院党总支"]),
])
def test_sorting(client, login_as, college, sort, direction, expected):
    login_as("secretary")
    html = client.get(f"/overview?year={YEAR}&sort={sort}&dir={direction}").get_data(as_text=True)
    assert list(table(html)) == sorted(expected, key=expected.index)
    assert list(table(html)) == expected


def test_sort_links_keep_the_filters_and_toggle(client, login_as, org, college):
    login_as("secretary")
    doc = lxml.html.fromstring(client.get(f"/overview?year={YEAR}&period=q2&sort=rate&dir=asc").get_data(as_text=True))
    link = doc.xpath("//thead//a")[6]  # the completion column, currently ascending
    assert "sort=rate" in link.get("href") and "dir=desc" in link.get("href") and "period=q2" in link.get("href")
    assert link.get("hx-get") == link.get("href") and link.get("hx-push-url") == "true"


def test_htmx_filter_answers_the_fragment(client, login_as, college):
    login_as("secretary")
    response = client.get(f"/overview?year={YEAR}&period=q1", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html
    doc = lxml.html.fromstring(html)
    assert doc.get("id") == "overview-results"
    form = doc.xpath("//form")[0]
    assert form.get("hx-target") == "#overview-results" and form.get("hx-push-url") == "true"
    assert doc.xpath("//select[@name='period']/option[@selected]")[0].get("value") == "q1"


def test_charts_are_inline_svg_without_style_attributes(client, login_as, college):
    login_as("secretary")
    html = client.get(f"/overview?year={YEAR}").get_data(as_text=True)
    doc = lxml.html.fromstring(html)
    bars = {rect.xpath("string(title)"): rect for rect in doc.xpath(f"//svg/rect[{has_class('bar')}]")}
    widths = {title.split(":")[0]: float(rect.get("width")) for title, rect in bars.items()}
    assert widths["教工第一党支部"] == 75.0 and widths["学生第二党支部"] == 225.0  # 25% and 75% of 300
    heat = [rect for rect in doc.xpath(f"//svg/rect[{has_class('heat')}]") if rect.xpath("string(title)").startswith("学生第一党支部")]
    assert len(heat) == 12
    # January: class1 and class3 … class1 met, class2 not: 1 of 2 in the student branch.
    assert "heat-2" in heat[0].get("class") and heat[0].xpath("string(title)").endswith("1/2")
    assert "heat-0" in heat[5].get("class")
    assert "style=" not in html and "<script>" not in html


def test_staff_sees_their_own_subtree_only(client, login_as, org, college):
    login_as("staff2")
    rows = table(client.get(f"/overview?year={YEAR}").get_data(as_text=True))
    assert set(rows) == {"学生第一党支部", "2023级计算机1班", "2023级计算机2班"}
    assert client.get(f"/overview?unit={org.units['faculty1']}").status_code == 404


@pytest.mark.parametrize("user, status", [("monitor1", 403), ("admin", 200), ("foreign_admin", 200)])
def test_overview_roles(client, login_as, org, college, user, status):
    login_as(user)
    assert client.get("/overview").status_code == status


def test_foreign_admin_cannot_drill_into_our_units(client, login_as, org, college):
    login_as("foreign_admin")
    assert client.get(f"/overview?unit={org.units['student1']}").status_code == 404
    assert "学生第一党支部" not in client.get("/overview").get_data(as_text=True)


def _count_queries(app, client, url: str) -> int:
    statements = []
    with app.app_context():
        engine = db.engine

    def count(*_args):
        statements.append(1)
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_query_count_does_not_grow_with_the_data(app, client, login_as, org, college):
    login_as("secretary")
    url = f"/overview?year={YEAR}"
    small = _count_queries(app, client, url)
    with app.app_context():
        bigger = make_plan(org.units["general"], title="补充方案", extra_tasks=40)
        for key in ("faculty1", "student1", "class1", "class2", "class3", "general"):
            assign(bigger, org.units[key], ["done", "in_progress"] * 10)
        for day in range(1, 29):
            for key in ("class1", "class2", "class3"):
                add_activity(org.units[key], college.kind_ids["主题班会"], date(YEAR, 5, day))
        db.session.commit()
    large = _count_queries(app, client, url)
    assert small == large, (small, large)
    assert small <= 15
    # The larger data did reach the page.
    assert table(client.get(url).get_data(as_text=True))["教工第一党支部"]["assigned"] == "48"


def test_last_update_counts_the_newest_change_to_an_activity_of_the_year(client, login_as, org, college):
    from datetime import datetime

    from webapp.models import Activity
    with client.application.app_context():
        kind_id = college.kind_ids["主题班会"]
        changes = [(date(YEAR, 2, 1), datetime(YEAR, 5, 6, 2, 0)),  # the newest change of the year's activities
                   (date(YEAR, 4, 1), datetime(YEAR, 3, 1, 2, 0)),
                   (date(YEAR - 1, 12, 1), datetime(YEAR, 6, 1, 2, 0))]  # changed later, but last year's activity
        for held_on, updated_at in changes:
            db.session.get(Activity, add_activity(org.units["class2"], kind_id, held_on)).updated_at = updated_at
        db.session.commit()
    login_as("secretary")
    rows = table(client.get(f"/overview?year={YEAR}&unit={org.units['student1']}").get_data(as_text=True))
    assert rows["2023级计算机2班"]["updated"] == f"{YEAR}-05-06"


def test_a_long_overview_links_to_its_heat_map(client, login_as, college, monkeypatch):
    """More rows than `HEAT_MAP_INLINE_ROWS` (a university's colleges): the page carries a link, not rows × 12
    squares; the link is a page of its own without script and the same figure as an htmx fragment."""
    from webapp.reports import charts
    login_as("secretary")
    url = f"/overview?year={YEAR}&sort=unit&dir=asc"
    inline = lxml.html.fromstring(client.get(url).get_data(as_text=True))
    heat_figures = [tr.text_content() for tr in inline.xpath("//table[@id='heat-figures']//tr")]
    assert len(heat_figures) > 2
    monkeypatch.setattr(charts, "HEAT_MAP_INLINE_ROWS", 2)
    html = client.get(url).get_data(as_text=True)
    doc = lxml.html.fromstring(html)
    assert not doc.xpath(f"//svg/rect[{has_class('heat')}]") and not doc.xpath("//table[@id='heat-figures']")
    link = doc.xpath("//figure[@id='heat-map']//a")[0]
    assert link.get("href") == link.get("hx-get") and link.get("href").startswith("/overview/months?")
    assert link.get("hx-target") == "#heat-map" and link.get("hx-swap") == "outerHTML"
    assert table(html) == table(client.get(url.replace("&sort", "&x=1&sort")).get_data(as_text=True))
    # Without script: a page with the heat map, its figures as a table, a way back to the overview.
    page = lxml.html.fromstring(client.get(link.get("href")).get_data(as_text=True))
    assert page.xpath("//h1")[0].text_content().startswith("各月常规工作完成情况")
    assert [tr.text_content() for tr in page.xpath("//table[@id='heat-figures']//tr")] == heat_figures
    assert page.xpath(f"//svg/rect[{has_class('heat')}]")
    assert any(a.get("href", "").startswith("/overview?") for a in page.xpath("//nav[@class='trail no-print']/a"))
    # With htmx: the figure alone, taking the focus (keyboard users land on what they asked for).
    fragment = client.get(link.get("href"), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment
    figure = lxml.html.fromstring(fragment)
    assert figure.tag == "figure" and figure.get("id") == "heat-map"
    assert figure.get("tabindex") == "-1" and figure.get("autofocus") is not None
    assert [tr.text_content() for tr in figure.xpath("//table[@id='heat-figures']//tr")] == heat_figures
