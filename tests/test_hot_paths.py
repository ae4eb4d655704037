"""The hot paths run a fixed set of statements (bench/README.md has their CPU cost)."""
from sqlalchemy import event

from tests.ledger_factories import HX, make_plan, post_row, row_element, rows_of
from webapp.extensions import db


def _statements(app, send) -> tuple[list[str], object]:
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split())[:60])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        answer = send()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen, answer


def test_an_inline_edit_is_one_load_one_update_one_audit_insert_and_no_reload(app, org, login_as, csrf):
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
    # Before the edit's own statements: the login's (the session and its user in one SELECT). Then the row with all its fragment
    # needs, the compare-and-set UPDATE, both fields' audit entries in one INSERT; nothing is read after the UPDATE.
    first = next(i for i, statement in enumerate(seen) if "ledger_row" in statement)
    assert all(statement.startswith("SELECT") for statement in seen[:first]) and first <= 1, seen
    edit = seen[first:]
    assert [statement.split()[0] for statement in edit] == ["SELECT", "UPDATE", "INSERT"], seen
    assert edit[1].startswith("UPDATE ledger_row") and edit[2].startswith("INSERT INTO audit_entry")
