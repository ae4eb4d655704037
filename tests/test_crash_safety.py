"""kill -9 on gunicorn workers in the middle of a write load loses nothing and breaks nothing.

A real gunicorn on a free 127.0.0.1 port serves the test's own SQLite file; three writer threads
edit ledger rows inline while the workers are killed twice. Afterwards the database passes its
integrity checks, every row equals the replay of its audit log (no half-saved row), every answer
the writers got matches the audit log, and the site serves again after a full restart.
"""
from __future__ import annotations

import http.client
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, select

from bench.server import free_port
from bench.sessions import Session, fetch, login
from bench.verify import EditLog, check_edits
from webapp import create_app
from webapp.extensions import db
from webapp.models import LedgerRow, Plan, Section, Task
from webapp.org import add_unit, add_user

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "crash-pass-2023"
WRITERS = 3
SAVES_BETWEEN_KILLS = 8  # the load is bounded by saves, not by time, so a busy machine only makes it slower
SAVE_WAIT_SECONDS = 20
VERSION = re.compile(r'data-version="(\d+)"')


def _seed(database_url: str, instance: Path, monkeypatch) -> list[int]:
    """A college with one student branch, two classes, a staff member and 12 ledger rows. Returns row ids."""
    monkeypatch.setenv("TAIZHANG_INSTANCE", str(instance))
    site = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"})
    with site.app_context():
        from flask_migrate import upgrade
        upgrade()
        college = add_unit("计算机学院党总支", "general")
        branch = add_unit("学生第一党支部", "branch", college, "student")
        units = [branch, add_unit("2023级计算机1班", "class", branch), add_unit("2023级计算机2班", "class", branch)]
        add_user("crash-staff", "压力测试", "staff", branch, PASSWORD)
        year = date.today().year
        plan = Plan(unit_id=college.id, year=year, title=f"{year}年工作方案", status="published")
        section = Section(plan=plan, position=1, number="一", title="一、加强理论武装")
        tasks = [Task(plan=plan, section=section, position=n, number=n, title=f"任务{n}") for n in range(1, 5)]
        db.session.add_all([plan, section, *tasks])
        db.session.flush()
        rows = [LedgerRow(task_id=task.id, unit_id=unit.id) for task in tasks for unit in units]
        db.session.add_all(rows)
        db.session.commit()
        row_ids = [row.id for row in rows]
        db.session.remove()
    return row_ids


