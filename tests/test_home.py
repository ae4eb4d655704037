"""Each role's home page shows what that role does; staff and monitors see what is still owed now."""
from datetime import date

import lxml.html

from webapp.clock import local_today

from . import activities_factories as act
from . import ledger_factories as led


def owed_kinds(html: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    return [" ".join(h.text_content().split()).split(" ")[0]
            for h in tree.xpath("//section[contains(@class,'owed-now')]//li[contains(@class,'obligation')]/h2")]


def test_monitor_home_lists_what_the_class_still_owes(app, client, org, login_as):
    with app.app_context():
        today = local_today()
        act.make_plan(org.units["general"], today.year, [
            {"kind": "主题班会", "cadence": "month", "level": "class"},
            {"kind": "主题团日", "cadence": "month", "level": "class"}])
        act.make_activity(org.units["class1"], "主题团日", today)
    login_as("monitor1")
    html = client.get("/").get_data(as_text=True)
    assert owed_kinds(html) == ["主题班会"]  # 主题团日 is met this month


def test_monitor_home_says_when_nothing_is_owed(app, client, org, login_as):
    with app.app_context():
        today = local_today()
        act.make_plan(org.units["general"], today.year, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
        act.make_activity(org.units["class1"], "主题班会", today)
    login_as("monitor1")
    html = client.get("/").get_data(as_text=True)
    assert owed_kinds(html) == [] and "本期常规工作均已完成" in html


def test_staff_home_counts_submissions_to_review(app, client, org, login_as):
    with app.app_context():
        act.make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="submitted")
        act.make_activity(org.units["class2"], "主题班会", date(2026, 3, 4), status="submitted")
        act.make_activity(org.units["class3"], "主题班会", date(2026, 3, 4), status="submitted")  # not staff2's
    login_as("staff2")
    tree = lxml.html.fromstring(client.get("/").get_data(as_text=True))
    tile = tree.xpath("//a[contains(@class,'tile') and contains(@href,'tab=review')]/strong")
    assert [t.text_content() for t in tile] == ["2 条待审核"]


def test_staff_home_without_submissions_has_no_review_tile(client, org, login_as):
    login_as("staff1")
    tree = lxml.html.fromstring(client.get("/").get_data(as_text=True))
    assert not tree.xpath("//a[contains(@href,'tab=review')]")


def ledger_actions(client, unit_id):
    tree = lxml.html.fromstring(client.get(f"/units/{unit_id}/ledger").get_data(as_text=True))
    return [a.text_content().strip() for a in tree.xpath("//div[contains(@class,'head-actions')]/a")]


def test_ledger_page_offers_export_to_readers_and_import_to_editors(app, client, org, login_as):
    with app.app_context():
        led.make_plan(org.units["general"], [org.units["faculty1"]])
    login_as("secretary")
    assert ledger_actions(client, org.units["faculty1"]) == ["导出 Excel", "打印"]
    login_as("staff1")
    assert ledger_actions(client, org.units["faculty1"]) == ["导出 Excel", "导入修改后的 Excel", "打印"]
