"""Statements compiled once and run on the session's DB-API cursor (webapp/prepared.py) behave as Connection.execute
does: the same values back (dates and times as objects on SQLite too), the engine's cursor events, SQLAlchemy's
exceptions, the session's transaction."""
from datetime import date, datetime

import pytest
from sqlalchemy import bindparam, exc, insert, select

from tests.ledger_factories import make_plan, rows_of
from tests.statements import recorded_statements
from webapp.extensions import db
from webapp.models import AuditEntry, LedgerRow
from webapp.prepared import Prepared, commit_first

_ROW = select(LedgerRow.id, LedgerRow.completed_on, LedgerRow.updated_at, LedgerRow.progress).where(
    LedgerRow.id == bindparam("row_id"))


@pytest.fixture
def row_id(app, org):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
        row_id = rows_of(ids, org.units["faculty1"])[0]
        row = db.session.get(LedgerRow, row_id)
        row.completed_on, row.updated_at, row.progress = date(2023, 5, 4), datetime(2023, 5, 4, 10, 11, 12, 345678), "甲"
        db.session.commit()
        return row_id


def test_a_prepared_select_returns_what_core_returns(app, row_id):
    with app.app_context():
        core = db.session.execute(_ROW, {"row_id": row_id}).all()
        prepared = Prepared(_ROW).all({"row_id": row_id})
        assert [tuple(row) for row in core] == prepared
        assert prepared == [(row_id, date(2023, 5, 4), datetime(2023, 5, 4, 10, 11, 12, 345678), "甲")]
        assert Prepared(_ROW).all({"row_id": -1}) == []


def test_its_statements_are_seen_by_the_engines_cursor_events(app, row_id):
    with recorded_statements(app) as seen, app.app_context():
        Prepared(_ROW).all({"row_id": row_id})
    assert len(seen) == 1 and seen[0].startswith("SELECT ledger_row.id") and "WHERE ledger_row.id = " in seen[0]


_ENTRY_KEYS = ("at", "user_id", "unit_id", "entity", "entity_id", "action", "field", "before", "after")


def test_writes_join_the_sessions_transaction_and_driver_errors_are_sqlalchemys(app, row_id):
    entry = {"at": datetime(2023, 5, 4), "user_id": None, "unit_id": None, "entity": "ledger_row",
             "entity_id": row_id, "action": "update", "field": "progress", "before": "甲", "after": "乙"}
    entries = Prepared(insert(AuditEntry.__table__), _ENTRY_KEYS, many=True)
    with app.app_context():
        before = db.session.query(AuditEntry).count()
        entries.many([entry, {**entry, "field": "remarks"}])
        db.session.rollback()  # nothing written outside the session's transaction
        assert db.session.query(AuditEntry).count() == before
        entries.many([entry])
        commit_first()
        assert db.session.query(AuditEntry).count() == before + 1
        with pytest.raises(exc.IntegrityError):
            entries.many([{**entry, "entity": None}])  # NOT NULL
        db.session.rollback()


def test_a_statement_whose_defaults_the_execution_would_compute_is_refused(app):
    with app.app_context():
        keys_without_time = [key for key in _ENTRY_KEYS if key != "at"]  # `at` has a Python-side default
        with pytest.raises(ValueError):
            Prepared(insert(AuditEntry.__table__), keys_without_time, many=True).many([{}])
