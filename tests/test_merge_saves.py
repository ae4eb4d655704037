"""Stale saves are merged field by field: only the same field changed by both people is a conflict."""
import threading
from datetime import date

import lxml.html
from sqlalchemy import select

from tests.activities_factories import make_activity
from tests.ledger_factories import HX, make_plan, post_row, row_element, rows_of
from webapp.activities import services as activity_services
from webapp.extensions import db
from webapp.ledger.services import save_row
from webapp.models import Activity, AuditEntry, LedgerRow, User
from webapp.versioning import StaleVersion

FIELDS = ("lead", "members", "progress", "remarks")


def one_row(app, org):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
    return rows_of(ids, org.units["faculty1"])[0]


def stored(app, row_id):
    with app.app_context():
        row = db.session.get(LedgerRow, row_id)
        db.session.expunge(row)
        return row


def replay(app, row_id) -> dict:
    """Every field's value as the audit log tells it, checking each entry starts where the last one ended."""
    values = {field: "" for field in FIELDS}
    with app.app_context():
        entries = db.session.execute(select(AuditEntry).where(
            AuditEntry.entity == "ledger_row", AuditEntry.entity_id == row_id).order_by(AuditEntry.id)).scalars()
        for entry in entries:
            assert (entry.before or "") == values[entry.field], f"{entry.field} entry does not start where the last ended"
            values[entry.field] = entry.after or ""
    return values


def test_a_stale_save_of_another_field_is_merged(app, org, client, login_as, csrf):
    row_id = one_row(app, org)
    other = login_as("staff1", app.test_client())
    assert post_row(other, row_id, csrf(other, "/"), remarks="同事的备注", version="1").status_code == 200
    login_as("staff1")
    response = post_row(client, row_id, csrf(path="/"), progress="我的进展", version="1")
    assert response.status_code == 200
    tr = row_element(response.get_data(as_text=True), row_id)
    assert tr.get("data-version") == "3"
    assert tr.xpath('string(./td[@data-field="remarks"])').strip() == "同事的备注"
    assert tr.xpath('string(./td[@data-field="progress"])').strip() == "我的进展"
    row = stored(app, row_id)
    assert (row.progress, row.remarks, row.version) == ("我的进展", "同事的备注", 3)
    assert replay(app, row_id) == {"lead": "", "members": "", "progress": "我的进展", "remarks": "同事的备注"}


def test_the_same_field_changed_by_both_is_a_conflict_with_both_values(app, org, client, login_as, csrf):
    row_id = one_row(app, org)
    other = login_as("staff1", app.test_client())
    assert post_row(other, row_id, csrf(other, "/"), remarks="同事的备注", version="1").status_code == 200
    assert post_row(other, row_id, csrf(other, "/"), progress="同事的进展", version="2").status_code == 200
    login_as("staff1")
    response = post_row(client, row_id, csrf(path="/"), progress="我的进展", version="2")
    assert response.status_code == 409
    tr = row_element(response.get_data(as_text=True), row_id)
    assert "同事的进展" in tr.xpath('string(.//*[contains(@class,"conflict-panel")])')
    assert tr.xpath('string(.//textarea[@name="progress"])') == "我的进展"
    assert stored(app, row_id).progress == "同事的进展"
    # Saving the value the row already has is no conflict: nothing changes.
    assert post_row(client, row_id, csrf(path="/"), progress="同事的进展", version="1").status_code == 200
    assert stored(app, row_id).version == 3


def test_the_service_reports_the_current_row_and_the_conflicting_fields(app, org):
    row_id = one_row(app, org)
    with app.app_context():
        staff = db.session.get(User, org.users["staff1"])
        save_row(staff, row_id, 1, {"lead": "王老师", "progress": "甲"})
        try:
            save_row(staff, row_id, 1, {"progress": "乙", "members": "全体"})
        except StaleVersion as stale:
            assert stale.fields == ("progress",) and stale.current.progress == "甲"
        else:
            raise AssertionError("no conflict")
        merged = save_row(staff, row_id, 1, {"members": "全体"})
        assert (merged.lead, merged.progress, merged.members, merged.version) == ("王老师", "甲", "全体", 3)


