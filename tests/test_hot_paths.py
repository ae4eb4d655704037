"""The hot paths run a fixed set of statements (bench/README.md has their CPU cost)."""
import re

import pytest
from flask import g
from sqlalchemy import select

from tests.ledger_factories import HX, make_plan, post_row, row_element, rows_of
from tests.statements import recorded_statements
from webapp.extensions import db
from webapp.models import AuditEntry, LedgerRow, User


def _statements(app, send) -> tuple[list[str], object]:
    with recorded_statements(app) as seen:
        answer = send()
    return seen, answer


def _after_login(seen: list[str]) -> list[str]:
    """The request's own statements: after the login's (the server-side session and its user in one SELECT)."""
    first = next(i for i, statement in enumerate(seen) if "ledger_row" in statement or "FROM unit" in statement)
    assert all(statement.startswith("SELECT") for statement in seen[:first]) and first <= 1, seen
    return seen[first:]


def test_an_inline_edit_is_one_load_one_scoped_update_one_audit_insert_and_no_reload(app, org, login_as, csrf):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
    row_id = rows_of(ids, org.units["faculty1"])[0]
    client = login_as("staff1")
    token = csrf(target=client, path="/")
    version = row_element(client.get(f"/ledger/rows/{row_id}", headers=HX).get_data(as_text=True),
                          row_id).get("data-version")
    seen, answer = _statements(app, lambda: post_row(client, row_id, token, progress="已完成一半", remarks="按计划",
                                                     version=version))
    assert answer.status_code == 200
    assert row_element(answer.get_data(as_text=True), row_id).get("data-version") == str(int(version) + 1)
    # The row with all its fragment needs (one SELECT under the scope), the compare-and-set UPDATE that carries
    # the version, the scope and (for staff: none beyond the scope) the permission, both fields' audit entries in
    # one INSERT; nothing is read after the UPDATE.
    edit = _after_login(seen)
    assert [statement.split()[0] for statement in edit] == ["SELECT", "UPDATE", "INSERT"], seen
    # The scope's pattern is `(? || '')`, never a bare parameter (SQLite would re-prepare the statement each time).
    scope = re.compile(r"unit\.path LIKE \(\S+ \|\| ''\)")
    assert "FROM ledger_row" in edit[0] and scope.search(edit[0]), edit[0]
    assert edit[1].startswith("UPDATE ledger_row SET") and "ledger_row.version = " in edit[1] \
        and scope.search(edit[1]), edit[1]
    assert edit[2].startswith("INSERT INTO audit_entry")
    with app.app_context():
        entries = db.session.execute(select(AuditEntry.field, AuditEntry.before, AuditEntry.after, AuditEntry.user_id)
                                     .where(AuditEntry.entity_id == row_id).order_by(AuditEntry.id)).all()
    assert [tuple(entry) for entry in entries] == [("progress", "", "已完成一半", org.users["staff1"]),
                                                  ("remarks", "", "按计划", org.users["staff1"])]


def test_a_monitors_update_also_names_their_own_unit(app, org, login_as, csrf):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["class1"]], sections=1, tasks_per_section=1)
    row_id = rows_of(ids, org.units["class1"])[0]
    client = login_as("monitor1")
    token = csrf(target=client, path="/")
    seen, answer = _statements(app, lambda: post_row(client, row_id, token, lead="王五", version="1"))
    assert answer.status_code == 200
    update = next(statement for statement in seen if statement.startswith("UPDATE ledger_row"))
    assert "ledger_row.unit_id = " in update, update


def test_the_row_fragment_is_one_select(app, org, login_as):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
    row_id = rows_of(ids, org.units["faculty1"])[0]
    client = login_as("staff1")
    seen, answer = _statements(app, lambda: client.get(f"/ledger/rows/{row_id}", headers=HX))
    assert answer.status_code == 200
    own = _after_login(seen)
    assert len(own) == 1 and own[0].startswith("SELECT") and "unit.path LIKE" in own[0], own


def test_the_ledger_page_reads_the_same_statements_for_any_number_of_rows(app, org, login_as):
    with app.app_context():
        make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1, year=2023)
    client = login_as("staff1")
    path = f"/units/{org.units['faculty1']}/ledger"
    few, answer = _statements(app, lambda: client.get(path))
    assert answer.status_code == 200
    with app.app_context():
        make_plan(org.units["general"], [org.units["faculty1"]], sections=3, tasks_per_section=10, year=2024)
    many, answer = _statements(app, lambda: client.get(path))
    assert answer.status_code == 200 and answer.get_data(as_text=True).count('class="ledger-row') == 30
    assert len(many) == len(few), (few, many)
    # The unit with its plans and their sections, the 30 rows with their tasks, editors and files, the unit selector:
    # one statement each, every one under the scope.
    own = [statement for statement in _after_login(many) if statement.replace('"', "").startswith((
        "SELECT unit.id, unit.name", "SELECT ledger_row.id, ledger_row.task_id"))]
    assert len(own) == 3, own
    assert all("unit.path LIKE" in statement for statement in own), own
    assert len(_after_login(many)) == 4, many  # and the bell's unread count (base.html)


