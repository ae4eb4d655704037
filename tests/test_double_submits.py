"""Every create and remove is safe to send twice: an idempotent answer or a refusal with a message,
never a 500 and never a duplicate. Deleting a unit that holds things is refused with a list, or moves
them to the parent when the admin confirms."""
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.activities_factories import kind_id
from tests.admin_factories import admin_client, alert, fragment
from webapp.extensions import db
from webapp.models import Activity, ActivityKind, AuditEntry, LedgerRow, StoredFile, Unit, User

from .ledger_factories import make_plan, rows_of


@pytest.fixture
def admin(client, login_as, csrf):
    return admin_client(client, login_as, csrf)


def count(model, *where):
    return db.session.execute(select(func.count(model.id)).where(*where)).scalar_one()


def test_creating_the_same_user_twice_at_once_makes_one(app, org, login_as, csrf):
    clients = []
    for _ in range(3):
        client = login_as("admin", app.test_client())
        clients.append((client, csrf(client, "/admin/users")))
    statuses = []

    def create(number):
        client, token = clients[number]
        response = client.post("/admin/users", headers={"HX-Request": "true", "X-CSRFToken": token}, data={
            "username": "twice", "display_name": "重复提交", "role": "staff", "unit_id": org.units["faculty1"],
            "locale": "zh_Hans_CN", "password": "a-long-password-1"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses)[0] == 200 and set(statuses) <= {200, 422}, statuses
    with app.app_context():
        assert count(User, User.username == "twice") == 1


def test_a_kind_whose_name_was_taken_meanwhile_is_refused_beside_the_field(app, org, admin, monkeypatch):
    with app.app_context():
        kind_id("主题班会")
    from webapp.activities import routes
    # The form's check ran before another request added the same name: the insert is what refuses it.
    monkeypatch.setattr(routes, "_kind_form", _form_blind_to(routes._kind_form))
    first = admin.post("/activities/kinds", {"name": "读书会", "cadence": "month", "count": "1", "level": "branch"})
    second = admin.post("/activities/kinds", {"name": "读书会", "cadence": "month", "count": "1", "level": "branch"})
    assert first.status_code == 200 and second.status_code == 422
    with app.app_context():
        assert count(ActivityKind, ActivityKind.name == "读书会") == 1


def _form_blind_to(make_form):
    calls = {"n": 0}

    def blind(*args, **kwargs):
        form = make_form(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] <= 2:  # the first validation of each request does not see the taken names
            form.taken_names = set()
        return form
    return blind


def test_removing_the_same_file_twice(app, org, client, login_as, csrf):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
        row_id = rows_of(ids, org.units["faculty1"])[0]
        stored = StoredFile(unit_id=org.units["faculty1"], ledger_row_id=row_id, filename="纪要.pdf",
                            content_type="application/pdf", size=4, sha256="0" * 64, data=b"%PDF")
        db.session.add(stored)
        db.session.commit()
        file_id = stored.id
    login_as("staff1")
    token = csrf(path="/")
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    assert client.post(f"/files/{file_id}/delete", headers=headers).status_code == 200
    assert client.post(f"/files/{file_id}/delete", headers=headers).status_code == 404
    with app.app_context():
        assert count(StoredFile) == 0
        assert count(AuditEntry, AuditEntry.action == "remove_file") == 1


def test_a_file_removed_by_another_request_meanwhile_is_no_error(app, org):
    from webapp.ledger.services import remove_evidence
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
        row_id = rows_of(ids, org.units["faculty1"])[0]
        stored = StoredFile(unit_id=org.units["faculty1"], ledger_row_id=row_id, filename="纪要.pdf",
                            content_type="application/pdf", size=4, sha256="0" * 64, data=b"%PDF")
        db.session.add(stored)
        db.session.commit()
        with db.engine.begin() as other:
            other.execute(db.delete(StoredFile).where(StoredFile.id == stored.id))
        assert remove_evidence(stored) is False
        assert count(AuditEntry, AuditEntry.action == "remove_file") == 0


# ---- deleting a unit that holds things ------------------------------------------------------------

def test_a_unit_holding_kinds_is_refused_with_a_list_not_a_500(app, admin, org):
    with app.app_context():
        db.session.add(ActivityKind(unit_id=org.units["class2"], name="班级读书会"))
        db.session.commit()
    response = admin.post(f"/admin/units/{org.units['class2']}/delete")
    assert response.status_code == 409
    assert "1 个活动类型" in alert(fragment(response))
    assert fragment(response).xpath("//button[contains(@class, 'move-up')]")


def test_confirmed_deletion_moves_what_the_unit_holds_to_the_parent(app, admin, org):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["class2"]], sections=1, tasks_per_section=2)
        kind = ActivityKind(unit_id=org.units["class2"], name="班级读书会")
        db.session.add(kind)
        db.session.flush()
        db.session.add(Activity(unit_id=org.units["class2"], kind_id=kind.id, held_on=date(2024, 3, 1), topic="开学"))
        db.session.commit()
        users = set(db.session.execute(select(User.id).where(User.unit_id == org.units["class2"])).scalars())
        parent = db.session.get(Unit, org.units["class2"]).parent_id
    response = admin.post(f"/admin/units/{org.units['class2']}/delete", {"move": "1"})
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    with app.app_context():
        assert db.session.get(Unit, org.units["class2"]) is None
        assert {u.unit_id for u in db.session.execute(select(User).where(User.id.in_(users))).scalars()} <= {parent}
        assert count(LedgerRow, LedgerRow.unit_id == parent) == len(ids["tasks"])
        assert count(Activity, Activity.unit_id == parent) == 1
        assert count(ActivityKind, ActivityKind.unit_id == parent) == 1
        assert count(AuditEntry, AuditEntry.entity == "unit", AuditEntry.action == "move") == 1


def test_moving_up_is_refused_when_the_parent_has_the_same_rows(app, admin, org):
    with app.app_context():
        make_plan(org.units["general"], [org.units["class2"], org.units["student1"]], sections=1, tasks_per_section=1)
        db.session.execute(db.update(User).where(User.unit_id == org.units["class2"]).values(unit_id=org.units["student1"]))
        db.session.commit()
    response = admin.post(f"/admin/units/{org.units['class2']}/delete", {"move": "1"})
    assert response.status_code == 409 and "同一任务的台账行" in alert(fragment(response))
    with app.app_context():
        assert db.session.get(Unit, org.units["class2"]) is not None
