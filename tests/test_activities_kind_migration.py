"""Migration 0002_kind_owner on a database with kinds: they go to the top unit, and back on downgrade."""
import pytest
from sqlalchemy import inspect, text

from webapp import create_app
from webapp.extensions import db

UNITS = [(1, "某大学党委", None, "/1/"), (2, "计算机学院党总支", 1, "/1/2/"), (3, "外国语学院党总支", None, "/3/")]


def _database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kinds.db'}"
    return request.getfixturevalue("postgres_url").replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_app(request, tmp_path):
    """An app on an empty database of its own, upgraded to 0001_initial only."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": _database_url(request, tmp_path), "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(revision="0001_initial")
        yield app
        db.engine.dispose()


def _insert_kinds(conn, names):
    for position, name in enumerate(names):
        conn.execute(text("INSERT INTO activity_kind (name, cadence, count, level, position, active) "
                          "VALUES (:name, 'month', 1, 'branch', :position, :active)"),
                     {"name": name, "position": position, "active": True})


def test_existing_kinds_go_to_the_top_unit_and_come_back(migrated_app):
    from flask_migrate import downgrade, upgrade
    with db.engine.begin() as conn:
        for unit_id, name, parent_id, path in UNITS:
            conn.execute(text("INSERT INTO unit (id, name, kind, parent_id, path, active, created_at) "
                              "VALUES (:id, :name, 'general', :parent, :path, :active, CURRENT_TIMESTAMP)"),
                         {"id": unit_id, "name": name, "parent": parent_id, "path": path, "active": True})
        _insert_kinds(conn, ["党课", "主题班会"])
    upgrade(revision="0002_kind_owner")
    with db.engine.connect() as conn:
        owners = dict(conn.execute(text("SELECT name, unit_id FROM activity_kind")).all())
    assert owners == {"党课": 1, "主题班会": 1}
    columns = {column["name"]: column for column in inspect(db.engine).get_columns("activity_kind")}
    assert columns["unit_id"]["nullable"] is False
    unique = {tuple(c["column_names"]) for c in inspect(db.engine).get_unique_constraints("activity_kind")}
    assert unique == {("unit_id", "name")}
    downgrade(revision="0001_initial")
    with db.engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT name FROM activity_kind")).scalars()) == ["主题班会", "党课"]
    assert {tuple(c["column_names"]) for c in inspect(db.engine).get_unique_constraints("activity_kind")} == {("name",)}


def test_an_empty_site_upgrades_without_units(migrated_app):
    from flask_migrate import upgrade
    upgrade(revision="0002_kind_owner")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM activity_kind")).scalar() == 0
    assert "unit_id" in {column["name"] for column in inspect(db.engine).get_columns("activity_kind")}
