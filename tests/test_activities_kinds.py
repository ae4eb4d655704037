"""Activity kinds belong to a unit: each tree sees its own and its enclosing units' kinds, and nobody else's."""
import lxml.html
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.activities.compliance import obligations_of_year
from webapp.demo import ensure_activity_kinds
from webapp.extensions import db
from webapp.models import ActivityKind, Plan, Unit, User
from webapp.org import add_unit, add_user
from webapp.permissions import activate_scope
from webapp.plans import services as plan_services

from .activities_factories import make_plan
from .plans_factories import SMALL_PLAN, make_draft, task_by_number

HX = {"HX-Request": "true"}
NEW_KIND = {"cadence": "month", "count": "1", "level": "class"}


def page(response):
    return lxml.html.fromstring(response.get_data(as_text=True))


def kind_rows(response) -> dict[int, lxml.html.HtmlElement]:
    """The kinds table's rows by kind id."""
    return {int(tr.get("id").removeprefix("kind-")): tr for tr in page(response).xpath("//*[@id='kind-rows']/tr")}


def kinds_of(unit_id: int) -> dict[str, ActivityKind]:
    return {kind.name: kind for kind in db.session.execute(
        select(ActivityKind).where(ActivityKind.unit_id == unit_id)).scalars()}


def snapshot(unit_id: int) -> list[tuple]:
    return [(kind.id, kind.name, kind.cadence, kind.count, kind.level, kind.active)
            for kind in sorted(kinds_of(unit_id).values(), key=lambda k: k.id)]


@pytest.fixture
def two_colleges(app, org):
    """Both colleges of the `org` fixture with their standard kinds; returns (ours, theirs) as {name: id}."""
    with app.app_context():
        for key in ("general", "foreign"):
            ensure_activity_kinds(db.session.get(Unit, org.units[key]))
        db.session.commit()
        return ({name: kind.id for name, kind in kinds_of(org.units["general"]).items()},
                {name: kind.id for name, kind in kinds_of(org.units["foreign"]).items()})


@pytest.fixture
def university(app, org):
    """A university committee with standard kinds, a college under it and the college's admin ("college_admin")."""
    with app.app_context():
        root = add_unit("某大学党委", "university")
        college = add_unit("数学学院党总支", "general", root)
        branch = add_unit("数学学生党支部", "branch", college, "student")
        org.users["college_admin"] = add_user("mathadmin", "数学学院办公室", "admin", college, "a-long-password-2023").id
        org.units.update(university=root.id, college=college.id, college_branch=branch.id)
        ensure_activity_kinds(root)
        db.session.commit()
        return {name: kind.id for name, kind in kinds_of(root.id).items()}


# ---- a foreign college ------------------------------------------------------------------------------

def test_foreign_admin_neither_sees_nor_changes_our_kinds(app, client, org, login_as, csrf, two_colleges):
    ours, theirs = two_colleges
    with app.app_context():
        before = snapshot(org.units["general"])
    login_as("foreign_admin")
    listed = kind_rows(client.get("/activities/kinds"))
    assert set(listed) == set(theirs.values())
    token = csrf(path="/activities/kinds")
    headers = {**HX, "X-CSRFToken": token}
    our_kind = ours["主题班会"]
    answers = [client.get(f"/activities/kinds/{our_kind}", headers=HX),
               client.get(f"/activities/kinds/{our_kind}/edit", headers=HX),
               client.get(f"/activities/kinds?edit={our_kind}"),
               client.post(f"/activities/kinds/{our_kind}", headers=headers, data={"name": "改名", **NEW_KIND}),
               client.post(f"/activities/kinds/{our_kind}/active", headers=headers, data={"active": "0"})]
    assert [answer.status_code for answer in answers] == [404] * 5
    # The foreign admin's own kind of the same name is theirs to rename.
    renamed = client.post(f"/activities/kinds/{theirs['主题班会']}", headers=headers, data={"name": "班会", **NEW_KIND})
    assert renamed.status_code == 200
    with app.app_context():
        assert snapshot(org.units["general"]) == before
        assert db.session.get(ActivityKind, theirs["主题班会"]).name == "班会"


