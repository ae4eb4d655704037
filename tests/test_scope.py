"""The organisation tree and the scope every query runs under."""
from flask import g
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEntry, Unit, User
from webapp.permissions import activate_scope, in_scope


def names_visible_to(app, org, user_key):
    with app.test_request_context("/"):
        user = db.session.get(User, org.users[user_key])
        activate_scope(user)
        units = db.session.execute(select(Unit).order_by(Unit.id)).scalars().all()
        users = db.session.execute(select(User.username).order_by(User.id)).scalars().all()
        db.session.remove()
        return [u.name for u in units], users


def test_subtree_is_one_query_on_the_path(app, org):
    with app.app_context():
        student1 = db.session.get(Unit, org.units["student1"])
        ids = set(db.session.execute(Unit.subtree_ids(student1.path)).scalars())
        assert ids == {org.units["student1"], org.units["class1"], org.units["class2"]}


def test_paths_follow_the_tree(app, org):
    with app.app_context():
        class1 = db.session.get(Unit, org.units["class1"])
        assert class1.ancestor_ids == [org.units["general"], org.units["student1"], org.units["class1"]]
        assert class1.depth == 2


def test_staff_sees_only_their_subtree(app, org):
    units, users = names_visible_to(app, org, "staff2")
    assert units == ["学生第一党支部", "2023级计算机1班", "2023级计算机2班"]
    assert users == ["staff2", "monitor1"]


def test_monitor_sees_only_their_class(app, org):
    units, users = names_visible_to(app, org, "monitor1")
    assert units == ["2023级计算机1班"] and users == ["monitor1"]


def test_secretary_sees_the_college_but_not_the_foreign_one(app, org):
    units, users = names_visible_to(app, org, "secretary")
    assert "外国语学院党总支" not in units and len(units) == 7
    assert "foreign_admin" not in users and "foreign_staff" not in users


def test_foreign_admin_sees_nothing_of_ours(app, org):
    units, _ = names_visible_to(app, org, "foreign_admin")
    assert units == ["外国语学院党总支", "外语学生党支部"]


def test_scope_applies_to_joins_and_audit(app, org):
    with app.app_context():
        db.session.add_all([AuditEntry(entity="unit", entity_id=1, action="update", unit_id=org.units["class1"]),
                            AuditEntry(entity="unit", entity_id=1, action="update", unit_id=org.units["foreign"])])
        db.session.commit()
    with app.test_request_context("/"):
        activate_scope(db.session.get(User, org.users["staff2"]))
        entries = db.session.execute(select(AuditEntry)).scalars().all()
        assert [e.unit_id for e in entries] == [org.units["class1"]]
        joined = db.session.execute(select(User.username).join(Unit, User.unit_id == Unit.id)).scalars().all()
        assert joined == ["staff2", "monitor1"]
        db.session.remove()


def test_unscoped_option_is_explicit(app, org):
    with app.test_request_context("/"):
        activate_scope(db.session.get(User, org.users["monitor1"]))
        everyone = db.session.execute(select(User).execution_options(unscoped=True)).scalars().all()
        assert len(everyone) == len(org.users)
        db.session.remove()


def test_in_scope(app, org):
    with app.app_context():
        staff2 = db.session.get(User, org.users["staff2"])
        assert in_scope(staff2, db.session.get(Unit, org.units["class2"]))
        assert not in_scope(staff2, db.session.get(Unit, org.units["class3"]))
        assert not in_scope(staff2, db.session.get(Unit, org.units["general"]))


def test_scope_values_are_bound_per_user_not_cached(app, org):
    """The criteria are cached lambdas: each user's own path and ancestors must still be the ones used."""
    from webapp.models import Plan
    with app.app_context():
        db.session.add_all([Plan(unit_id=org.units["general"], year=2026, title="本院方案"),
                            Plan(unit_id=org.units["foreign"], year=2026, title="外院方案")])
        db.session.commit()
    seen = {}
    for user_key in ("staff2", "foreign_staff", "monitor1", "foreign_admin", "secretary"):
        with app.test_request_context("/"):
            activate_scope(db.session.get(User, org.users[user_key]))
            seen[user_key] = db.session.execute(select(Plan.title)).scalars().all()
            db.session.remove()
    assert seen == {"staff2": ["本院方案"], "foreign_staff": ["外院方案"], "monitor1": ["本院方案"],
                    "foreign_admin": ["外院方案"], "secretary": ["本院方案"]}


def test_a_logged_in_request_without_its_scope_is_refused(app, org):
    """Fails closed: a logged-in user's select before activate_scope() is an error, not an unscoped query."""
    import pytest
    from webapp.permissions import ScopeNotSet
    with app.test_request_context("/"):
        user = db.session.get(User, org.users["staff2"])
        g._login_user = user
        with pytest.raises(ScopeNotSet):
            db.session.execute(select(Unit)).scalars().all()
        activate_scope(user)
        assert db.session.execute(select(Unit)).scalars().all()
        db.session.remove()


def test_deliberate_escapes_are_named_helpers():
    """Nothing outside permissions.py (and the login code, which runs before there is a user) escapes the scope."""
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "webapp"
    escapes = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                     if "unscoped=True" in path.read_text(encoding="utf-8"))
    # (The session-and-user SELECT of auth/sessions.py is Core on the connection, which the ORM hook never sees.)
    assert escapes == ["auth/services.py", "permissions.py"]
