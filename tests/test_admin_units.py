"""Units: the tree list with search, inline editing, moving, (de)activating, creating, deleting."""
from datetime import date

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Activity, ActivityKind, Unit

from .admin_factories import (admin_client, alert, audit_entries, cell, edit_buttons, field, field_error, fragment,
                              page, row, row_classes, snapshot, status_note, unit_form)


@pytest.fixture
def admin(client, login_as, csrf, org):
    return admin_client(client, login_as, csrf)


def row_names(tree) -> list[str]:
    return [" ".join(button.text_content().split()) for button in edit_buttons(tree)]


def test_units_page_shows_the_scope_as_an_indented_tree(admin, org):
    html = page(admin.client.get("/admin/units"))
    assert row_names(html) == ["计算机学院党总支", "教工第一党支部", "学生第一党支部", "2023级计算机1班",
                               "2023级计算机2班", "学生第二党支部", "2023级网络工程1班"]
    class1 = row(html, "unit", org.units["class1"])
    assert "depth-2" in row_classes(html, "unit", org.units["class1"])
    assert cell(class1, "上级单位") == "学生第一党支部"
    assert cell(class1, "用户") == "1"  # monitor1
    assert cell(row(html, "unit", org.units["student1"]), "类型") == "党支部 · 学生"
    assert cell(row(html, "unit", org.units["general"]), "用户") == "2"  # admin, secretary


def test_active_search_filters_by_name_and_keeps_the_filter_in_the_url(admin, org):
    html = page(admin.client.get("/admin/units?q=计算机"))
    assert row_names(html) == ["计算机学院党总支", "2023级计算机1班", "2023级计算机2班"]
    assert field(html, "q").get("value") == "计算机"
    search_form = html.xpath("//form[@role='search']")[0]
    assert "input changed delay:250ms, search" in search_form.get("hx-trigger")
    response = admin.get("/admin/units?q=网络")
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert row_names(fragment(response)) == ["2023级网络工程1班"]


def test_clicking_a_name_opens_the_editor_with_the_name_focused(admin, org):
    editor = fragment(admin.get(f"/admin/units/{org.units['class1']}/edit?focus=name"))
    name = field(editor, "name")
    assert name.get("value") == "2023级计算机1班" and name.get("autofocus") is not None
    assert editor.xpath("//form[@data-inline-editor]//button[@data-cancel]")
    cancel = fragment(admin.get(f"/admin/units/{org.units['class1']}/row"))
    assert edit_buttons(row(cancel, "unit", org.units["class1"]))[0].get("autofocus") is not None


def test_rename_saves_and_writes_an_audit_entry(app, admin, org):
    with app.app_context():
        data = unit_form(org.unit("class1"), name="2023级计算机一班")
    response = admin.post(f"/admin/units/{org.units['class1']}", data)
    assert response.status_code == 200
    assert row_names(fragment(response)) == ["2023级计算机一班"]
    with app.app_context():
        assert org.unit("class1").name == "2023级计算机一班"
        [entry] = audit_entries("unit", org.units["class1"])
        assert (entry.field, entry.before, entry.after) == ("name", "2023级计算机1班", "2023级计算机一班")
        assert entry.unit_id == org.units["class1"] and entry.user_id == org.users["admin"]


def test_change_kind_and_category(app, admin, org):
    with app.app_context():
        data = unit_form(org.unit("student2"), category="faculty")
    updated = fragment(admin.post(f"/admin/units/{org.units['student2']}", data))
    assert cell(row(updated, "unit", org.units["student2"]), "类型") == "党支部 · 教工"
    with app.app_context():
        data = unit_form(org.unit("class3"), kind="branch", category="student")
    admin.post(f"/admin/units/{org.units['class3']}", data)
    with app.app_context():
        assert (org.unit("class3").kind, org.unit("class3").category) == ("branch", "student")
        # A unit that stops being a branch loses its category.
        admin.post(f"/admin/units/{org.units['class3']}", unit_form(org.unit("class3"), kind="class"))
        db.session.expire_all()
        assert (org.unit("class3").kind, org.unit("class3").category) == ("class", None)
        fields = {e.field for e in audit_entries("unit", org.units["class3"])}
        assert fields == {"kind", "category"}


