"""A plan's life after import: delete a draft, withdraw and restore, a new version applied as a diff,
the duplicate-publish warning, the year from the document, one obligation asked by two plans, double submits."""
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from webapp.activities import compliance as comp
from webapp.extensions import db
from webapp.ledger.services import save_row
from webapp.models import AuditEntry, LedgerRow, Plan, Requirement, Task, User

from .plans_factories import SMALL_PLAN, html, make_draft, make_published, row_counts, task_by_number, texts

CHANGED_PLAN = re.sub(r"2\.召开党政联席会议。每年两次召开党政联席会议。",
                      "2.召开党政联席会议和研判会议。每年两次召开党政联席会议，每季度召开意识形态研判会议。",
                      SMALL_PLAN).replace("3.管理宣传阵地。", "4.管理网络阵地。")


@pytest.fixture
def admin(client, login_as, csrf):
    login_as("admin")
    return csrf(path="/plans/")


def confirm_text(client, plan_id, action):
    forms = html(client.get(f"/plans/{plan_id}")).xpath(f"//form[contains(@action, '/{action}')]")
    assert forms, f"no {action} button"
    return forms[0].get("data-confirm")


def ledger_task_titles(client, unit_id):
    page = html(client.get(f"/units/{unit_id}/ledger"))
    return texts(page.xpath("//tr[starts-with(@id, 'row-')]/th[contains(@class, 'task-title')]"))


# ---- delete a draft --------------------------------------------------------------------------------

def test_a_draft_is_deleted_with_a_confirmation_and_an_audit_entry(app, client, org, admin):
    with app.app_context():
        draft = make_draft(org)
        empty = row_counts()
    assert "3" in confirm_text(client, draft, "delete")
    response = client.post(f"/plans/{draft}/delete", data={"csrf_token": admin})
    assert response.status_code == 302 and response.headers["Location"].endswith("/plans/")
    with app.app_context():
        assert db.session.get(Plan, draft) is None
        assert row_counts()["Task"] == 0 and row_counts()["Plan"] == empty["Plan"] - 1
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "delete",
                                                            AuditEntry.entity == "plan")).scalar_one()
        assert entry.entity_id == draft and "计算机学院2025年党建工作方案" in entry.before
    assert client.post(f"/plans/{draft}/delete", data={"csrf_token": admin}).status_code == 404


def test_a_published_plan_cannot_be_deleted(app, client, org, admin):
    with app.app_context():
        plan = make_published(org)
    assert client.post(f"/plans/{plan}/delete", data={"csrf_token": admin}).status_code == 409
    with app.app_context():
        assert db.session.get(Plan, plan).status == "published"


# ---- withdraw and restore --------------------------------------------------------------------------

def test_withdraw_hides_the_rows_everywhere_keeps_them_and_restore_brings_them_back(
        app, client, org, admin, login_as):
    with app.app_context():
        plan = make_published(org)
        row = db.session.execute(select(LedgerRow).join(Task).where(
            Task.plan_id == plan, LedgerRow.unit_id == org.units["faculty1"]).order_by(Task.position)).scalars().first()
        save_row(db.session.get(User, org.users["staff1"]), row.id, 1, {"progress": "已部署学习"})
        row_id = row.id
        rows_before = row_counts()["LedgerRow"]
    text = confirm_text(client, plan, "withdraw")
    assert "教工第一党支部" in text and "恢复" in text and "台账" in text
    assert client.post(f"/plans/{plan}/withdraw", data={"csrf_token": admin}).status_code == 302
    # A second click (or a second tab) is told it is done; nothing changes twice.
    assert client.post(f"/plans/{plan}/withdraw", data={"csrf_token": admin}).status_code == 302
    with app.app_context():
        assert db.session.get(Plan, plan).status == "withdrawn"
        assert row_counts()["LedgerRow"] == rows_before
        assert db.session.get(LedgerRow, row_id).progress == "已部署学习"
        assert comp.obligations_of_year(2025) == []
        assert db.session.execute(select(func.count(AuditEntry.id)).where(
            AuditEntry.entity == "plan", AuditEntry.action == "withdraw")).scalar_one() == 1
    assert "恢复" in confirm_text(client, plan, "restore")
    staff = login_as("staff1", app.test_client())
    assert ledger_task_titles(staff, org.units["faculty1"]) == []
    assert client.post(f"/plans/{plan}/restore", data={"csrf_token": admin}).status_code == 302
    with app.app_context():
        assert db.session.get(Plan, plan).status == "published"
        assert comp.obligations_of_year(2025)
    assert "开展政治学习。" in ledger_task_titles(staff, org.units["faculty1"])


def test_staff_cannot_withdraw(app, client, org, login_as, csrf):
    with app.app_context():
        plan = make_published(org)
    login_as("staff1")
    assert client.post(f"/plans/{plan}/withdraw", data={"csrf_token": csrf(path="/")}).status_code == 403


# ---- a new version of a published plan -----------------------------------------------------------

