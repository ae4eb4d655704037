"""Publishing (assignments and ledger rows per level), the admin's assignment changes,
re-import with a diff, and copying a plan to the next year."""
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import ActivityKind, AuditEntry, LedgerRow, Plan, Task, Unit

from .plans_factories import (SMALL_PLAN, assigned_unit_ids, by_class, html, ledger_unit_ids, make_draft,
                              make_published, row_counts, task_by_number, texts)


@pytest.fixture
def admin(client, login_as, csrf):
    login_as("admin")
    return csrf(path="/plans/")


@pytest.fixture
def draft(app, org):
    with app.app_context():
        return make_draft(org)


def _ids(org, *keys):
    return {org.units[key] for key in keys}


COLLEGE = ("general", "faculty1", "student1", "student2")


def test_publish_assigns_units_by_level_and_creates_ledger_rows(app, client, org, admin, draft):
    response = client.post(f"/plans/{draft}/publish", data={"csrf_token": admin})
    assert response.status_code == 302
    flash = texts(by_class(html(client.get(f"/plans/{draft}")), "flash-success"))
    assert flash == ["方案已发布，共生成 9 行台账。"]
    with app.app_context():
        plan = db.session.get(Plan, draft)
        assert plan.status == "published" and plan.published_at is not None
        study, joint, culture = (task_by_number(draft, n) for n in (1, 2, 3))
        # 每周四政治学习 → faculty branches; 主题班会 → every class.
        assert ledger_unit_ids(study.id) == _ids(org, "faculty1", "class1", "class2", "class3")
        assert ledger_unit_ids(joint.id) == _ids(org, "general")  # 党政联席会议 → the general branch
        assert ledger_unit_ids(culture.id) == _ids(org, *COLLEGE)  # no requirement → college and branches
        for task in (study, joint, culture):
            assert assigned_unit_ids(task.id) == ledger_unit_ids(task.id)
        row = db.session.execute(select(LedgerRow).where(LedgerRow.task_id == study.id)).scalars().first()
        assert (row.lead, row.members, row.version, row.status) == ("王书记", "党总支委员", 1, "not_started")
        # The tree had no kinds: publishing seeds the standard ones (these three among them) and links to them.
        assert {r.activity_kind.name for r in study.requirements} == {"政治学习", "主题班会"}
        assert {r.activity_kind.unit_id for r in study.requirements} == {org.units["general"]}  # the tree's top
        assert db.session.execute(select(func.count(ActivityKind.id))).scalar_one() == 12
        publish = db.session.execute(select(AuditEntry).where(AuditEntry.entity == "plan",
                                                              AuditEntry.action == "publish")).scalar_one()
        assert publish.entity_id == draft and publish.user_id == org.users["admin"]
        rows_logged = db.session.execute(select(func.count(AuditEntry.id)).where(
            AuditEntry.entity == "ledger_row", AuditEntry.action == "create")).scalar_one()
        assert rows_logged == 9


def test_publish_uses_existing_kinds_and_skips_inactive_units(app, org):
    with app.app_context():
        db.session.add(ActivityKind(unit_id=org.units["general"], name="主题班会", cadence="month", count=1, level="class"))
        db.session.get(Unit, org.units["class2"]).active = False
        db.session.commit()
        plan_id = make_published(org)
        study = task_by_number(plan_id, 1)
        assert ledger_unit_ids(study.id) == _ids(org, "faculty1", "class1", "class3")
        kind = db.session.execute(select(ActivityKind).where(ActivityKind.name == "主题班会")).scalar_one()
        assert kind.id in {r.kind_id for r in study.requirements}
        assert db.session.execute(select(func.count(ActivityKind.id))).scalar_one() == 3


def test_the_preview_shows_the_assignment(app, client, org, admin, draft):
    with app.app_context():
        task_id = task_by_number(draft, 2).id
    card = html(client.get(f"/plans/{draft}")).xpath(f"//article[@id='task-{task_id}']")[0]
    assert texts(by_class(card, "assigned-unit", ".//*")) == ["计算机学院党总支"]


def test_admin_assignment_changes_are_honoured(app, client, org, admin, draft):
    with app.app_context():
        task_id = task_by_number(draft, 3).id
    form = html(client.get(f"/plans/{draft}/tasks/{task_id}/assignments/edit"))
    checked = {int(v) for v in form.xpath("//input[@name='units' and @checked]/@value")}
    assert checked == _ids(org, *COLLEGE)
    assert len(form.xpath("//fieldset[contains(@class, 'unit-group')]")) == 3  # general, branches, classes
    chosen = _ids(org, "student1", "class1") | {org.units["foreign_branch"]}  # a foreign unit is ignored
    response = client.post(f"/plans/{draft}/tasks/{task_id}/assignments",
                           data={"csrf_token": admin, "units": sorted(chosen)})
    assert response.status_code == 200
    assert set(texts(by_class(html(response), "assigned-unit"))) == {"学生第一党支部", "2023级计算机1班"}
    client.post(f"/plans/{draft}/publish", data={"csrf_token": admin})
    with app.app_context():
        assert ledger_unit_ids(task_id) == _ids(org, "student1", "class1")
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "assign")).scalar_one()
        assert entry.entity_id == task_id


def test_assignment_follows_requirements_until_changed_by_hand(app, client, org, admin, draft):
    with app.app_context():
        task = task_by_number(draft, 2)
        task_id, requirement_id = task.id, task.requirements[0].id
    level = {"kind": "党政联席会议", "cadence": "year", "count": "2", "weekday": ""}
    client.post(f"/plans/{draft}/requirements/{requirement_id}", data={"csrf_token": admin, **level, "level": "student_branch"})
    with app.app_context():
        assert assigned_unit_ids(task_id) == _ids(org, "student1", "student2")
    client.post(f"/plans/{draft}/tasks/{task_id}/assignments", data={"csrf_token": admin, "units": [org.units["student1"]]})
    client.post(f"/plans/{draft}/requirements/{requirement_id}", data={"csrf_token": admin, **level, "level": "class"})
    with app.app_context():
        assert assigned_unit_ids(task_id) == _ids(org, "student1")