@pytest.mark.parametrize("changes, name, message", [
    ({"name": ""}, "name", "请输入名称。"),
    ({"name": "长" * 101}, "name", "最多 100 个字符。"),
    ({"kind": "branch", "category": ""}, "category", "党支部须选择教工或学生类别。"),
    ({"kind": "planet"}, "kind", "请选择类型。"),
    ({"parent_id": "999999"}, "parent_id", "请从列表中选择单位。"),
])
def test_validation_errors_come_back_in_the_editor(app, admin, org, changes, name, message):
    with app.app_context():
        data = unit_form(org.unit("class1"), **changes)
        before = snapshot()
    response = admin.post(f"/admin/units/{org.units['class1']}", data)
    assert response.status_code == 422
    editor = fragment(response)
    assert field_error(editor, name) == message
    if name == "name":  # the typed input is kept
        assert (field(editor, "name").get("value") or "") == changes["name"]
    with app.app_context():
        assert snapshot() == before


def test_move_rewrites_the_path_of_the_whole_subtree(app, admin, org):
    with app.app_context():
        data = unit_form(org.unit("student1"), parent_id=org.units["faculty1"])
    response = admin.post(f"/admin/units/{org.units['student1']}", data)
    assert response.status_code == 200
    assert cell(row(fragment(response), "unit", org.units["student1"]), "上级单位") == "教工第一党支部"
    with app.app_context():
        faculty1, student1, class1 = org.unit("faculty1"), org.unit("student1"), org.unit("class1")
        assert student1.path == f"{faculty1.path}{student1.id}/"
        assert class1.path == f"{student1.path}{class1.id}/" and class1.parent_id == student1.id
        ids = set(db.session.execute(Unit.subtree_ids(faculty1.path)).scalars())
        assert ids == {org.units[k] for k in ("faculty1", "student1", "class1", "class2")}
        assert set(db.session.execute(Unit.subtree_ids(org.unit("general").path)).scalars()) == {
            org.units[k] for k in ("general", "faculty1", "student1", "student2", "class1", "class2", "class3")}
        [entry] = audit_entries("unit", org.units["student1"])
        assert entry.field == "parent" and "计算机学院党总支" in entry.before and "教工第一党支部" in entry.after


@pytest.mark.parametrize("target", ["student1", "class1"])
def test_moving_a_unit_under_itself_or_its_descendants_is_refused(app, admin, org, target):
    with app.app_context():
        data = unit_form(org.unit("student1"), parent_id=org.units[target])
        before = snapshot()
    response = admin.post(f"/admin/units/{org.units['student1']}", data)
    assert response.status_code == 422
    assert field_error(fragment(response), "parent_id") == "不能把单位移到它自身或它的下级单位之下。"
    with app.app_context():
        assert snapshot() == before


def test_the_admins_own_unit_keeps_its_place(app, admin, org):
    editor = fragment(admin.get(f"/admin/units/{org.units['general']}/edit"))
    assert not editor.xpath("//*[@name='parent_id']") and editor.xpath("//*[@name='name']")
    with app.app_context():
        data = unit_form(org.unit("general"), name="计算机学院党委", parent_id=org.units["foreign"])
    assert admin.post(f"/admin/units/{org.units['general']}", data).status_code == 200
    with app.app_context():
        general = org.unit("general")
        assert (general.name, general.parent_id, general.path) == ("计算机学院党委", None, f"/{general.id}/")


def test_deactivate_and_reactivate(app, admin, org):
    updated = fragment(admin.post(f"/admin/units/{org.units['class2']}/active", {"active": "0"}))
    assert "inactive" in row_classes(updated, "unit", org.units["class2"])
    assert cell(row(updated, "unit", org.units["class2"]), "状态") == "已停用"
    html = page(admin.client.get("/admin/units"))
    assert "inactive" in row_classes(html, "unit", org.units["class2"])  # stays in the tree, greyed
    admin.post(f"/admin/units/{org.units['class2']}/active", {"active": "1"})
    with app.app_context():
        assert org.unit("class2").active is True
        entries = audit_entries("unit", org.units["class2"])
        changes = [(e.field, e.before, e.after) for e in entries]
        assert changes == [("active", "True", "False"), ("active", "False", "True")]