def test_threads_saving_different_fields_of_one_row_keep_every_change(app, org, login_as, csrf):
    """Every thread starts from version 1 and never re-reads: all their saves are merged, none is lost."""
    row_id = one_row(app, org)
    clients = []
    for _field in FIELDS:
        client = login_as("staff1", app.test_client())
        clients.append((client, csrf(target=client, path="/")))
    statuses: list[int] = []
    lock = threading.Lock()
    rounds = 5

    def worker(number: int):
        client, token = clients[number]
        field = FIELDS[number]
        for i in range(rounds):
            # Each thread's own previous saves are known to it, so it sends the version its last answer gave.
            version = "1" if i == 0 else last[number]
            response = client.post(f"/ledger/rows/{row_id}", headers=HX,
                                   data={field: f"{field}-{i}", "version": version, "csrf_token": token})
            with lock:
                statuses.append(response.status_code)
            if response.status_code == 200:
                last[number] = row_element(response.get_data(as_text=True), row_id).get("data-version")

    last = ["1"] * len(FIELDS)
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(FIELDS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * (rounds * len(FIELDS)), sorted(set(statuses))
    row = stored(app, row_id)
    assert {field: getattr(row, field) for field in FIELDS} == {field: f"{field}-{rounds - 1}" for field in FIELDS}
    assert row.version == 1 + rounds * len(FIELDS)
    assert replay(app, row_id) == {field: getattr(row, field) for field in FIELDS}


# ---- activities ----------------------------------------------------------------------------------

def activity_data(activity, **changes):
    values = {field: getattr(activity, field) for field in activity_services.EDITABLE_FIELDS}
    values.update(changes)
    return activity_services.ActivityData(**values)


def test_a_monitors_stale_edit_is_merged_with_a_staff_review(app, org):
    """The monitor opened the form of a draft, submitted from another tab, staff returned it with a comment;
    the monitor's old form still saves the topic: the review's status and comment stay."""
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="draft")
        monitor = db.session.get(User, org.users["monitor1"])
        staff = db.session.get(User, org.users["staff2"])
        activity = db.session.get(Activity, activity_id)
        opened = activity.version
        activity_services.submit_activity(monitor, activity)
        activity_services.return_activity(staff, db.session.get(Activity, activity_id), "请补充照片")
        db.session.expire_all()
        activity = db.session.get(Activity, activity_id)
        activity_services.update_activity(monitor, activity, opened, activity_data(activity, topic="新主题"),
                                          [], [], submit=False)
        db.session.expire_all()
        saved = db.session.get(Activity, activity_id)
        assert (saved.topic, saved.status, saved.review_comment) == ("新主题", "returned", "请补充照片")


def test_the_same_activity_field_changed_by_both_is_a_conflict(app, org, client, login_as, csrf):
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="draft")
        admin = db.session.get(User, org.users["admin"])
        activity = db.session.get(Activity, activity_id)
        activity_services.update_activity(admin, activity, 1, activity_data(activity, place="报告厅"), [], [],
                                          submit=False)
        db.session.expire_all()
        activity = db.session.get(Activity, activity_id)
        try:
            activity_services.update_activity(admin, activity, 1, activity_data(activity, place="会议室二"), [], [],
                                              submit=False)
        except StaleVersion as stale:
            assert stale.fields == ("place",)
        else:
            raise AssertionError("no conflict")
        db.session.rollback()
        db.session.expire_all()
        assert db.session.get(Activity, activity_id).place == "报告厅"


def test_a_conflict_judged_on_an_old_read_is_checked_again_on_a_fresh_one(app, org):
    """The caller's copy may be older than the database: a conflict is only reported from a fresh read,
    with the fields, and a save that merges on the fresh read lands."""
    row_id = one_row(app, org)
    with app.app_context():
        staff = db.session.get(User, org.users["staff1"])
        loaded = db.session.get(LedgerRow, row_id)
        with db.engine.begin() as other:  # someone saves progress after our read
            other.execute(db.update(LedgerRow).where(LedgerRow.id == row_id).values(
                progress="别人的", version=2, field_versions='{"_since": 1, "progress": 2}'))
        try:
            save_row(staff, row_id, 1, {"progress": "我的"}, loaded=loaded)
        except StaleVersion as stale:
            assert stale.fields == ("progress",) and stale.current.progress == "别人的"
        else:
            raise AssertionError("no conflict")
        loaded = db.session.get(LedgerRow, row_id)
        with db.engine.begin() as other:
            other.execute(db.update(LedgerRow).where(LedgerRow.id == row_id).values(
                remarks="别人的备注", version=3, field_versions='{"_since": 1, "progress": 2, "remarks": 3}'))
        saved = save_row(staff, row_id, 2, {"lead": "我填的"}, loaded=loaded)
        assert (saved.lead, saved.remarks, saved.progress, saved.version) == ("我填的", "别人的备注", "别人的", 4)


def opened_edit_form(client, activity_id) -> dict:
    """The activity's edit form as the browser would send it back untouched (hidden inputs included)."""
    page = lxml.html.fromstring(client.get(f"/activities/{activity_id}/edit").get_data(as_text=True))
    values = dict(page.xpath("//form[contains(@class, 'activity-form')]")[0].form_values())
    assert values["base"] and values["version"] == "1"
    return {**values, "action": "draft"}