def test_a_new_version_of_a_published_plan_is_applied_as_a_diff_keeping_progress(app, client, org, admin, login_as):
    with app.app_context():
        plan = make_published(org)
        staff = db.session.get(User, org.users["staff1"])
        rows = {task.number: db.session.execute(select(LedgerRow).where(
                    LedgerRow.task_id == task.id, LedgerRow.unit_id == org.units["faculty1"])).scalar_one_or_none()
                for task in db.session.get(Plan, plan).tasks}
        kept = {number: row.id for number, row in rows.items() if row is not None}
        for number, row_id in kept.items():
            save_row(staff, row_id, 1, {"progress": f"第{number}项进展", "remarks": "支部备注"})
    page = html(client.post(f"/plans/{plan}/reimport", data={"csrf_token": admin, "text": CHANGED_PLAN}))
    assert texts(page.xpath("//ul[@class='diff-removed']/li")) == ["3. 管理宣传阵地。"]
    token = page.xpath("//input[@name='token']/@value")[0]
    response = client.post(f"/plans/{plan}/reimport/confirm", data={"csrf_token": admin, "token": token})
    assert response.status_code == 302
    with app.app_context():
        tasks = {task.number: task for task in db.session.get(Plan, plan).tasks}
        assert tasks[3].archived and not tasks[4].archived and tasks[2].title == "召开党政联席会议和研判会议。"
        for number, row_id in kept.items():  # the same rows, with what the unit wrote
            row = db.session.get(LedgerRow, row_id)
            assert (row.progress, row.remarks) == (f"第{number}项进展", "支部备注")
        # The new task has its ledger rows; the archived one's rows are still there.
        assert db.session.execute(select(func.count(LedgerRow.id)).where(LedgerRow.task_id == tasks[4].id)).scalar_one()
        assert {r.kind for r in tasks[2].requirements} == {"党政联席会议", "意识形态研判会"}
    staff_client = login_as("staff1", app.test_client())
    titles = ledger_task_titles(staff_client, org.units["faculty1"])
    assert "管理网络阵地。" in titles and "管理宣传阵地。" not in titles
    # Applying the same confirmation again changes nothing more.
    client.post(f"/plans/{plan}/reimport/confirm", data={"csrf_token": admin, "token": token})
    with app.app_context():
        assert db.session.execute(select(func.count(Task.id)).where(Task.plan_id == plan)).scalar_one() == 4


# ---- publishing ------------------------------------------------------------------------------------

def test_publishing_warns_of_a_duplicate_and_of_a_year_unlike_the_documents(app, client, org, admin):
    with app.app_context():
        make_published(org)
        again = make_draft(org)
        other_year = make_draft(org, year=2026)
        fresh = make_draft(org, SMALL_PLAN.replace("2025年党建工作方案", "2025年意识形态工作方案")
                           .replace("开展政治学习", "学习党章").replace("召开党政联席会议", "召开专题会")
                           .replace("管理宣传阵地", "建设网站"))
    warning = confirm_text(client, again, "publish")
    assert "已有" in warning and "《计算机学院2025年党建工作方案》" in warning
    assert "2026" in confirm_text(client, other_year, "publish") and "2025" in confirm_text(client, other_year, "publish")
    assert "⚠" not in confirm_text(client, fresh, "publish")


def test_the_year_defaults_to_the_documents(app, client, org, admin):
    response = client.post("/plans/", data={"csrf_token": admin, "year": "", "text": SMALL_PLAN})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.execute(select(Plan.year)).scalar_one() == 2025


def test_publish_and_copy_twice_make_one_of_each(app, client, org, admin):
    with app.app_context():
        draft = make_draft(org)
    assert client.post(f"/plans/{draft}/publish", data={"csrf_token": admin}).status_code == 302
    with app.app_context():
        rows = row_counts()["LedgerRow"]
    second = client.post(f"/plans/{draft}/publish", data={"csrf_token": admin})
    assert second.status_code == 409 and "已发布" in second.get_data(as_text=True)
    first_copy = client.post(f"/plans/{draft}/copy", data={"csrf_token": admin}).headers["Location"]
    second_copy = client.post(f"/plans/{draft}/copy", data={"csrf_token": admin}).headers["Location"]
    assert first_copy == second_copy
    with app.app_context():
        assert row_counts()["LedgerRow"] == rows
        assert db.session.execute(select(func.count(Plan.id)).where(Plan.year == 2026)).scalar_one() == 1


def test_a_lost_publish_race_is_answered_not_a_500(app, org):
    """Two workers both loaded the draft; the second to publish finds it published and adds nothing."""
    from webapp.plans import services
    with app.app_context():
        draft = make_draft(org)
        plan = db.session.get(Plan, draft)
        plan.tasks  # loaded, as a request that passed its checks has it
        with db.engine.begin() as other:
            other.execute(db.update(Plan).where(Plan.id == draft).values(status="published"))
        with pytest.raises(services.AlreadyDone):
            services.publish(plan)
        assert row_counts()["LedgerRow"] == 0


# ---- one obligation asked by two plans --------------------------------------------------------------

