"""In-process timing of the benchmarked requests: `python bench/inprocess.py [--full] [--profile NAME]`.

Runs the app with Flask's test client against bench/out/{quick,full}.db (build it with bench/run.py or
bench/generate.py), one thread, no server and no contention: CPU per request, SQL statements per request,
and optionally a cProfile of one request kind. Edits change rows of the bench database (as the bench does).
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select  # noqa: E402

from bench.generate import BENCH_PASSWORD, _sqlalchemy_url  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Activity, LedgerRow, Unit  # noqa: E402

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
HTMX = {"HX-Request": "true"}
DATA_VERSION = re.compile(r'data-version="(\d+)"')


def logged_in(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_META.search(page).group(1)
    answer = client.post("/login", data={"username": username, "password": BENCH_PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, (username, answer.status_code)
    client.csrf = CSRF_META.search(client.get("/").get_data(as_text=True)).group(1)
    return client


class StatementCounter:
    """Counts statements; with `show`, re-runs each SELECT to print its full time (execute and fetch) and plan."""

    def __init__(self, engine, show: bool = False, explain_ms: float = 5):
        self.explain_ms = explain_ms
        self.width = 200 if explain_ms >= 5 else 4000
        self.count = 0
        self.show = show
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, parameters, *args):
        if statement.startswith("EXPLAIN") or conn.info.get("rerun"):
            return
        self.count += 1
        if not (self.show and statement.lstrip().upper().startswith(("SELECT", "WITH"))):
            return
        conn.info["rerun"] = True
        try:
            started = time.perf_counter()
            rows = len(conn.exec_driver_sql(statement, parameters).all())
            elapsed = (time.perf_counter() - started) * 1000
            print(f"  {elapsed:8.1f} ms {rows:>6} rows  {' '.join(statement.split())[:self.width]}")
            if elapsed > self.explain_ms and conn.dialect.name == "sqlite":
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters):
                    if row[-1] not in ("SCAN CONSTANT ROW", "UNION ALL"):  # the periods CTE's rows
                        print(f"              plan: {row[-1]}")
        finally:
            conn.info["rerun"] = False


def time_requests(name: str, send, repeat: int, counter: StatementCounter) -> dict:
    send()  # warm caches (compiled statements, templates)
    timings, cpu, statements = [], [], []
    for _ in range(repeat):
        before = counter.count
        started, cpu_started = time.perf_counter(), time.process_time()
        answer = send()
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        statements.append(counter.count - before)
        assert answer.status_code in (200, 409), (name, answer.status_code, answer.get_data(as_text=True)[:300])
    # CPU time of this process (SQLite runs in it) is what to read on a shared machine: wall time includes
    # the waits for a core that other tenants hold.
    figures = {"name": name, "median_ms": round(statistics.median(timings), 1), "min_ms": round(min(timings), 1),
               "cpu_median_ms": round(statistics.median(cpu), 2), "statements": statements[-1],
               "bytes": len(answer.get_data())}
    print(f"{name:<20} median {figures['median_ms']:>8.1f} ms  min {figures['min_ms']:>8.1f} ms  "
          f"cpu {figures['cpu_median_ms']:>8.2f} ms  "
          f"{figures['statements']:>3} statements  {figures['bytes']:>7} bytes", flush=True)
    return figures


# ---- the per-request floor (issue 14b): what every logged-in request pays around its route -------------------

def _floor_requests(staff, repeat: int) -> dict:
    """"floor": the bell fragment (htmx GET; session, user, scope, one COUNT, a few lines of template);
    "floor_bare": GET /session (session, user, scope, a CSRF token, a small JSON: no route SQL, no template);
    "ceiling": a bare Flask hello-world through the test client, the reference for the floor."""
    from bench.ceiling_app import app as ceiling_app
    bare = ceiling_app.test_client()
    return {"floor": (lambda: staff.get("/reminders/bell", headers=HTMX), repeat * 5),
            "floor_bare": (lambda: staff.get("/session"), repeat * 5),
            "ceiling": (lambda: bare.get("/"), repeat * 5)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="bench/out/full.db instead of quick.db")
    parser.add_argument("--database", type=Path, help="another SQLite file (e.g. a copy with an index to try)")
    parser.add_argument("--database-url", help="a PostgreSQL database built by generate.py (postgresql://…)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated request names to run")
    parser.add_argument("--sql", action="store_true", help="print every SELECT with its time (re-run) and slow ones' plans")
    parser.add_argument("--explain-ms", type=float, default=5, help="with --sql: explain SELECTs slower than this")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime)")
    parser.add_argument("--profile-repeat", type=int, default=5, help="requests under the profiler")
    parser.add_argument("--profile-dump", default="", help="also write the profile to this file (pstats)")
    parser.add_argument("--profile", default="", help="cProfile this request name and print the top functions")
    args = parser.parse_args(argv)
    path = args.database or ROOT / "bench" / "out" / ("full.db" if args.full else "quick.db")
    url = _sqlalchemy_url(args.database_url) if args.database_url else f"sqlite:///{path}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-profile",
                      "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
    with app.app_context():
        branch_id, branch_path = db.session.execute(
            select(Unit.id, Unit.path).where(Unit.kind == "branch", Unit.category == "student")
            .order_by(Unit.id).limit(1)).one()
        row_id = db.session.execute(select(LedgerRow.id).where(LedgerRow.unit_id == branch_id)
                                    .order_by(LedgerRow.id).limit(1)).scalar_one()
        counter = StatementCounter(db.engine, args.sql, args.explain_ms)
        db.session.remove()
    staff = logged_in(app, f"b{branch_id}-staff1")
    edits = iter(range(10**9))
    with app.app_context():
        version = [db.session.get(LedgerRow, row_id).version]
        db.session.remove()

    def edit():
        # The next save is based on the version the last answer carried (as the editor does): only the request
        # is timed, not a read of the version beside it.
        answer = staff.post(f"/ledger/rows/{row_id}", headers={**HTMX, "X-CSRFToken": staff.csrf},
                            data={"progress": f"profile {next(edits)} {time.time_ns()}", "status": "in_progress",
                                  "version": version[0]})
        found = DATA_VERSION.search(answer.get_data(as_text=True))
        if found:
            version[0] = int(found.group(1))
        return answer

    statuses = iter(("not_started", "in_progress") * 10**8)

    def edit_status():
        """An edit that also changes the status (half the load run's edits do): moves the college's ledger stamp."""
        answer = staff.post(f"/ledger/rows/{row_id}", headers={**HTMX, "X-CSRFToken": staff.csrf},
                            data={"progress": f"profile {next(edits)} {time.time_ns()}", "status": next(statuses),
                                  "version": version[0]})
        found = DATA_VERSION.search(answer.get_data(as_text=True))
        if found:
            version[0] = int(found.group(1))
        return answer

    def edit_stale():
        """A save based on an older version: the 409 with the other value (a quarter of the load run's answers)."""
        return staff.post(f"/ledger/rows/{row_id}", headers={**HTMX, "X-CSRFToken": staff.csrf},
                          data={"progress": f"stale {next(edits)}", "status": "in_progress",
                                "version": version[0] - 1})

    with app.app_context():  # an approved activity of one college, taken back and approved again in turn
        activity_id = db.session.execute(select(Activity.id).where(Activity.status == "approved")
                                         .order_by(Activity.id).limit(1)).scalar_one()
        db.session.remove()

    def approval_then_root():
        """The university's dashboard right after one approval changed (one college's cached figures are stale)."""
        with app.app_context():
            activity = db.session.get(Activity, activity_id)
            activity.status = "submitted" if activity.status == "approved" else "approved"
            db.session.commit()
            db.session.remove()
        return university.get("/overview")

    college = logged_in(app, "g1-secretary")
    university = logged_in(app, "secretary")
    requests = {
        "edit": (edit, args.repeat),
        "edit_status": (edit_status, args.repeat),
        "edit_stale": (edit_stale, args.repeat),
        "row_fragment": (lambda: staff.get(f"/ledger/rows/{row_id}", headers=HTMX), args.repeat),
        "ledger_page": (lambda: staff.get(f"/units/{branch_id}/ledger"), args.repeat),
        "dashboard_college": (lambda: college.get("/overview"), max(args.repeat // 4, 3)),
        "dashboard_root": (lambda: university.get("/overview"), max(args.repeat // 4, 3)),
        "root_after_approval": (approval_then_root, max(args.repeat // 4, 3)),
    }
    requests.update(_floor_requests(staff, args.repeat))
    only = set(filter(None, args.only.split(",")))
    for name, (send, repeat) in requests.items():
        if not only or name in only:
            time_requests(name, send, repeat, counter)
    if args.profile:
        send = requests[args.profile][0]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.profile_repeat):
            send()
        profiler.disable()
        if args.profile_dump:
            profiler.dump_stats(args.profile_dump)
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(45)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
