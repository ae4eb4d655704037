"""Load run: `python bench/run.py [--quick] [--json OUT]`.

Builds (or reuses) the data set, then drives gunicorn on 127.0.0.1 with wrk:
  ceiling    a bare Flask endpoint returning a fixed 1.5 KB fragment (bench/ceiling_app.py)
  edit       inline-edit POSTs on random ledger rows by logged-in staff (CSRF header, tracked versions)
  ledger     ledger page GETs
  dashboard  /overview GETs by a college secretary (and, for the details file, the university's)
then checks that nothing was lost and that the activity counters equal a recount (bench/verify.py) and writes
the figures as JSON. On PostgreSQL two app servers (two gunicorn instances, two ports) share the database.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bench.generate import BENCH_PASSWORD, FULL, QUICK, _sqlalchemy_url, generate_into  # noqa: E402
from bench.server import Gunicorn, GunicornConfig  # noqa: E402
from bench.sessions import Session, fetch, login  # noqa: E402
from bench.verify import EditLog, check_counters, check_edits, check_rollups  # noqa: E402
from webapp.models import Activity, AuditEntry, LedgerRow, Unit  # noqa: E402

OUT = ROOT / "bench" / "out"
LUA = ROOT / "bench" / "lua"
# Chosen on this 2-core machine after measuring the CONFIGS below (bench/README.md).
DEFAULT_CONFIG = GunicornConfig(workers=2, threads=2)
CONFIGS = [GunicornConfig(workers=3, threads=4), GunicornConfig(workers=3, threads=2),
           GunicornConfig(workers=4, threads=2), GunicornConfig(workers=2, threads=2)]
EDIT_BRANCHES = 8  # 16 connections over 8 branches: two sessions share each branch, so conflicts happen
EDITS_PER_SESSION = 2


@dataclass(frozen=True)
class Phases:
    seconds: dict[str, int]
    connections: int = 16
    dashboard_connections: int = 2
    max_requests_per_connection: int = 50_000


QUICK_PHASES = Phases({"ceiling": 10, "edit": 15, "ledger": 10, "dashboard": 10, "dashboard_root": 5, "warmup": 2})
FULL_PHASES = Phases({"ceiling": 20, "edit": 20, "ledger": 15, "dashboard": 15, "dashboard_root": 20, "warmup": 3})


# ---- tools and data -----------------------------------------------------------------------------

def ensure_wrk() -> str:
    """wrk from Debian; installed here when we are root with apt, otherwise a clear message."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=False, stdout=subprocess.DEVNULL)
        if shutil.which("wrk") is None:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=False)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("the load generator wrk is missing: install it with `apt-get install wrk` (Debian)")
    return found


def prepare_database(args) -> tuple[str, dict | None]:
    """The database URL to bench, generated unless --reuse finds one already built."""
    scale = QUICK if args.quick else FULL
    if args.database_url:
        url = _sqlalchemy_url(args.database_url)
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                has_data = connection.execute(select(func.count(Unit.id))).scalar_one() > 0
        except Exception:  # not migrated yet
            has_data = False
        finally:
            engine.dispose()
        if has_data and args.reuse:
            return url, None
        return url, generate_into(url, scale, args.year, reset=has_data)
    path = OUT / ("quick.db" if args.quick else "full.db")
    url = f"sqlite:///{path}"
    if args.reuse and path.exists():
        return url, None
    for stale in OUT.glob(path.name + "*"):
        stale.unlink()
    OUT.mkdir(parents=True, exist_ok=True)
    return url, generate_into(url, scale, args.year)


# ---- sessions and per-phase data ----------------------------------------------------------------

def lua_literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_literal(k)}] = {lua_literal(v)}" for k, v in value.items()) + "}"
    return "{" + ", ".join(lua_literal(item) for item in value) + "}"


