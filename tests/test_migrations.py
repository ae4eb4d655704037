"""Every schema change is a migration: upgrade from empty works on SQLite and PostgreSQL and matches the models."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from webapp import create_app
from webapp.extensions import db


def upgrade_from_empty(url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        from flask_migrate import downgrade, upgrade
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        downgrade(revision="base")
        remaining = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        upgrade()  # leave it usable
        db.engine.dispose()
    return tables, diff, remaining


EXPECTED = {"unit", "user_account", "login_failure", "audit_entry", "plan", "plan_section", "plan_task",
            "requirement", "task_assignment", "ledger_row", "stored_file", "activity_kind", "activity",
            "alembic_version", "reminder", "reminder_delivery", "reminder_setting", "unit_robot", "nudge",
            "prereview_kind", "prereview_item", "prereview_step", "prereview_file", "api_token", "user_session"}
EXPECTED |= {"activity_counter", "met_rollup_stamp", "ledger_figure_stamp"}  # 0010, 0011, 0012


def test_upgrade_from_empty_on_sqlite(tmp_path):
    tables, diff, remaining = upgrade_from_empty(f"sqlite:///{tmp_path / 'm.db'}", tmp_path)
    assert EXPECTED <= tables
    assert diff == [], f"models and migrations disagree: {diff}"
    assert remaining == set()


def test_upgrade_from_empty_on_postgresql(postgres_url, tmp_path):
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    tables, diff, remaining = upgrade_from_empty(url, tmp_path)
    assert EXPECTED <= tables
    assert diff == [], f"models and migrations disagree: {diff}"
    assert remaining == set()


def test_sqlite_runs_in_wal_mode_with_busy_timeout(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas only apply to SQLite (this run is on PostgreSQL)")
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