def test_the_activity_form_offers_only_kinds_visible_from_the_unit(app, client, org, login_as, two_colleges):
    ours, theirs = two_colleges
    with app.app_context():
        class3_kind = ActivityKind(unit_id=org.units["class3"], name="班级特色活动")
        db.session.add(class3_kind)
        db.session.commit()
        class3_kind_id = class3_kind.id
    login_as("admin")
    offered = {int(value) for value in page(client.get(f"/activities/new?unit={org.units['class1']}"))
               .xpath("//select[@name='kind']/option/@value")}
    # class1 sees the college's kinds; not class3's own kind (a sibling's), never the foreign college's.
    assert offered == set(ours.values())
    offered_for_class3 = {int(value) for value in page(client.get(f"/activities/new?unit={org.units['class3']}"))
                          .xpath("//select[@name='kind']/option/@value")}
    assert offered_for_class3 == set(ours.values()) | {class3_kind_id}
    assert not offered_for_class3 & set(theirs.values())


# ---- a college under a university ---------------------------------------------------------------------

def test_college_admin_sees_the_universitys_kinds_read_only(app, client, org, login_as, csrf, university):
    login_as("college_admin")
    rows = kind_rows(client.get("/activities/kinds"))
    assert set(rows) == set(university.values())
    row = rows[university["党课"]]
    assert row.xpath(".//a|.//button") == []
    assert " ".join(row.xpath("string(.//td[contains(@class, 'row-actions')])").split()) == "由上级单位设定"
    token = csrf(path="/activities/kinds")
    headers = {**HX, "X-CSRFToken": token}
    kind = university["党课"]
    answers = [client.get(f"/activities/kinds/{kind}/edit", headers=HX),
               client.get(f"/activities/kinds?edit={kind}"),
               client.post(f"/activities/kinds/{kind}", headers=headers, data={"name": "大党课", **NEW_KIND}),
               client.post(f"/activities/kinds/{kind}/active", headers=headers, data={"active": "0"})]
    assert [answer.status_code for answer in answers] == [403] * 4
    with app.app_context():
        assert (db.session.get(ActivityKind, kind).name, db.session.get(ActivityKind, kind).active) == ("党课", True)


def test_college_admin_adds_and_manages_kinds_of_their_own(app, client, org, login_as, csrf, university):
    login_as("college_admin")
    token = csrf(path="/activities/kinds")
    headers = {**HX, "X-CSRFToken": token}
    clash = client.post("/activities/kinds", headers=headers, data={"name": "党课", **NEW_KIND})
    assert clash.status_code == 422
    assert page(clash).xpath("string(//*[@role='alert'])") == "上级单位已有同名的活动类型，请直接使用。"
    added = client.post("/activities/kinds", headers=headers, data={"name": "数学建模交流", **NEW_KIND})
    assert added.status_code == 200
    with app.app_context():
        kind = db.session.execute(select(ActivityKind).where(ActivityKind.name == "数学建模交流")).scalar_one()
        assert kind.unit_id == org.units["college"]
    row = kind_rows(added)[kind.id]
    # Each action names the kind it acts on (hidden text for screen readers).
    assert [" ".join(button.text_content().split()) for button in row.xpath(".//a|.//button")] == [
        "编辑 数学建模交流", "停用 数学建模交流"]
    retired = client.post(f"/activities/kinds/{kind.id}/active", headers=headers, data={"active": "0"})
    assert retired.status_code == 200 and "inactive" in page(retired).get("class")
    # A kind of a unit below the admin's is theirs too; the university's admin sees it, our college does not.
    with app.app_context():
        below = ActivityKind(unit_id=org.units["college_branch"], name="支部特色活动")
        db.session.add(below)
        db.session.commit()
        below_id = below.id
    assert client.post(f"/activities/kinds/{below_id}/active", headers=headers, data={"active": "0"}).status_code == 200
    login_as("admin")
    assert not set(kind_rows(client.get("/activities/kinds"))) & {kind.id, below_id, *university.values()}