def test_a_published_plan_only_gains_units(app, client, org, admin):
    with app.app_context():
        plan_id = make_published(org)
        task_id = task_by_number(plan_id, 2).id
    form = html(client.get(f"/plans/{plan_id}/tasks/{task_id}/assignments/edit"))
    assert form.xpath(f"//input[@value='{org.units['general']}']/@disabled")
    response = client.post(f"/plans/{plan_id}/tasks/{task_id}/assignments",
                           data={"csrf_token": admin, "units": [org.units["faculty1"]]})
    assert response.status_code == 200
    with app.app_context():
        assert ledger_unit_ids(task_id) == _ids(org, "general", "faculty1")
        assert assigned_unit_ids(task_id) == _ids(org, "general", "faculty1")


CHANGED_PLAN = re.sub(r"2\.召开党政联席会议。每年两次召开党政联席会议。",
                      "2.召开党政联席会议和研判会议。每年两次召开党政联席会议，每季度召开意识形态研判会议。",
                      SMALL_PLAN).replace("3.管理宣传阵地。", "4.管理网络阵地。")


def test_reimport_shows_a_diff_and_replaces_only_on_confirmation(app, client, org, admin, draft):
    with app.app_context():
        before = row_counts()
        old_task_ids = {task.id for task in db.session.get(Plan, draft).tasks}
    response = client.post(f"/plans/{draft}/reimport", data={"csrf_token": admin, "text": CHANGED_PLAN})
    assert response.status_code == 200
    page = html(response)
    assert texts(page.xpath("//ul[@class='diff-added']/li")) == ["4. 管理网络阵地。"]
    assert texts(page.xpath("//ul[@class='diff-removed']/li")) == ["3. 管理宣传阵地。"]
    changed = page.xpath("//div[@class='diff-changed']")
    assert [c.get("data-task-number") for c in changed] == ["2"]
    assert set(changed[0].xpath(".//tr/@data-field")) == {"title", "body", "requirements"}
    assert "意识形态研判会" in texts(changed[0].xpath(".//tr[@data-field='requirements']//ins"))[0]
    with app.app_context():  # nothing replaced yet
        assert row_counts() == before
        assert {task.id for task in db.session.get(Plan, draft).tasks} == old_task_ids
    token = page.xpath("//input[@name='token']/@value")[0]
    tampered = client.post(f"/plans/{draft}/reimport/confirm", data={"csrf_token": admin, "token": token[:-3] + "abc"})
    assert tampered.status_code == 302
    with app.app_context():
        assert {task.id for task in db.session.get(Plan, draft).tasks} == old_task_ids
    client.post(f"/plans/{draft}/reimport/confirm", data={"csrf_token": admin, "token": token})
    with app.app_context():
        plan = db.session.get(Plan, draft)
        assert [task.title for task in plan.tasks] == ["开展政治学习。", "召开党政联席会议和研判会议。", "管理网络阵地。"]
        assert {r.kind for r in plan.tasks[1].requirements} == {"党政联席会议", "意识形态研判会"}
        assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "reimport")).scalar_one().entity == "plan"


def test_reimport_of_the_same_document_says_so(app, client, org, admin, draft):
    page = html(client.post(f"/plans/{draft}/reimport", data={"csrf_token": admin, "text": SMALL_PLAN}))
    assert texts(by_class(page, "diff-empty")) == ["新文件与现有草稿内容相同。"]


def test_a_token_for_another_plan_is_refused(app, client, org, admin, draft):
    with app.app_context():
        other = make_draft(org)
    token = html(client.post(f"/plans/{other}/reimport", data={"csrf_token": admin, "text": CHANGED_PLAN})
                 ).xpath("//input[@name='token']/@value")[0]
    client.post(f"/plans/{draft}/reimport/confirm", data={"csrf_token": admin, "token": token})
    with app.app_context():
        assert task_by_number(draft, 3).title == "管理宣传阵地。"


def test_copy_to_next_year(app, client, org, admin):
    with app.app_context():
        plan_id = make_published(org)
        draft_id = make_draft(org)
    refused = client.post(f"/plans/{draft_id}/copy", data={"csrf_token": admin})
    assert refused.headers["Location"].endswith(f"/plans/{draft_id}")
    response = client.post(f"/plans/{plan_id}/copy", data={"csrf_token": admin})
    copy_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        copy, original = db.session.get(Plan, copy_id), db.session.get(Plan, plan_id)
        assert (copy.year, copy.status, copy.title) == (2026, "draft", "计算机学院2026年党建工作方案")
        assert len(copy.sections) == 2 and len(copy.tasks) == 3
        first = copy.tasks[0]
        assert (first.starts_on, first.due_on) == (date(2026, 1, 1), date(2026, 6, 30))
        assert first.deadline_text == "2026年1月启动，6月底前完成。"
        assert [(r.kind, r.cadence, r.weekday, r.level) for r in first.requirements] == \
            [(r.kind, r.cadence, r.weekday, r.level) for r in original.tasks[0].requirements]
        assert assigned_unit_ids(first.id) == assigned_unit_ids(original.tasks[0].id)
        assert db.session.execute(select(func.count(LedgerRow.id)).join(Task).where(Task.plan_id == copy_id)
                                  ).scalar_one() == 0
        assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "copy")).scalar_one().entity_id == copy_id