def edit_branches(engine: Engine) -> list[tuple[int, str]]:
    """(branch id, path) of the first student branches: their staff edit their own and their classes' rows."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(Unit.id, Unit.path).where(Unit.kind == "branch", Unit.category == "student")
            .order_by(Unit.id).limit(EDIT_BRANCHES))]


def rows_under(engine: Engine, path: str) -> list:
    with engine.connect() as connection:
        return connection.execute(
            select(LedgerRow.id, LedgerRow.version, LedgerRow.lead, LedgerRow.members, LedgerRow.remarks)
            .join(Unit, Unit.id == LedgerRow.unit_id).where(Unit.path.startswith(path)).order_by(LedgerRow.id)).all()


def edit_session_data(engine: Engine, sessions: list[tuple[Session, str]]) -> list[dict]:
    """Cookie, CSRF token, rows with their current versions and unchanged fields, per connection."""
    data = []
    for session, path in sessions:
        rows = rows_under(engine, path)
        data.append({
            "cookie": session.cookie, "csrf": session.csrf, "rows": [row.id for row in rows],
            "versions": [row.version for row in rows],
            "fixed": [f"lead={quote(row.lead)}&members={quote(row.members)}&remarks={quote(row.remarks)}"
                      for row in rows]})
    return data


def run_wrk(wrk: str, base_url: str, script: str, sessions: list[dict], connections: int, seconds: int,
            name: str, phases: Phases, ports: list[int] | None = None) -> dict:
    """One wrk run, one connection per thread; returns the JSON the Lua done() wrote."""
    result = OUT / f"{name}.json"
    data_file = OUT / f"{name}-data.lua"
    for stale in OUT.glob(f"{name}-*.log"):
        stale.unlink()
    data_file.write_text("return " + lua_literal({
        "sessions": sessions, "result": str(result), "log_prefix": str(OUT / f"{name}-"),
        "max_requests": phases.max_requests_per_connection, "ports": ports or [],
        "value_prefix": f"{name}{time.time_ns() // 1_000_000 % 100_000_000}"}) + "\n")
    env = {**os.environ, "BENCH_DATA": str(data_file), "BENCH_LUA_DIR": str(LUA)}
    load_before = os.getloadavg()[0]  # other work on the machine skews the figures; the details file says so
    completed = subprocess.run(
        [wrk, f"-t{connections}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s",
         str(LUA / script), base_url], env=env, capture_output=True, text=True)
    if completed.returncode != 0 or not result.exists():
        raise RuntimeError(f"wrk failed in phase {name}: {completed.stderr or completed.stdout}")
    stats = json.loads(result.read_text())
    stats["loadavg_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    stats["rps"] = round(stats["requests"] / (stats["duration_us"] / 1e6), 1)
    stats["p50_ms"] = round(stats["p50_us"] / 1000, 1)
    stats["p99_ms"] = round(stats["p99_us"] / 1000, 1)
    stats["server_errors"] = sum(n for status, n in stats["statuses"].items() if int(status) >= 500)
    print(f"  {name:<16} {stats['rps']:>8.1f} req/s  p50 {stats['p50_ms']:>7.1f} ms  p99 {stats['p99_ms']:>7.1f} ms"
          f"  statuses {stats['statuses']}  load {stats['loadavg_1min']}", flush=True)
    return stats


# ---- phases ----------------------------------------------------------------------------------------

def ceiling_phase(wrk: str, config: GunicornConfig, phases: Phases, seconds: int) -> dict:
    with Gunicorn("bench.ceiling_app:app", config, log_path=OUT / "gunicorn-ceiling.log") as server:
        sessions = [{"cookie": "", "paths": ["/"]}]
        run_wrk(wrk, server.base_url, "get.lua", sessions, phases.connections, phases.seconds["warmup"],
                "ceiling-warmup", phases)
        return run_wrk(wrk, server.base_url, "get.lua", sessions, phases.connections, seconds, "ceiling", phases)


def app_env(url: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "SECRET_KEY": "bench-secret", "TAIZHANG_INSTANCE": str(OUT / "instance")}


def login_edit_sessions(base_url: str, engine: Engine) -> list[tuple[Session, str, int]]:
    sessions = []
    for branch_id, path in edit_branches(engine):
        for _ in range(EDITS_PER_SESSION):
            sessions.append((login(base_url, f"b{branch_id}-staff1", BENCH_PASSWORD), path, branch_id))
    return sessions


def measure_fragments(base_url: str, engine: Engine, session: Session, path: str, branch_id: int) -> dict:
    """Sizes the users' browsers receive: one edited row (htmx) and one ledger page (full)."""
    page = fetch(base_url, "GET", f"/units/{branch_id}/ledger", session.cookie)
    row = rows_under(engine, path)[0]
    edit = fetch(base_url, "POST", f"/ledger/rows/{row.id}", session.cookie,
                 {"lead": row.lead, "members": row.members, "remarks": row.remarks, "progress": "bench-size-check",
                  "status": "in_progress", "completed_on": "", "version": row.version},
                 {"X-CSRFToken": session.csrf, "HX-Request": "true"})
    if page.status != 200 or edit.status != 200:
        raise RuntimeError(f"ledger page answered {page.status}, inline edit answered {edit.status}: "
                           f"{edit.text[:300]}")
    return {"row_fragment_bytes": len(edit.body), "ledger_page_bytes": len(page.body)}


