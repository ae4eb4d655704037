"""History reads as people talk: the task's number and title, the plan, the unit, the person; no internal ids,
and the names of people who acted are shown even when they belong to a unit above the viewer."""
from sqlalchemy import select

from tests.ledger_factories import HX, make_plan, parse, post_row, row_element, rows_of
from webapp.extensions import db
from webapp.ledger.services import save_row
from webapp.models import LedgerRow, User
from webapp.plans import services as plan_services

from .plans_factories import make_draft


def test_staff_see_who_above_them_edited_their_row(app, org, client, login_as, csrf):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
        row_id = rows_of(ids, org.units["faculty1"])[0]
        admin = db.session.get(User, org.users["admin"])
        save_row(admin, row_id, 1, {"progress": "党总支代填的进展"})
        admin_name = admin.display_name
    login_as("staff1")
    fragment = client.get(f"/ledger/rows/{row_id}", headers=HX).get_data(as_text=True)
    assert admin_name in row_element(fragment, row_id).xpath('string(./td[@data-field="status"])')
    history = parse(client.get(f"/ledger/rows/{row_id}/history").get_data(as_text=True))
    assert [td.text_content().strip() for td in history.xpath('//table[contains(@class,"audit")]//td[@class="who"]')] \
        == [admin_name]
    # A conflict names them too.
    conflict = post_row(client, row_id, csrf(path="/"), progress="我的进展", version="1")
    assert conflict.status_code == 409 and admin_name in conflict.get_data(as_text=True)
    # Lists of users stay scoped: the change log's filter is not where staff look, and the admin is not listed.
    with app.app_context():
        from webapp.permissions import activate_scope
        with app.test_request_context("/"):
            activate_scope(db.session.get(User, org.users["staff1"]))
            assert org.users["admin"] not in set(db.session.execute(select(User.id)).scalars())
            db.session.remove()


def test_the_change_log_names_task_plan_and_unit_without_ids(app, org, client, login_as):
    with app.app_context():
        plan_id = make_draft(org)
        plan_services.publish(db.session.get(plan_services.Plan, plan_id))
        row = db.session.execute(select(LedgerRow).where(LedgerRow.unit_id == org.units["faculty1"])
                                 .order_by(LedgerRow.id)).scalars().first()
        save_row(db.session.get(User, org.users["staff1"]), row.id, 1, {"status": "in_progress"})
        task_title, number = row.task.title, row.task.number
    login_as("admin")
    doc = parse(client.get("/ledger/changes").get_data(as_text=True))
    targets = [td.text_content() for td in doc.xpath('//table[contains(@class,"audit")]//td[@class="target"]')]
    edited = next(t for t in targets if task_title in t and "改" in t)
    assert f"任务{number}" in edited and "计算机学院2025年党建工作方案" in edited and "教工第一党支部" in edited
    text = doc.xpath("string(//table[contains(@class,'audit')])")
    assert "#" not in text and "plan：" not in text and "task：" not in text
    assert "进行中" in text and "in_progress" not in text
    # The rows' creation names the plan and the task, not their ids.
    assert "工作方案：《计算机学院2025年党建工作方案》" in text


def test_an_activitys_history_names_its_kind_and_a_stale_edit_shows_both_values(app, org, client, login_as, csrf):
    from datetime import date

    from tests.activities_factories import kind_id, make_activity
    from tests.test_activities_routes import post_activity
    from webapp.activities import services
    from webapp.models import Activity
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="draft",
                                    created_by_id=org.users["monitor1"])
        admin = db.session.get(User, org.users["admin"])
        activity = db.session.get(Activity, activity_id)
        values = {field: getattr(activity, field) for field in services.EDITABLE_FIELDS}
        values.update(kind_id=kind_id("主题团日"), topic="管理员改的主题")
        services.update_activity(admin, activity, 1, services.ActivityData(**values), [], [], submit=False)
        admin_name = admin.display_name
    login_as("monitor1")
    page = parse(client.get(f"/activities/{activity_id}").get_data(as_text=True))
    history = page.xpath("string(//details[contains(@class, 'history')])")
    assert "主题团日" in history and admin_name in history
    # The monitor's form was opened at version 1 and changes the topic too: 409 with the value saved meanwhile.
    response = post_activity(app, client, csrf, path=f"/activities/{activity_id}/edit", version="1",
                             held_on="2026-03-03", topic="班长的主题", kind="主题团日")
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "管理员改的主题" in text and "班长的主题" in text
