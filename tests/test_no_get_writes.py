"""No GET request writes to the database: every argument-free page and the unit pages, for every role."""
import pytest
from sqlalchemy import event

from webapp.extensions import db

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@pytest.mark.parametrize("user", ["admin", "secretary", "staff1", "monitor1"])
def test_get_pages_write_nothing(app, org, client, login_as, user):
    with app.app_context():  # a tree without kinds yet: the kinds page and the activity form used to seed them
        engine = db.engine
    login_as(user)
    urls = sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments and rule.endpoint not in ("static", "auth.logout")})
    urls += [f"/units/{org.units['class1']}/ledger", f"/units/{org.units['class1']}/obligations",
             f"/units/{org.units['faculty1']}/ledger.xlsx"]
    writes = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip()[:7].upper().startswith(WRITES):
            writes.append(statement.split("\n")[0][:80])

    event.listen(engine, "before_cursor_execute", note)
    try:
        for url in urls:
            response = client.get(url)
            assert response.status_code < 500, url
            assert not writes, f"GET {url} wrote: {writes}"
    finally:
        event.remove(engine, "before_cursor_execute", note)