def wait_until_quiet(engine: Engine, settle: float = 1.0, limit: float = 30.0) -> None:
    """Requests still in flight when wrk stopped may commit later; check only once the audit log stops growing."""
    deadline = time.monotonic() + limit
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            current = connection.execute(select(func.max(AuditEntry.id))).scalar_one()
        if current != last:
            last, since = current, time.monotonic()
        elif time.monotonic() - since >= settle:
            return
        time.sleep(0.2)


def edit_phase(wrk: str, base_url: str, engine: Engine, sessions, phases: Phases, seconds: int, name: str,
               ports: list[int] | None = None) -> dict:
    data = edit_session_data(engine, [(session, path) for session, path, _ in sessions])
    stats = run_wrk(wrk, base_url, "edit.lua", data, phases.connections, seconds, name, phases, ports)
    wait_until_quiet(engine)
    log = EditLog.read(sorted(OUT.glob(f"{name}-*.log")))
    findings = check_edits(engine, log)
    stats["verification"] = {
        "rows_edited": len(log.rows), "answers_200": log.count(200), "answers_409": log.count(409),
        "unanswered_at_stop": len(log.unanswered), "lost_updates": findings.lost_updates,
        "acknowledged_without_audit": findings.acknowledged_without_audit,
        "refused_but_written": findings.refused_but_written, "broken_chains": findings.broken_chains,
        "rows_differing_from_replay": findings.rows_differing_from_replay, "examples": findings.examples}
    print(f"  {'':<16} verified: {stats['verification']}", flush=True)
    return stats


