"""Several years of a university: `python bench/years.py --database-url postgresql://… --years 10`.

Takes a PostgreSQL database built by `bench/generate.py` (one year of activities, e.g. 1 M) and adds the
activities of the N-1 years before it, inside PostgreSQL: one `INSERT … SELECT` per earlier year copying the
generated year's activities with every date shifted back by whole years (29 February becomes the 28th). The
activity table's secondary indexes are dropped for the copy and built again afterwards, then the counters are
rebuilt (`flask recount`, every year) and the tables analysed. Only activities are copied: the earlier years have
no plans or ledger rows (the dashboards read the current year's). Prints the time of each step.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import _sqlalchemy_url  # noqa: E402

COPIED = ("unit_id", "kind_id", "topic", "place", "host", "present", "expected", "summary", "status",
          "review_comment", "reviewed_by_id", "created_by_id", "version", "field_versions")
SHIFTED_DATES = ("held_on",)
SHIFTED_TIMES = ("reviewed_at", "created_at", "updated_at")


def step(name: str, started: float, rows: int | None = None) -> None:
    extra = f"{rows:>12,} rows" if rows is not None else " " * 17
    print(f"  {name:<28}{extra} in {time.perf_counter() - started:7.1f} s", flush=True)


def add_years(database_url: str, years: int) -> dict:
    from sqlalchemy import text

    from webapp import create_app
    from webapp.activities.counters import recount
    from webapp.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(database_url)})
    timings: dict[str, float] = {}
    begun = time.perf_counter()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            raise SystemExit("bench/years.py builds the years inside PostgreSQL: pass a postgresql:// URL")
        with db.engine.begin() as conn:
            first, last = conn.execute(text("SELECT min(held_on), max(held_on) FROM activity")).one()
            if first is None or first.year != last.year:
                raise SystemExit(f"expected one generated year of activities, found {first} … {last}")
            year = last.year
            indexes = conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'activity' "
                "AND indexname <> 'pk_activity'")).all()
            started = time.perf_counter()
            for name, _definition in indexes:
                conn.execute(text(f'DROP INDEX "{name}"'))
            columns = ", ".join(COPIED + SHIFTED_DATES + SHIFTED_TIMES)
            total = 0
            for back in range(1, years):
                shift = f"make_interval(years => {back})"
                values = ", ".join(COPIED + tuple(f"({c} - {shift})::date" for c in SHIFTED_DATES)
                                   + tuple(f"{c} - {shift}" for c in SHIFTED_TIMES))
                copied = conn.execute(text(
                    f"INSERT INTO activity ({columns}) SELECT {values} FROM activity "
                    f"WHERE held_on BETWEEN :first AND :last ORDER BY unit_id, kind_id, held_on"),
                    {"first": f"{year}-01-01", "last": f"{year}-12-31"}).rowcount
                total += copied
                step(f"activities of {year - back}", started, copied)
            timings["copy"] = time.perf_counter() - started
            started = time.perf_counter()
            conn.execute(text("SET maintenance_work_mem = '1GB'"))
            for _name, definition in indexes:
                conn.execute(text(definition))
            timings["indexes"] = time.perf_counter() - started
            step("indexes", started)
        started = time.perf_counter()
        rows = recount(db.session)
        db.session.commit()
        timings["recount"] = time.perf_counter() - started
        step("counters (recount)", started, rows)
        started = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            activities = conn.exec_driver_sql("SELECT count(*) FROM activity").scalar()
        timings["analyze"] = time.perf_counter() - started
        step("vacuum analyze", started)
    timings["total"] = time.perf_counter() - begun
    print(f"  total {timings['total']:.1f} s: {activities:,} activities over {years} years, {rows:,} counter rows",
          flush=True)
    return {"activities": activities, "added": total, "counter_rows": rows,
            "timings": {k: round(v, 1) for k, v in timings.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--years", type=int, default=10, help="years in all, the generated one included")
    args = parser.parse_args(argv)
    if not args.database_url or not args.database_url.startswith(("postgresql", "postgres")):
        parser.error("pass --database-url postgresql://… (a database built by bench/generate.py)")
    add_years(args.database_url, args.years)
    return 0


if __name__ == "__main__":
    sys.exit(main())