class Server:
    """gunicorn for the test's database; `crash()` kills the master and its workers with SIGKILL."""

    def __init__(self, database_url: str, instance: Path, log: Path):
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "crash-secret",
               "TAIZHANG_INSTANCE": str(instance)}
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.process = subprocess.Popen(
            [str(gunicorn), "--workers", "2", "--worker-class", "gthread", "--threads", "2", "--no-control-socket",
             "--bind", f"127.0.0.1:{self.port}", "--graceful-timeout", "2",
             # Workers fork from a loaded app, so killed ones come back at once and the load goes on.
             "--preload", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.wait_ready()

    def wait_ready(self, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited"
            try:
                if fetch(self.base_url, "GET", "/login").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not serve /login within {seconds} s")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def kill_workers(self) -> list[int]:
        killed = self.workers()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        return killed

    def crash(self) -> None:
        workers = self.workers()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


class Writer(threading.Thread):
    """Edits random rows with the version it last saw; logs every request and its answer (or its loss)."""

    def __init__(self, number: int, server: Server, session: Session, rows: list[int], stop: threading.Event):
        super().__init__(daemon=True)
        self.number, self.server, self.session, self.rows, self.stop = number, server, session, rows, stop
        self.versions = {row: 1 for row in rows}
        self.sent: list[tuple[int, str]] = []
        self.answers: dict[str, int] = {}
        self.saved = 0
        self.random = random.Random(number)

    def run(self) -> None:
        count = 0
        while not self.stop.is_set() and count < 5000:
            count += 1
            row = self.random.choice(self.rows)
            value = f"crash-{self.number}-{count}"
            self.sent.append((row, value))
            try:
                answer = fetch(self.server.base_url, "POST", f"/ledger/rows/{row}", self.session.cookie,
                               {"progress": value, "status": self.random.choice(["in_progress", "not_started"]),
                                "version": self.versions[row]},
                               {"X-CSRFToken": self.session.csrf, "HX-Request": "true"})
            except (OSError, http.client.HTTPException):
                continue  # the worker died mid-request: the outcome is unknown, the audit log decides
            self.answers[value] = answer.status
            self.saved += answer.status == 200
            found = VERSION.search(answer.text)
            if found:
                self.versions[row] = int(found.group(1))


def _wait_for_saves(writers: list[Writer], count: int) -> None:
    """Block until the writers have had `count` more edits answered 200."""
    def saved() -> int:
        return sum(writer.saved for writer in writers)
    target = saved() + count
    deadline = time.monotonic() + SAVE_WAIT_SECONDS
    while saved() < target:
        assert time.monotonic() < deadline, f"the writers saved {saved()} of {target} edits in {SAVE_WAIT_SECONDS} s"
        time.sleep(0.02)


def _edit_log(writers: list[Writer]) -> EditLog:
    log = EditLog()
    for writer in writers:
        log.rows.update(row for row, _ in writer.sent)
        log.answered.update(writer.answers)
        log.unanswered.update(value for _, value in writer.sent if value not in writer.answers)
    return log


def test_killing_workers_mid_write_loses_nothing(tmp_path, monkeypatch):
    database = tmp_path / "crash.db"
    url = f"sqlite:///{database}"
    instance = tmp_path / "instance"
    rows = _seed(url, instance, monkeypatch)
    log_file = tmp_path / "gunicorn.log"
    server = Server(url, instance, log_file)
    try:
        sessions = [login(server.base_url, "crash-staff", PASSWORD) for _ in range(WRITERS)]
        stop = threading.Event()
        writers = [Writer(n, server, sessions[n], rows, stop) for n in range(WRITERS)]
        for writer in writers:
            writer.start()
        killed = []
        for _ in range(2):
            _wait_for_saves(writers, SAVES_BETWEEN_KILLS)
            killed += server.kill_workers()
        _wait_for_saves(writers, SAVES_BETWEEN_KILLS)  # the respawned workers take writes again
        stop.set()
        for writer in writers:
            writer.join(30)
        assert len(killed) == 4, f"expected to kill 2 workers twice, killed {killed}"
        server.wait_ready()  # the master replaced the killed workers
        server.crash()  # and now the whole server dies too
    finally:
        server.stop()

    log = _edit_log(writers)

    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        # Each save bumps the version once and writes one progress entry, or does neither.
        saves = dict(connection.execute(
            "SELECT entity_id, count(*) FROM audit_entry WHERE entity = 'ledger_row' AND field = 'progress' "
            "GROUP BY entity_id").fetchall())
        versions = dict(connection.execute("SELECT id, version FROM ledger_row").fetchall())
    finally:
        connection.close()
    assert {row: version - 1 for row, version in versions.items() if version > 1} == saves

    engine = create_engine(url)
    try:
        findings = check_edits(engine, log)
    finally:
        engine.dispose()
    assert findings.lost_updates == 0, findings.examples

    restarted = Server(url, instance, log_file)
    try:
        session = login(restarted.base_url, "crash-staff", PASSWORD)
        engine = create_engine(url)
        with engine.connect() as connection:
            row_id, version = connection.execute(
                select(LedgerRow.id, LedgerRow.version).order_by(LedgerRow.id).limit(1)).one()
        engine.dispose()
        answer = fetch(restarted.base_url, "POST", f"/ledger/rows/{row_id}", session.cookie,
                       {"progress": "after-restart", "version": version},
                       {"X-CSRFToken": session.csrf, "HX-Request": "true"})
        assert answer.status == 200, answer.text[:300]
        assert VERSION.search(answer.text).group(1) == str(version + 1)
    finally:
        restarted.stop()
