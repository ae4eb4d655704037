"""The secretary's overview gains pre-review figures per unit, at a fixed number of queries."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import lxml.html
from sqlalchemy import event

from webapp.extensions import db

from .prereview_factories import add_item, freeze, kinds, run_decisions

NOW = datetime(2026, 5, 4, 2, 0)
TODAY = date(2026, 5, 4)


def prereview_table(html: str) -> dict[str, dict[str, str]]:
    doc = lxml.html.fromstring(html)
    rows = {}
    for tr in doc.xpath("//section[@id='prereview-figures']//tbody/tr"):
        name = tr.xpath("th")[0].text_content().strip()
        rows[name] = {td.get("data-col"): td.text_content().strip() for td in tr.xpath("td")}
    return rows


def build(app, org, monkeypatch) -> None:
    with app.app_context():
        lecture = kinds(org)["讲座"]
        freeze(monkeypatch, NOW)
        approved = add_item(org, "class1", lecture, TODAY + timedelta(days=20), submit=True, title="通过")
        returned = add_item(org, "class1", lecture, TODAY + timedelta(days=20), submit=True, title="退回")
        rejected = add_item(org, "class1", lecture, TODAY + timedelta(days=20), submit=True, title="不予通过")
        add_item(org, "class1", lecture, TODAY + timedelta(days=2), submit=True, title="临近待审")
        quick = add_item(org, "class2", lecture, TODAY + timedelta(days=20), submit=True, title="班级二")
        add_item(org, "faculty1", lecture, TODAY + timedelta(days=20), by="staff1", title="草稿")
        run_decisions(app, org, monkeypatch, approved, [("staff2", "pass", ""), ("secretary", "pass", "")],
                      NOW + timedelta(days=2))
        run_decisions(app, org, monkeypatch, returned, [("staff2", "return", "补充材料")], NOW + timedelta(days=1))
        run_decisions(app, org, monkeypatch, rejected, [("staff2", "reject", "不宜举办")], NOW + timedelta(days=4))
        run_decisions(app, org, monkeypatch, quick, [("staff2", "pass", ""), ("secretary", "pass", "")],
                      NOW + timedelta(days=1))
        freeze(monkeypatch, NOW)


def test_dashboard_shows_pre_review_figures_per_unit(app, client, org, login_as, monkeypatch):
    build(app, org, monkeypatch)
    login_as("secretary")
    rows = prereview_table(client.get("/overview?year=2026").get_data(as_text=True))
    columns = ["submitted", "approved", "returned", "rejected", "overdue", "median"]
    assert [rows["学生第一党支部"][c] for c in columns] == ["5", "2", "1", "1", "1", "2.0"]
    assert [rows["教工第一党支部"][c] for c in columns] == ["0", "0", "0", "0", "0", "—"]  # a draft is not submitted
    assert [rows["合计"][c] for c in columns] == ["5", "2", "1", "1", "1", "2.0"]
    # Drilling into the branch: each class on its own.
    login_as("staff2")
    branch = prereview_table(client.get(f"/overview?year=2026&unit={org.units['student1']}").get_data(as_text=True))
    assert [branch["2023级计算机1班"][c] for c in columns] == ["4", "1", "1", "1", "1", "3.0"]
    assert [branch["2023级计算机2班"][c] for c in columns] == ["1", "1", "0", "0", "0", "1.0"]


def test_dashboard_query_count_does_not_grow_with_items(app, client, org, login_as, monkeypatch):
    freeze(monkeypatch, NOW)
    from webapp.activities import rollups
    monkeypatch.setattr(rollups.cache, "enabled", False)  # every request computes (a cache hit runs fewer)
    login_as("secretary")

    def count() -> int:
        statements = []
        with app.app_context():
            engine = db.engine
        listener = lambda *_args: statements.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/overview?year=2026").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    with app.app_context():
        kinds(org)
    small = count()
    build(app, org, monkeypatch)
    assert count() == small
