"""The ledger's Core reads and its compare-and-set UPDATE (no ORM scope hook) keep the scope: a row of another
college, another class or one the role may only read is answered as before (404 outside, 403 read-only), and
every statement a logged-in ledger request sends about ledger rows or their files names the user's subtree."""
import re

import pytest
from sqlalchemy import event

from tests.ledger_factories import HX, make_plan, post_row, row_element, rows_of
from webapp.extensions import db
from webapp.models import LedgerRow, StoredFile, Unit, User


@pytest.fixture
def rows(app, org):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"], org.units["class1"], org.units["class2"]],
                        sections=1, tasks_per_section=1)
        faculty_row = rows_of(ids, org.units["faculty1"])[0]
        stored = StoredFile(unit_id=org.units["faculty1"], ledger_row_id=faculty_row, filename="证明.pdf",
                            content_type="application/pdf", size=3, sha256="0" * 64, data=b"abc")
        db.session.add(stored)
        db.session.commit()
        return {"faculty1": faculty_row, "class1": rows_of(ids, org.units["class1"])[0],
                "class2": rows_of(ids, org.units["class2"])[0], "file": stored.id}


def _answers(client, token, row_id, file_id=None) -> dict:
    answers = {
        "fragment": client.get(f"/ledger/rows/{row_id}", headers=HX).status_code,
        "editor": client.get(f"/ledger/rows/{row_id}/edit?field=progress", headers=HX).status_code,
        "save": post_row(client, row_id, token, progress="越权", version="1").status_code,
        "history": client.get(f"/ledger/rows/{row_id}/history").status_code,
    }
    if file_id is not None:
        answers["download"] = client.get(f"/files/{file_id}").status_code
    return answers


@pytest.mark.parametrize("who", ["foreign_admin", "foreign_staff"])
def test_another_colleges_user_finds_no_row_by_guessing_its_id(app, org, rows, login_as, csrf, who):
    client = login_as(who)
    token = csrf(target=client, path="/")
    assert set(_answers(client, token, rows["faculty1"], rows["file"]).values()) == {404}
    with app.app_context():
        assert db.session.get(LedgerRow, rows["faculty1"]).progress != "越权"
    assert client.get(f"/units/{org.units['faculty1']}/ledger").status_code == 404


def test_a_monitor_edits_their_own_class_only(app, org, rows, login_as, csrf):
    client = login_as("monitor1")
    token = csrf(target=client, path="/")
    assert set(_answers(client, token, rows["class2"]).values()) == {404}  # a sibling class: outside the scope
    assert post_row(client, rows["class1"], token, progress="本班", version="1").status_code == 200
    with app.app_context():
        assert db.session.get(LedgerRow, rows["class2"]).progress != "越权"
        assert db.session.get(LedgerRow, rows["class1"]).progress == "本班"


def test_a_secretary_reads_but_cannot_edit_through_the_fast_path(app, org, rows, login_as, csrf):
    client = login_as("secretary")
    token = csrf(target=client, path="/")
    answers = _answers(client, token, rows["faculty1"], rows["file"])
    assert answers == {"fragment": 200, "editor": 403, "save": 403, "history": 200, "download": 200}, answers
    fragment = client.get(f"/ledger/rows/{rows['faculty1']}", headers=HX).get_data(as_text=True)
    row = row_element(fragment, rows["faculty1"])
    assert row.get("data-edit") is None and not row.xpath('.//td[contains(@class, "editable")]')
    with app.app_context():
        assert db.session.get(LedgerRow, rows["faculty1"]).progress != "越权"


def test_the_core_reads_refuse_without_a_scope(app):
    from webapp.ledger import queries, services
    from webapp.permissions import ScopeNotSet
    with app.test_request_context("/"):
        with pytest.raises(ScopeNotSet):
            queries.row_view(1)
        with pytest.raises(ScopeNotSet):
            queries.unit_choices()
        with pytest.raises(ScopeNotSet):
            queries.unit_and_plans(1)
        with pytest.raises(ScopeNotSet):
            services.row_to_edit(1)


@pytest.mark.parametrize("who", ["staff1", "secretary", "monitor1", "foreign_admin"])
def test_every_statement_on_ledger_rows_or_their_files_names_the_users_subtree(app, org, rows, login_as, csrf,
                                                                              who):
    """A guard for the next Core statement: whatever reads or writes ledger rows (or their files) in a logged-in
    ledger request must carry the user's subtree (the ORM hook's criteria or `scope_pattern()`), like the test
    that forbids `unscoped=True` outside the named escapes."""
    with app.app_context():
        user = db.session.get(User, org.users[who])
        path = db.session.get(Unit, user.unit_id).path
    scopes = (path, path.replace("/", "//"))  # as scope_pattern() binds it, or the ORM hook's autoescaped form
    client = login_as(who)
    token = csrf(target=client, path="/")
    offending: list[str] = []

    def check(_conn, _cursor, statement, parameters, *_args):
        text = " ".join(statement.split())
        if not re.search(r"\b(ledger_row|stored_file)\b", text) or text.startswith("INSERT"):
            return
        values = parameters.values() if isinstance(parameters, dict) else parameters
        if "LIKE" not in text or not any(isinstance(v, str) and v.startswith(scopes) for v in values):
            offending.append(text)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", check)
    try:
        for row_id in (rows["faculty1"], rows["class1"], rows["class2"]):
            _answers(client, token, row_id, rows["file"])
        for unit in ("faculty1", "class1"):
            client.get(f"/units/{org.units[unit]}/ledger")
            client.get(f"/units/{org.units[unit]}/ledger?q=x&status=done&overdue=1")
        client.get("/ledger/changes")
    finally:
        event.remove(engine, "before_cursor_execute", check)
    assert not offending, offending
