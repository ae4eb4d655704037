"""Many clients saving overlapping rows at once: no edit is lost, no 500, and the audit log replays to the rows."""
import threading

from sqlalchemy import select

from tests.ledger_factories import HX, make_plan, row_element, rows_of
from webapp.extensions import db
from webapp.models import AuditEntry, LedgerRow

THREADS, SAVES_PER_THREAD = 4, 8


def test_concurrent_saves_lose_nothing_and_never_fail(app, org, login_as, csrf):
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"]], sections=1, tasks_per_section=2)
    rows = rows_of(ids, org.units["faculty1"])
    clients = []
    for _ in range(THREADS):
        client = login_as("staff1", app.test_client())
        clients.append((client, csrf(target=client, path="/")))
    accepted: list[tuple[int, int, str]] = []  # (row, version after the save, value)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(number: int):
        client, token = clients[number]
        for i in range(SAVES_PER_THREAD):
            row_id = rows[(number + i) % len(rows)]
            value = f"线程{number}-第{i}次"
            for _attempt in range(50):  # re-read the version and retry, as a person would after a conflict
                version = row_element(client.get(f"/ledger/rows/{row_id}", headers=HX).get_data(as_text=True),
                                      row_id).get("data-version")
                response = client.post(f"/ledger/rows/{row_id}", headers=HX,
                                       data={"progress": value, "version": version, "csrf_token": token})
                with lock:
                    statuses.append(response.status_code)
                if response.status_code == 200:
                    new_version = int(row_element(response.get_data(as_text=True), row_id).get("data-version"))
                    with lock:
                        accepted.append((row_id, new_version, value))
                    break
                assert response.status_code == 409, response.status_code

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(statuses) <= {200, 409}, f"unexpected statuses: {sorted(set(statuses))}"
    assert len(accepted) == THREADS * SAVES_PER_THREAD, "every edit eventually landed"
    with app.app_context():
        for row_id in rows:
            row = db.session.get(LedgerRow, row_id)
            saves = sorted((version, value) for r, version, value in accepted if r == row_id)
            # Versions are handed out once each: no two accepted saves were based on the same version.
            assert [version for version, _ in saves] == list(range(2, len(saves) + 2))
            assert (row.version, row.progress) == saves[-1]
            entries = db.session.execute(select(AuditEntry).where(
                AuditEntry.entity == "ledger_row", AuditEntry.entity_id == row_id).order_by(AuditEntry.id)).scalars().all()
            replayed = ""
            for entry in entries:
                assert entry.field == "progress" and entry.before == replayed, "each entry starts where the last ended"
                replayed = entry.after
            assert replayed == row.progress and len(entries) == len(saves)
