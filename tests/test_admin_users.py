"""Users: the list with search and filters, inline editing, creating, password reset, deactivation."""
import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEntry, User

from .admin_factories import (admin_client, alert, audit_entries, cell, field, field_error, fragment, page, row,
                              row_classes, snapshot, status_note, user_form)
from .conftest import PASSWORD
from .test_auth import post_login


@pytest.fixture
def admin(client, login_as, csrf, org):
    return admin_client(client, login_as, csrf)


def usernames(tree) -> list[str]:
    return [" ".join(td.text_content().split()) for td in tree.xpath("//tr[starts-with(@id, 'user-')]/td[1]")]


def test_users_page_lists_the_scope_only(admin, org):
    html = page(admin.client.get("/admin/users"))
    ours = ["admin", "secretary", "staff1", "staff2", "staff3", "monitor1", "monitor3"]
    assert sorted(usernames(html)) == sorted(ours)
    monitor1 = row(html, "user", org.users["monitor1"])
    assert (cell(monitor1, "角色"), cell(monitor1, "单位"), cell(monitor1, "状态")) == ("班长/团支书", "2023级计算机1班", "正常")


@pytest.mark.parametrize("query, expected", [
    ("q=monitor", ["monitor1", "monitor3"]),
    ("q=用户staff1", ["staff1"]),
    ("role=staff", ["staff1", "staff2", "staff3"]),
    ("unit={student1}", ["staff2", "monitor1"]),
    ("unit={student1}&role=monitor", ["monitor1"]),
    ("unit={foreign}", []),
    ("active=0", []),
])
def test_search_and_filters_in_the_url(admin, org, query, expected):
    query = query.format(**org.units)
    response = admin.get(f"/admin/users?{query}")
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert sorted(usernames(fragment(response))) == sorted(expected)
    html = page(admin.client.get(f"/admin/users?{query}"))  # the same URL as a page keeps the filter shown
    assert sorted(usernames(html)) == sorted(expected)


def test_filters_are_kept_in_the_form(admin, org):
    html = page(admin.client.get(f"/admin/users?q=mon&role=monitor&unit={org.units['student1']}&active=1"))
    assert field(html, "q").get("value") == "mon"
    selects = html.xpath("//form[@role='search']//select")
    selected = {select.get("name"): select.xpath("option[@selected]/@value") for select in selects}
    assert selected == {"role": ["monitor"], "unit": [str(org.units["student1"])], "active": ["1"]}


def test_editor_opens_with_the_display_name_focused(admin, org):
    editor = fragment(admin.get(f"/admin/users/{org.users['monitor1']}/edit?focus=display_name"))
    name = field(editor, "display_name")
    assert name.get("value") == "用户monitor1" and name.get("autofocus") is not None
    assert field(editor, "active").get("checked") is not None


@pytest.mark.parametrize("changes, column, shown, attribute, stored", [
    ({"display_name": "陈班长"}, "显示名称", "陈班长", "display_name", "陈班长"),
    ({"role": "staff"}, "角色", "支部委员", "role", "staff"),
    ({"unit_id": "class2"}, "单位", "2023级计算机2班", "unit_id", "class2"),
    ({"locale": "en"}, "语言", "English", "locale", "en"),
    ({"active": ""}, "状态", "已停用", "active", False),
])
def test_inline_edit_of_each_field(app, admin, org, changes, column, shown, attribute, stored):
    changes = {key: org.units.get(value, value) for key, value in changes.items()}
    with app.app_context():
        data = user_form(org.user("monitor1"), **changes)
        before = getattr(org.user("monitor1"), attribute)
    response = admin.post(f"/admin/users/{org.users['monitor1']}", data)
    assert response.status_code == 200
    assert cell(row(fragment(response), "user", org.users["monitor1"]), column) == shown
    with app.app_context():
        assert getattr(org.user("monitor1"), attribute) == org.units.get(stored, stored)
        [entry] = audit_entries("user", org.users["monitor1"])
        field_name = "unit" if attribute == "unit_id" else attribute
        assert entry.field == field_name and entry.action == "update"
        assert entry.unit_id == org.user("monitor1").unit_id
        if attribute != "unit_id":
            assert (entry.before, entry.after) == (str(before), str(org.units.get(stored, stored)))
        else:
            assert "2023级计算机1班" in entry.before and "2023级计算机2班" in entry.after


@pytest.mark.parametrize("changes, name, message", [
    ({"display_name": ""}, "display_name", "请输入显示名称。"),
    ({"display_name": "名" * 101}, "display_name", "最多 100 个字符。"),
    ({"role": "king"}, "role", "请选择角色。"),
    ({"unit_id": "foreign"}, "unit_id", "请从列表中选择单位。"),
    ({"locale": "fr"}, "locale", "请选择语言。"),
])
def test_validation_errors_come_back_in_the_editor(app, admin, org, changes, name, message):
    changes = {key: org.units.get(value, value) for key, value in changes.items()}
    with app.app_context():
        data = user_form(org.user("monitor1"), **changes)
        data.setdefault("display_name", "")
        before = snapshot()
    response = admin.post(f"/admin/users/{org.users['monitor1']}", data)
    assert response.status_code == 422
    editor = fragment(response)
    assert field_error(editor, name) == message
    if name == "display_name":  # the typed input is kept
        assert (field(editor, "display_name").get("value") or "") == changes["display_name"]
    with app.app_context():
        assert snapshot() == before