def test_an_admin_cannot_deactivate_their_own_unit(app, admin, org):
    response = admin.post(f"/admin/units/{org.units['general']}/active", {"active": "0"})
    assert response.status_code == 422
    assert alert(fragment(response)) == "不能停用您自己所在的单位。"
    with app.app_context():
        assert org.unit("general").active is True


def test_create_unit(app, admin, org):
    response = admin.post("/admin/units", {"name": "2024级软件工程1班", "kind": "class", "category": "",
                                           "parent_id": org.units["student2"]})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "units-changed"
    assert status_note(fragment(response)) == "已创建 2024级软件工程1班。"
    with app.app_context():
        unit = db.session.execute(select(Unit).where(Unit.name == "2024级软件工程1班")).scalar_one()
        assert unit.path == f"{org.unit('student2').path}{unit.id}/" and unit.category is None
        [entry] = audit_entries("unit", unit.id)
        assert entry.action == "create" and entry.unit_id == unit.id and "学生第二党支部" in entry.after


def test_create_unit_refuses_a_parent_outside_the_scope(app, admin, org):
    with app.app_context():
        before = snapshot()
    response = admin.post("/admin/units", {"name": "渗透", "kind": "class", "parent_id": org.units["foreign_branch"]})
    assert response.status_code == 422
    form = fragment(response)
    assert field_error(form, "parent_id") == "请从列表中选择单位。"
    assert field(form, "name").get("value") == "渗透"
    with app.app_context():
        assert snapshot() == before


def test_delete_refusal_names_what_the_unit_holds(app, admin, org):
    with app.app_context():
        before = snapshot()
    response = admin.post(f"/admin/units/{org.units['student1']}/delete")
    assert response.status_code == 409
    assert alert(fragment(response)) == "该单位下仍有 1 个用户、2 个下级单位，不能删除；可以停用。"
    with app.app_context():
        assert snapshot() == before


def test_delete_refusal_counts_records_too(app, admin, org):
    with app.app_context():
        kind = ActivityKind(unit_id=org.units["general"], name="主题班会")
        db.session.add(kind)
        db.session.flush()
        db.session.add(Activity(unit_id=org.units["class2"], kind_id=kind.id, held_on=date(2024, 3, 1), topic="开学"))
        db.session.commit()
    response = admin.post(f"/admin/units/{org.units['class2']}/delete")
    assert response.status_code == 409
    assert alert(fragment(response)) == "该单位下仍有 1 条活动记录，不能删除；可以停用。"


def test_delete_an_empty_unit(app, admin, org):
    admin.post("/admin/units", {"name": "临时班级", "kind": "class", "parent_id": org.units["student1"]})
    with app.app_context():
        unit_id = db.session.execute(select(Unit.id).where(Unit.name == "临时班级")).scalar_one()
    response = admin.post(f"/admin/units/{unit_id}/delete")
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    with app.app_context():
        assert db.session.get(Unit, unit_id) is None
        entries = audit_entries("unit", unit_id)
        assert [e.action for e in entries] == ["create", "delete"]
        # The history of a deleted unit stays readable under its parent.
        assert {e.unit_id for e in entries} == {org.units["student1"]}
        assert "临时班级" in entries[-1].before and entries[-1].after is None
    assert admin.get(f"/admin/units/{unit_id}/row").status_code == 404


def test_moving_a_deleted_units_activities_to_the_parent_keeps_the_counters_true(app, admin, org):
    """The dashboards count approved activities from `activity_counter`: activities handed to the parent unit must
    be counted there, as a recount would."""
    from webapp.activities import counters
    with app.app_context():
        kind = ActivityKind(unit_id=org.units["general"], name="主题班会")
        db.session.add(kind)
        db.session.flush()
        db.session.add(Activity(unit_id=org.units["class2"], kind_id=kind.id, held_on=date(2024, 3, 1), topic="开学",
                                status="approved"))
        db.session.commit()
        assert counters.check(db.session) == []
    response = admin.post(f"/admin/units/{org.units['class2']}/delete", {"move": "1"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    with app.app_context():
        assert db.session.get(Unit, org.units["class2"]) is None
        assert counters.check(db.session) == []