def test_publishing_in_a_fresh_tree_seeds_the_standard_kinds_for_its_root_never_a_get(app, client, org, login_as):
    from webapp.models import AuditEntry
    with app.app_context():
        root = add_unit("某大学党委", "university")
        college = add_unit("数学学院党总支", "general", root)
        org.users["college_admin"] = add_user("mathadmin", "数学学院办公室", "admin", college, "a-long-password-2023").id
        db.session.commit()
        root_id, college_id = root.id, college.id
    login_as("college_admin")
    assert client.get("/activities/kinds").status_code == 200
    assert client.get("/activities/new").status_code == 200
    with app.app_context():
        assert kinds_of(root_id) == {}  # a GET writes nothing
        draft = plan_services.create_draft(plan_services.read_document(SMALL_PLAN, "plan.txt"),
                                           db.session.get(Unit, college_id))
        plan_services.publish(db.session.get(Plan, draft.id))
        assert len(kinds_of(root_id)) == 12 and kinds_of(org.units["general"]) == {}
        created = db.session.execute(select(AuditEntry).where(AuditEntry.entity == "activity_kind",
                                                              AuditEntry.unit_id == root_id)).scalars().all()
        assert len(created) == 12 and {entry.action for entry in created} == {"create"}


# ---- plans link requirements to visible kinds only ------------------------------------------------------

def test_publish_never_links_a_foreign_kind_of_the_same_name(app, org):
    with app.app_context():
        foreign = ActivityKind(unit_id=org.units["foreign"], name="政治学习", cadence="week", level="faculty_branch")
        db.session.add(foreign)
        db.session.commit()
        draft = make_draft(org)
        assert {r.kind: r.kind_id for r in task_by_number(draft, 1).requirements} == {"政治学习": None, "主题班会": None}
        plan_services.publish(db.session.get(Plan, draft))
        linked = {r.activity_kind.name: r.activity_kind for r in task_by_number(draft, 1).requirements}
        assert linked["政治学习"].id != foreign.id
        assert {kind.unit_id for kind in linked.values()} == {org.units["general"]}


def test_publish_in_a_request_links_the_colleges_own_kind(app, client, org, login_as, csrf, two_colleges):
    ours, theirs = two_colleges
    with app.app_context():
        draft = make_draft(org)
    login_as("admin")
    token = csrf(path=f"/plans/{draft}")
    assert client.post(f"/plans/{draft}/publish", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        linked = {r.kind: r.kind_id for r in task_by_number(draft, 1).requirements}
    assert linked == {"政治学习": ours["政治学习"], "主题班会": ours["主题班会"]}


def test_a_colleges_plan_uses_the_universitys_kinds(app, org, university):
    with app.app_context():
        college = db.session.get(Unit, org.units["college"])
        document = plan_services.read_document(SMALL_PLAN, filename="plan.txt")
        plan = plan_services.create_draft(document, college)
        plan_services.publish(plan)
        linked = {r.kind: r.kind_id for task in plan.tasks for r in task.requirements}
    assert linked["政治学习"] == university["政治学习"]


def test_compliance_matches_an_unlinked_requirement_by_name_on_the_plans_line_only(app, org, two_colleges):
    ours, _theirs = two_colleges
    with app.app_context():
        make_plan(org.units["general"], 2026, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
        obligations = obligations_of_year(2026)
    assert [(o.kind, o.kind_id) for o in obligations] == [("主题班会", ours["主题班会"])]


def test_in_a_request_an_unlinked_requirement_of_the_universitys_plan_finds_its_kind(app, org, university):
    with app.app_context():
        # The kind's name is matched against the plan's unit path, which the scope would hide from the college.
        make_plan(org.units["university"], 2026, [{"kind": "党课", "cadence": "quarter", "level": "branch"}])
        with app.test_request_context("/"):
            activate_scope(db.session.get(User, org.users["college_admin"]))
            obligations = obligations_of_year(2026)
            db.session.remove()
    assert [(o.kind, o.kind_id) for o in obligations] == [("党课", university["党课"])]


# ---- the model -------------------------------------------------------------------------------------------

def test_kind_names_are_unique_per_unit(app, org):
    with app.app_context():
        db.session.add_all([ActivityKind(unit_id=org.units["general"], name="党课"),
                            ActivityKind(unit_id=org.units["foreign"], name="党课")])
        db.session.commit()
        db.session.add(ActivityKind(unit_id=org.units["general"], name="党课"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