def test_two_people_editing_different_activity_fields_both_land(app, org, client, login_as):
    """Each form re-sends every field; only the ones changed since it was opened count as its edit."""
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="draft")
    monitor, admin = login_as("monitor1"), login_as("admin", app.test_client())
    monitors_form, admins_form = opened_edit_form(monitor, activity_id), opened_edit_form(admin, activity_id)
    assert admin.post(f"/activities/{activity_id}/edit", data={**admins_form, "place": "报告厅"}).status_code == 302
    response = monitor.post(f"/activities/{activity_id}/edit", data={**monitors_form, "topic": "诚信考试主题班会"})
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.get(Activity, activity_id)
        assert (saved.topic, saved.place, saved.version) == ("诚信考试主题班会", "报告厅", 3)
        changes = db.session.execute(select(AuditEntry.field, AuditEntry.after).where(
            AuditEntry.entity == "activity", AuditEntry.entity_id == activity_id,
            AuditEntry.action == "update")).all()
        assert sorted(changes) == [("place", "报告厅"), ("topic", "诚信考试主题班会")]


def test_the_same_activity_field_edited_in_two_forms_is_a_409_with_the_saved_value(app, org, client, login_as):
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="draft")
    monitor, admin = login_as("monitor1"), login_as("admin", app.test_client())
    monitors_form, admins_form = opened_edit_form(monitor, activity_id), opened_edit_form(admin, activity_id)
    assert admin.post(f"/activities/{activity_id}/edit", data={**admins_form, "topic": "管理员的主题"}).status_code == 302
    response = monitor.post(f"/activities/{activity_id}/edit",
                            data={**monitors_form, "topic": "班长的主题", "place": "教室"})
    assert response.status_code == 409
    page = lxml.html.fromstring(response.get_data(as_text=True))
    errors = " ".join(p.text_content() for p in page.xpath("//*[contains(@class, 'error-panel')]"))
    assert "管理员的主题" in errors
    assert page.xpath("string(//input[@name='topic']/@value)") == "班长的主题"  # what they typed is kept
    with app.app_context():
        saved = db.session.get(Activity, activity_id)
        # Nothing of theirs is half-saved: not the place either.
        assert (saved.topic, saved.place, saved.version) == ("管理员的主题", monitors_form["place"], 2)
    assert monitors_form["place"] != "教室"


def test_a_merged_activity_save_keeps_present_within_expected(app, org, client, login_as):
    """实到 ≤ 应到 is checked on the form's values; the merge must not combine one person's 实到 with another's
    smaller 应到 into a record that breaks it (the pair counts as one edit)."""
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="draft",
                                    present=20, expected=30)
    monitor, admin = login_as("monitor1"), login_as("admin", app.test_client())
    monitors_form, admins_form = opened_edit_form(monitor, activity_id), opened_edit_form(admin, activity_id)
    assert admin.post(f"/activities/{activity_id}/edit", data={**admins_form, "expected": "22"}).status_code == 302
    response = monitor.post(f"/activities/{activity_id}/edit", data={**monitors_form, "present": "28"})
    assert response.status_code in (409, 422)
    with app.app_context():
        saved = db.session.get(Activity, activity_id)
        assert (saved.present, saved.expected) == (20, 22)


def test_a_forged_base_cannot_skip_the_present_within_expected_check(app, org, client, login_as):
    import json
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="draft",
                                    present=5, expected=10)
    monitor = login_as("monitor1")
    form = opened_edit_form(monitor, activity_id)
    base = json.loads(form["base"])
    base["expected"] = "100"  # claims 应到 was 100 when opened: only 实到 would count as edited
    response = monitor.post(f"/activities/{activity_id}/edit",
                            data={**form, "present": "100", "expected": "100", "base": json.dumps(base)})
    with app.app_context():
        saved = db.session.get(Activity, activity_id)
        assert saved.present <= saved.expected, (response.status_code, saved.present, saved.expected)


def test_a_garbled_or_missing_base_saves_like_a_form_without_it(app, org, client, login_as):
    with app.app_context():
        activity_id = make_activity(org.units["class1"], "主题班会", date(2026, 3, 3), status="draft")
    monitor = login_as("monitor1")
    for base in ("{not json", "[1, 2]", "null", "\"x\"", "{\"present\": [1]}", "[" * 100_000):
        page = lxml.html.fromstring(monitor.get(f"/activities/{activity_id}/edit").get_data(as_text=True))
        form = {**dict(page.xpath("//form[contains(@class, 'activity-form')]")[0].form_values()), "action": "draft"}
        response = monitor.post(f"/activities/{activity_id}/edit", data={**form, "topic": f"主题{len(base)}",
                                                                          "base": base})
        assert response.status_code == 302, base
    page = lxml.html.fromstring(monitor.get(f"/activities/{activity_id}/edit").get_data(as_text=True))
    form = {**dict(page.xpath("//form[contains(@class, 'activity-form')]")[0].form_values()), "action": "draft"}
    del form["base"]
    assert monitor.post(f"/activities/{activity_id}/edit", data={**form, "topic": "无基准"}).status_code == 302
    with app.app_context():
        assert db.session.get(Activity, activity_id).topic == "无基准"