@pytest.mark.parametrize("changes, name, message", [
    ({"active": ""}, "active", "不能停用您自己的账号。"),
    ({"role": "secretary"}, "role", "不能取消您自己的管理员角色。"),
])
def test_an_admin_cannot_lock_themself_out(app, admin, org, changes, name, message):
    with app.app_context():
        data = user_form(org.user("admin"), **changes)
        before = snapshot()
    response = admin.post(f"/admin/users/{org.users['admin']}", data)
    assert response.status_code == 422 and field_error(fragment(response), name) == message
    response = admin.post(f"/admin/users/{org.users['admin']}/active", {"active": "0"})
    assert response.status_code == 422 and alert(fragment(response)) == "不能停用您自己的账号。"
    with app.app_context():
        assert snapshot() == before


def new_user(**changes) -> dict:
    data = {"username": "monitor9", "display_name": "新班长", "role": "monitor", "unit_id": None,
            "locale": "zh_Hans_CN", "password": "long-enough-1"}
    data.update(changes)
    return data


def test_create_user(app, admin, org):
    response = admin.post("/admin/users", new_user(unit_id=org.units["class3"]))
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "users-changed"
    assert status_note(fragment(response)) == "已创建 monitor9。"
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == "monitor9")).scalar_one()
        assert (user.display_name, user.role, user.unit_id) == ("新班长", "monitor", org.units["class3"])
        [entry] = audit_entries("user", user.id)
        assert entry.action == "create" and entry.unit_id == org.units["class3"]
        assert "monitor9" in entry.after and "long-enough-1" not in entry.after and "scrypt" not in entry.after
    assert post_login(app.test_client(), "monitor9", "long-enough-1").headers["Location"] == "/"


@pytest.mark.parametrize("changes, name, message", [
    ({"username": "staff1"}, "username", "该用户名已被使用。"),
    ({"username": "Foreign_Staff"}, "username", "该用户名已被使用。"),  # taken outside the scope, any case
    ({"username": "有 空格"}, "username", "用户名只能包含字母、数字和 . _ - @。"),
    ({"password": "short"}, "password", "密码至少需要 8 个字符。"),
    ({"unit_id": "foreign"}, "unit_id", "请从列表中选择单位。"),
])
def test_create_user_validation(app, admin, org, changes, name, message):
    changes = {key: org.units.get(value, value) for key, value in changes.items()}
    with app.app_context():
        before = snapshot()
    data = new_user(unit_id=org.units["class3"], **changes) if "unit_id" not in changes else new_user(**changes)
    response = admin.post("/admin/users", data)
    assert response.status_code == 422
    form = fragment(response)
    assert field_error(form, name) == message
    assert field(form, "display_name").get("value") == "新班长"
    with app.app_context():
        assert snapshot() == before


def logged_in_client(app, login_as, key):
    other = app.test_client()
    login_as(key, other)
    assert other.get("/").status_code == 200
    return other


def test_password_reset_ends_the_users_sessions(app, admin, org, login_as):
    monitor = logged_in_client(app, login_as, "monitor1")
    form = fragment(admin.get(f"/admin/users/{org.users['monitor1']}/password"))
    assert field(form, "password").get("type") == "password"
    response = admin.post(f"/admin/users/{org.users['monitor1']}/password", {"password": "brand-new-pass"})
    assert response.status_code == 200
    assert status_note(fragment(response)) == "密码已重置，该用户的所有登录会话已结束。"
    assert monitor.get("/").status_code == 302
    assert post_login(app.test_client(), "monitor1", PASSWORD).status_code == 200  # old password refused
    assert post_login(app.test_client(), "monitor1", "brand-new-pass").headers["Location"] == "/"
    with app.app_context():
        [entry] = audit_entries("user", org.users["monitor1"])
        assert (entry.action, entry.before, entry.after, entry.unit_id) == (
            "password_reset", None, None, org.units["class1"])
        hashes = db.session.execute(select(User.password_hash)).scalars().all()
        logged = " ".join(f"{e.before} {e.after}" for e in db.session.execute(select(AuditEntry)).scalars())
        assert "brand-new-pass" not in logged and not any(h in logged for h in hashes)


def test_password_reset_needs_eight_characters(app, admin, org):
    with app.app_context():
        before = snapshot()
    response = admin.post(f"/admin/users/{org.users['monitor1']}/password", {"password": "1234567"})
    assert response.status_code == 422
    assert field_error(fragment(response), "password") == "密码至少需要 8 个字符。"
    with app.app_context():
        assert snapshot() == before


def test_resetting_ones_own_password_keeps_one_logged_in(app, admin, org):
    response = admin.post(f"/admin/users/{org.users['admin']}/password", {"password": "my-own-new-pass"})
    assert response.status_code == 200
    assert admin.client.get("/admin/users").status_code == 200


def test_deactivated_user_loses_their_session(app, admin, org, login_as):
    monitor = logged_in_client(app, login_as, "monitor1")
    response = admin.post(f"/admin/users/{org.users['monitor1']}/active", {"active": "0"})
    assert response.status_code == 200
    assert "inactive" in row_classes(fragment(response), "user", org.users["monitor1"])
    assert monitor.get("/").status_code == 302
    assert post_login(app.test_client(), "monitor1", PASSWORD).status_code == 200  # login refused
    admin.post(f"/admin/users/{org.users['monitor1']}/active", {"active": "1"})
    with app.app_context():
        assert org.user("monitor1").active is True
        entries = audit_entries("user", org.users["monitor1"])
        changes = [(e.field, e.before, e.after) for e in entries]
        assert changes == [("active", "True", "False"), ("active", "False", "True")]