def test_the_same_obligation_from_two_plans_is_one_with_the_larger_count(app, client, org, login_as):
    with app.app_context():
        from webapp.clock import local_today
        year = local_today().year
    text = SMALL_PLAN.replace("2025", str(year))
    with app.app_context():
        make_published(org, text)
        second = make_published(org, text.replace("党建工作方案", "意识形态工作要点"))
        study = db.session.execute(select(Requirement).join(Task).where(
            Task.plan_id == second, Requirement.kind == "政治学习")).scalar_one()
        study.count = 2
        db.session.commit()
        cells = [c for c in comp.compliance(year, date(year, 3, 1), unit_ids=[org.units["faculty1"]])
                 if c.kind == "政治学习" and c.period == f"{year}-W05"]
        assert [(c.requirement_id, c.required) for c in cells] == [(study.id, 2)]
        obligations = comp.obligations_of_year(year)
        kept = next(o for o in obligations if o.id == study.id)
        assert comp.plans_asking(obligations, kept) == [f"计算机学院{year}年党建工作方案", f"计算机学院{year}年意识形态工作要点"]
    login_as("staff1")
    page = html(client.get(f"/units/{org.units['faculty1']}/obligations"))
    study_items = [li for li in page.xpath("//li[@data-requirement]") if "政治学习" in li.xpath("string(.//h2)")]
    assert [li.get("data-requirement") for li in study_items] == [str(study.id)]
    asked = study_items[0].xpath("string(.//*[contains(@class, 'asked-by')])")
    assert "党建工作方案" in asked and "意识形态工作要点" in asked
    grid = html(client.get(f"/activities/compliance?year={year}"))
    blocks = [b for b in grid.xpath("//section[@data-requirement]") if "政治学习" in b.xpath("string(.//h2)")]
    assert [b.get("data-requirement") for b in blocks] == [str(study.id)]
    assert "意识形态工作要点" in blocks[0].xpath("string(.//*[contains(@class, 'asked-by')])")


def test_an_edited_published_plan_is_republished_as_a_diff(app, client, org, admin):
    with app.app_context():
        plan = make_published(org)
        row = db.session.execute(select(LedgerRow).join(Task).where(
            Task.plan_id == plan, Task.number == 1, LedgerRow.unit_id == org.units["faculty1"])).scalar_one()
        row_id = row.id
        save_row(db.session.get(User, org.users["staff1"]), row_id, 1, {"progress": "已学习三次"})
        rows_before = row_counts()["LedgerRow"]
    first = client.post(f"/plans/{plan}/revise", data={"csrf_token": admin}).headers["Location"]
    again = client.post(f"/plans/{plan}/revise", data={"csrf_token": admin}).headers["Location"]
    assert first == again  # one draft revision, not two
    draft = int(first.rsplit("/", 1)[1])
    with app.app_context():
        task = task_by_number(draft, 1)
        task_id = task.id
    response = client.post(f"/plans/{draft}/tasks/{task_id}", data={"csrf_token": admin, "title": "开展政治理论学习。",
                                                                   "body": "每周四组织教职工政治学习。"})
    assert response.status_code == 200
    confirm = confirm_text(client, draft, "publish")
    assert "已有" not in confirm  # the plan it revises is no duplicate
    assert client.post(f"/plans/{draft}/publish", data={"csrf_token": admin}).headers["Location"].endswith(f"/plans/{plan}")
    with app.app_context():
        assert db.session.get(Plan, draft) is None
        assert task_by_number(plan, 1).title == "开展政治理论学习。"
        assert db.session.get(LedgerRow, row_id).progress == "已学习三次"
        assert row_counts()["LedgerRow"] == rows_before
        assert db.session.execute(select(func.count(Plan.id))).scalar_one() == 1


def _at_once(app, login_as, csrf, url, times=3):
    """POST `url` from several logged-in admins at the same moment; returns their statuses and Locations."""
    import threading
    clients = []
    for _ in range(times):
        client = login_as("admin", app.test_client())
        clients.append((client, csrf(client, "/plans/")))
    barrier, answers = threading.Barrier(times), []

    def send(client, token):
        barrier.wait()
        response = client.post(url, data={"csrf_token": token})
        answers.append((response.status_code, response.headers.get("Location", "")))

    threads = [threading.Thread(target=send, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_publish_and_copy_sent_at_once_happen_once(app, org, login_as, csrf):
    with app.app_context():
        draft = make_draft(org)
    answers = _at_once(app, login_as, csrf, f"/plans/{draft}/publish")
    assert sorted(status for status, _ in answers)[0] == 302 and {s for s, _ in answers} <= {302, 409}, answers
    with app.app_context():
        rows = db.session.execute(select(func.count(LedgerRow.id))).scalar_one()
        assert rows == 9 and db.session.execute(select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "publish")).scalar_one() == 1
    answers = _at_once(app, login_as, csrf, f"/plans/{draft}/copy")
    assert {status for status, _ in answers} == {302} and len({location for _, location in answers}) == 1, answers
    with app.app_context():
        assert db.session.execute(select(func.count(Plan.id)).where(Plan.year == 2026)).scalar_one() == 1
