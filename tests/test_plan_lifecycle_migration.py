"""Migration 0007_plan_lifecycle on a database with plans, rows and activities, on SQLite and PostgreSQL:
existing tasks are not archived, rows and activities get an empty field map (so a stale save of them is a
conflict, as before), and downgrade removes the columns again."""
import pytest
from sqlalchemy import inspect, text

from webapp import create_app
from webapp.extensions import db


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_app(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'life.db'}"
    else:
        url = request.getfixturevalue("postgres_url").replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(revision="0007_plan_lifecycle-1")  # the revision before this one
        yield app
        db.engine.dispose()


def test_existing_plans_rows_and_activities_upgrade_and_downgrade(migrated_app):
    from flask_migrate import downgrade, upgrade
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO unit (id, name, kind, path, active, created_at) "
                          "VALUES (1, '计算机学院党总支', 'general', '/1/', :t, CURRENT_TIMESTAMP)"), {"t": True})
        conn.execute(text("INSERT INTO plan (id, unit_id, year, title, status, created_at) "
                          "VALUES (1, 1, 2025, '方案', 'published', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO plan_section (id, plan_id, position, number, title) VALUES (1, 1, 0, '一', '节')"))
        conn.execute(text("INSERT INTO plan_task (id, plan_id, section_id, position, number, title, body, lead, members,"
                          " deadline_text, ongoing, needs_review) VALUES (1, 1, 1, 1, 1, '任务', '', '', '', '', :f, :f)"),
                     {"f": False})
        conn.execute(text("INSERT INTO ledger_row (id, task_id, unit_id, lead, members, progress, status, remarks, version)"
                          " VALUES (1, 1, 1, '', '', '已部署', 'in_progress', '', 4)"))
        conn.execute(text("INSERT INTO activity_kind (id, unit_id, name, cadence, count, level, position, active) "
                          "VALUES (1, 1, '党课', 'quarter', 1, 'branch', 0, :t)"), {"t": True})
        conn.execute(text("INSERT INTO activity (id, unit_id, kind_id, held_on, topic, place, host, summary, status,"
                          " review_comment, created_at, updated_at, version) VALUES (1, 1, 1, '2025-03-01', '党课', '', '',"
                          " '', 'approved', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 2)"))
    upgrade(revision="0007_plan_lifecycle")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT archived FROM plan_task")).scalar_one() in (False, 0)
        assert conn.execute(text("SELECT field_versions, progress, version FROM ledger_row")).one() == (None, "已部署", 4)
        assert conn.execute(text("SELECT field_versions FROM activity")).scalar_one() is None
    downgrade(revision="0007_plan_lifecycle-1")
    assert "archived" not in {c["name"] for c in inspect(db.engine).get_columns("plan_task")}
    assert "field_versions" not in {c["name"] for c in inspect(db.engine).get_columns("ledger_row")}
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT progress FROM ledger_row")).scalar_one() == "已部署"
    upgrade()
