"""Dashboards right after a burst of inline edits: `python bench/dashboard_after_edits.py [--database-url URL] [N]`.

The ledger figures are cached per college and the edits since read as a delta (`webapp/reports/ledger_rollups.py`):
this prints the CPU per dashboard request (university and college secretary, median of 10) while warm, then after N
inline edits (half text, half status changes) through the editor's save in one college. Both should stay flat.
Edits change rows of the database (use a copy: bench/out/quick.db by default).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import g  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.generate import _sqlalchemy_url  # noqa: E402
from bench.inprocess import logged_in  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.ledger import queries, services  # noqa: E402
from webapp.models import LedgerRow, Unit, User  # noqa: E402
from webapp.permissions import activate_scope  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("edits", nargs="?", type=int, default=3000)
    parser.add_argument("--database-url", help="default: bench/out/quick.db")
    args = parser.parse_args(argv)
    url = _sqlalchemy_url(args.database_url) if args.database_url else f"sqlite:///{ROOT / 'bench/out/quick.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-burst", "SESSION_COOKIE_SECURE": False,
                      "REMEMBER_COOKIE_SECURE": False})
    clients = {"university": logged_in(app, "secretary"), "college": logged_in(app, "g1-secretary")}

    def timing(label: str) -> None:
        for name, client in clients.items():
            client.get("/overview")
            cpu = []
            for _ in range(10):
                started = time.process_time()
                assert client.get("/overview").status_code == 200
                cpu.append((time.process_time() - started) * 1000)
            print(f"{label:<24} {name:<11} cpu median {statistics.median(cpu):6.1f} ms", flush=True)

    timing("warm")
    rng = random.Random(1)
    with app.test_request_context("/"):
        secretary = db.session.execute(select(User).where(User.username == "secretary")).scalar_one()
        g._login_user = secretary
        activate_scope(secretary)
        college_path = db.session.execute(select(Unit.path).join(User, User.unit_id == Unit.id)
                                          .where(User.username == "g1-secretary")).scalar_one()
        ids = db.session.execute(select(LedgerRow.id).join(Unit, Unit.id == LedgerRow.unit_id)
                                 .where(Unit.path.startswith(college_path))).scalars().all()
        started = time.time()
        for number in range(args.edits):
            row = queries.row_view(rng.choice(ids))
            changes = ({"progress": f"burst {number}"} if rng.random() < 0.5
                       else {"status": rng.choice(["done", "in_progress", "not_started"])})
            try:
                services.save_edited_row(secretary, row, row.version, changes)
            except services.StaleVersion:
                db.session.rollback()
        print(f"{args.edits} edits in {time.time() - started:.1f} s", flush=True)
    timing("right after the edits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