def sequential_timing(base_url: str, session: Session, path: str, seconds: float, most: int = 5) -> dict:
    """One request at a time, for a page too slow for a wrk phase (the university-wide dashboard)."""
    timings, statuses = [], {}
    deadline = time.monotonic() + seconds
    while len(timings) < most and (not timings or time.monotonic() < deadline):
        started = time.perf_counter()
        answer = fetch(base_url, "GET", path, session.cookie)
        timings.append((time.perf_counter() - started) * 1000)
        statuses[str(answer.status)] = statuses.get(str(answer.status), 0) + 1
    timings.sort()
    stats = {"requests": len(timings), "p50_ms": round(timings[len(timings) // 2], 1),
             "max_ms": round(timings[-1], 1), "statuses": statuses, "bytes": len(answer.body),
             "server_errors": sum(n for status, n in statuses.items() if int(status) >= 500)}
    print(f"  {'dashboard_root':<16} {len(timings)} sequential requests, p50 {stats['p50_ms']} ms, "
          f"max {stats['max_ms']} ms, statuses {statuses}", flush=True)
    return stats


class MemoryPeak:
    """Peak resident memory of the app servers (each master with its workers), sampled every 0.25 s."""

    def __init__(self, pids: list[int]):
        self.pids, self.peak_kb, self._stop = pids, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> MemoryPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _rss_kb(pid: int) -> int:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return 0
        return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)

    @staticmethod
    def _children(pid: int) -> list[int]:
        try:
            return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            total = sum(self._rss_kb(pid) + sum(self._rss_kb(child) for child in self._children(pid))
                        for pid in self.pids)
            self.peak_kb = max(self.peak_kb, total)


def app_phases(wrk: str, url: str, config: GunicornConfig, phases: Phases, instances: int = 1) -> dict:
    engine = create_engine(url)
    results: dict = {}
    try:
        with contextlib.ExitStack() as stack:
            # Several instances share the database; wrk's threads take their ports in turn (bench/lua/common.lua).
            servers = [stack.enter_context(Gunicorn("wsgi:app", config, env=app_env(url),
                                                    log_path=OUT / f"gunicorn-app{n or ''}.log", ready_path="/login"))
                       for n in range(instances)]
            ports = [server.port for server in servers]
            memory = stack.enter_context(MemoryPeak([server.process.pid for server in servers]))
            base = servers[0].base_url
            sessions = login_edit_sessions(base, engine)
            ledger_sessions = [{"cookie": s.cookie, "paths": [f"/units/{branch}/ledger"]} for s, _, branch in sessions]
            run_wrk(wrk, base, "get.lua", ledger_sessions, phases.connections, phases.seconds["warmup"],
                    "ledger-warmup", phases, ports)
            results["sizes"] = measure_fragments(base, engine, *sessions[0])
            results["edit"] = edit_phase(wrk, base, engine, sessions, phases, phases.seconds["edit"], "edit", ports)
            results["ledger"] = run_wrk(wrk, base, "get.lua", ledger_sessions, phases.connections,
                                        phases.seconds["ledger"], "ledger", phases, ports)
            dashboard = [{"cookie": login(base, "g1-secretary", BENCH_PASSWORD).cookie, "paths": ["/overview"]}
                         for _ in range(phases.dashboard_connections)]
            run_wrk(wrk, base, "get.lua", dashboard, phases.dashboard_connections, phases.seconds["warmup"],
                    "dashboard-warmup", phases, ports)
            results["dashboard"] = run_wrk(wrk, base, "get.lua", dashboard, phases.dashboard_connections,
                                           phases.seconds["dashboard"], "dashboard", phases, ports)
            # 15 requests: the first one each app process serves computes every college's figures (a cache miss,
            # reported as max_ms); the median is the steady state.
            results["dashboard_root"] = sequential_timing(base, login(base, "secretary", BENCH_PASSWORD), "/overview",
                                                          phases.seconds["dashboard_root"], most=15)
            # The servers' cached dashboards (warm now) against a fresh computation: part of counters_ok.
            rollups_ok, rollup_differences = check_rollups(base, url)
            results["rollups"] = {"ok": rollups_ok, "differences": rollup_differences}
            print(f"  cached dashboards equal fresh ones: {rollups_ok} {rollup_differences or ''}", flush=True)
            results["servers"] = {"instances": instances, "ports": ports,
                                  "peak_rss_mb": round(memory.peak_kb / 1024, 1)}
        ok, differences = check_counters(engine)
        results["counters"] = {"ok": ok, "differences": differences}
        print(f"  counters equal a recount: {ok} {differences or ''}", flush=True)
        with engine.connect() as connection:
            results["rows"] = connection.execute(select(func.count(LedgerRow.id))).scalar_one()
            results["activities"] = connection.execute(select(func.count(Activity.id))).scalar_one()
    finally:
        engine.dispose()
    return results


def compare_configs(wrk: str, url: str, phases: Phases) -> list[dict]:
    """Short ceiling and edit runs under each candidate configuration (README: why DEFAULT_CONFIG)."""
    engine = create_engine(url)
    rows = []
    try:
        for config in CONFIGS:
            print(f"config {config.label()}", flush=True)
            ceiling = ceiling_phase(wrk, config, phases, 8)
            with Gunicorn("wsgi:app", config, env=app_env(url), log_path=OUT / "gunicorn-app.log",
                          ready_path="/login") as server:
                sessions = login_edit_sessions(server.base_url, engine)
                edit = edit_phase(wrk, server.base_url, engine, sessions, phases, 8, "compare-edit")
            rows.append({"config": config.label(), "ceiling_rps": ceiling["rps"], "edit_rps": edit["rps"],
                         "edit_p50_ms": edit["p50_ms"], "edit_p99_ms": edit["p99_ms"],
                         "lost_updates": edit["verification"]["lost_updates"], "server_errors": edit["server_errors"]})
    finally:
        engine.dispose()
    return rows


# ---- report -------------------------------------------------------------------------------------

def machine(url: str) -> dict:
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal"))
    info = {"nproc": os.cpu_count(), "memory_gib": round(memory_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].strip()}
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.connect() as connection:
            info["postgresql"] = connection.exec_driver_sql("SHOW server_version").scalar_one()
        engine.dispose()
    else:
        info["database_bytes"] = Path(url.removeprefix("sqlite:///")).stat().st_size
    return info


def summary(results: dict, ceiling: dict) -> dict:
    """The figures, with exactly the keys outside tools read."""
    edit = results["edit"]
    return {
        "ceiling_rps": ceiling["rps"],
        "edit_rps": edit["rps"],
        "edit_p50_ms": edit["p50_ms"],
        "edit_p99_ms": edit["p99_ms"],
        "ledger_rps": results["ledger"]["rps"],
        "ledger_p99_ms": results["ledger"]["p99_ms"],
        "dashboard_p50_ms": results["dashboard"]["p50_ms"],
        "dashboard_root_p50_ms": results["dashboard_root"]["p50_ms"],
        "row_fragment_bytes": results["sizes"]["row_fragment_bytes"],
        "ledger_page_bytes": results["sizes"]["ledger_page_bytes"],
        "lost_updates": edit["verification"]["lost_updates"],
        "server_errors": sum(results[name]["server_errors"] for name in ("edit", "ledger", "dashboard",
                                                                          "dashboard_root")) + ceiling["server_errors"],
        "rows": results["rows"],
        "activities": results["activities"],
        "counters_ok": results["counters"]["ok"] and results["rollups"]["ok"],
        "rollups_ok": results["rollups"]["ok"],
        "app_servers": results["servers"]["instances"],
        "servers_peak_rss_mb": results["servers"]["peak_rss_mb"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load run against gunicorn on 127.0.0.1 (bench/README.md).")
    parser.add_argument("--quick", action="store_true", help="the small data set and short phases (< 3 minutes)")
    parser.add_argument("--json", dest="json_out", help="write the figures here")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="bench this database (default: a fresh SQLite file in bench/out/)")
    parser.add_argument("--reuse", action="store_true", help="reuse an already generated data set")
    parser.add_argument("--year", type=int, default=time.localtime().tm_year)
    parser.add_argument("--workers", type=int, default=DEFAULT_CONFIG.workers)
    parser.add_argument("--threads", type=int, default=DEFAULT_CONFIG.threads)
    parser.add_argument("--instances", type=int, default=None,
                        help="app servers sharing the database, on as many ports (default: 2 on PostgreSQL, 1 on SQLite)")
    parser.add_argument("--compare-configs", action="store_true", help="also measure the candidate gunicorn configs")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    wrk = ensure_wrk()
    OUT.mkdir(parents=True, exist_ok=True)
    url, generated = prepare_database(args)
    phases = QUICK_PHASES if args.quick else FULL_PHASES
    config = GunicornConfig(workers=args.workers, threads=args.threads)
    print(f"gunicorn {config.label()}; {phases.connections} connections", flush=True)
    ceiling = ceiling_phase(wrk, config, phases, phases.seconds["ceiling"])
    instances = args.instances or (2 if url.startswith("postgresql") else 1)
    print(f"{instances} app server(s)", flush=True)
    results = app_phases(wrk, url, config, phases, instances)
    figures = summary(results, ceiling)
    details = {"figures": figures, "machine": machine(url), "gunicorn": config.label(),
               "connections": phases.connections, "dashboard_connections": phases.dashboard_connections,
               "phase_seconds": phases.seconds, "generated": generated,
               "phases": {"ceiling": ceiling, **{k: v for k, v in results.items() if isinstance(v, dict)}}}
    if args.compare_configs:
        details["configs"] = compare_configs(wrk, url, phases)
    details["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures, indent=2), flush=True)
    print(f"finished in {details['seconds']} s", flush=True)
    if args.json_out:
        out = Path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2) + "\n")
        out.with_name(out.stem + ".details.json").write_text(json.dumps(details, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