def test_a_save_that_loses_the_race_after_its_read_is_merged_by_the_general_path(app, org):
    """The editor's save checks the version it read in the UPDATE; when another save lands in between, it falls
    back to save_row, which reads again and merges (different fields) or reports the conflict (same field)."""
    from webapp.ledger import queries, services
    from webapp.permissions import activate_scope
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
    row_id = rows_of(ids, org.units["faculty1"])[0]
    with app.test_request_context("/"):
        staff = db.session.get(User, org.users["staff1"])
        g._login_user = staff
        activate_scope(staff)
        stale = queries.row_view(row_id)
        services.save_row(staff, row_id, 1, {"lead": "李四"})  # lands between the read and the UPDATE
        saved = services.save_edited_row(staff, stale, 1, {"progress": "推进中"})
        assert (saved.lead, saved.progress, saved.version) == ("李四", "推进中", 3)
        stale = queries.row_view(row_id)
        services.save_row(staff, row_id, 3, {"remarks": "甲"})
        try:
            services.save_edited_row(staff, stale, 3, {"remarks": "乙"})
        except services.StaleVersion as conflict:
            assert conflict.fields == ("remarks",) and conflict.current.remarks == "甲"
        else:
            raise AssertionError("the same field changed by both must be a conflict")
        row = db.session.execute(select(LedgerRow).where(LedgerRow.id == row_id)
                                 .execution_options(populate_existing=True)).scalar_one()
        assert (row.lead, row.progress, row.remarks, row.version) == ("李四", "推进中", "甲", 4)
        db.session.remove()


def test_the_page_and_the_fragment_show_a_row_in_the_same_bytes(app, org, login_as, csrf):
    """One renderer makes both: the page's row is byte for byte the fragment htmx swaps in after a save."""
    import re
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=2, tasks_per_section=2)
    row_ids = rows_of(ids, org.units["faculty1"])
    client = login_as("staff1")
    token = csrf(target=client, path="/")
    saved = post_row(client, row_ids[1], token, progress="<b>推进</b> & 完成", status="in_progress", version="1")
    assert saved.status_code == 200
    page = client.get(f"/units/{org.units['faculty1']}/ledger").get_data(as_text=True)
    for row_id in row_ids:
        fragment = client.get(f"/ledger/rows/{row_id}", headers=HX).get_data(as_text=True)
        found = re.search(rf'<tr id="row-{row_id}" .*?</tr>', page, re.S)
        assert found and found.group(0) == fragment, row_id
    assert saved.get_data(as_text=True) == client.get(f"/ledger/rows/{row_ids[1]}", headers=HX).get_data(as_text=True)


def test_the_inline_editors_hand_read_form_agrees_with_ledger_row_form(app):
    """The edit's route reads its POST without building LedgerRowForm: same fields, version check, errors, values."""
    from datetime import date
    from types import SimpleNamespace

    from werkzeug.datastructures import MultiDict

    from webapp.ledger.forms import LedgerRowForm, SentRowEdit

    row = SimpleNamespace(status="in_progress", completed_on=None)
    long_name, long_note = "名" * 201, "注" * 2001
    cases = [
        {"progress": " 进展\r\n第二行 ", "version": "3"},
        {"lead": long_name, "members": "甲、乙", "remarks": long_note, "version": "1"},
        {"status": "finished", "version": "2"}, {"status": "done", "version": "2"},
        {"status": "done", "completed_on": "2025-03-01", "version": "2"},
        {"completed_on": "2031-01-01", "version": "2"}, {"completed_on": "2020-13-40", "version": "2"},
        {"completed_on": "", "status": "not_started", "version": "0"},
        {"progress": "x"}, {"progress": "x", "version": ""}, {"progress": "x", "version": "abc"},
        {"progress": "x", "version": "99999999999999999999"}, {"progress": "x", "version": "-5"},
        {"progress": "x", "version": " 7 "}, {"version": "4"}, {},
    ]
    for case in cases:
        sent = MultiDict(case)
        with app.test_request_context("/ledger/rows/1", method="POST", data=sent):
            from flask import request
            form = LedgerRowForm(present=list(request.form))
            hand = SentRowEdit(request.form, request.files)
            assert hand.present == form.present, case
            assert hand.version.validate(hand) == form.version.validate(form), case
            assert hand.version.data == form.version.data, case
            assert hand.validate_for(row, 2025, date(2025, 6, 1)) == form.validate_for(row, 2025, date(2025, 6, 1))
            assert hand.field_errors == form.field_errors, case
            assert hand.changes == form.changes, case
            assert hand.submitted_values() == form.submitted_values(), case
    import io

    import pytest
    from werkzeug.exceptions import BadRequest
    with app.test_request_context("/ledger/rows/1", method="POST",
                                  data={"version": "1", "progress": (io.BytesIO(b"x"), "a.txt")}):
        from flask import request
        with pytest.raises(BadRequest):
            LedgerRowForm(present=list(request.form))
        with pytest.raises(BadRequest):
            SentRowEdit(request.form, request.files)


def test_an_inline_status_change_moves_the_ledger_figure_stamp_before_its_commit(app, org, login_as, csrf,
                                                                                  monkeypatch):
    """The edit commits on the driver first (prepared.commit_first); the dashboards' stamp (written by the session's
    before-commit hook) must still be inside the edit's transaction: before that commit, with the write lock held."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the write lock and this commit marker are SQLite's")
    from webapp.sqlite_queue import QueuedWriteConnection
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=1)
    row_id = rows_of(ids, org.units["faculty1"])[0]
    client = login_as("staff1")
    token = csrf(target=client, path="/")
    with recorded_statements(app) as seen:
        real_commit = QueuedWriteConnection.commit

        def marked_commit(self):
            seen.append(f"COMMIT holding={self._holding}")
            return real_commit(self)

        monkeypatch.setattr(QueuedWriteConnection, "commit", marked_commit)
        answer = post_row(client, row_id, token, status="in_progress", version="1")
    assert answer.status_code == 200
    first_commit = next(i for i, statement in enumerate(seen) if statement.startswith("COMMIT"))
    stamp = next(i for i, statement in enumerate(seen) if "ledger_figure_stamp" in statement)
    update = next(i for i, statement in enumerate(seen) if statement.startswith("UPDATE ledger_row"))
    assert update < stamp < first_commit and seen[first_commit] == "COMMIT holding=True", seen
