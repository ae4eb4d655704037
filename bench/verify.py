"""Nothing lost: match what the load generator was told against the rows and the audit log."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from webapp.models import AuditEntry, LedgerRow

LEDGER_ENTITY = "ledger_row"
AUDITED_FIELDS = ("lead", "members", "progress", "status", "completed_on", "remarks")


@dataclass
class EditLog:
    """What the clients sent and what they were answered, read from the Lua logs."""
    answered: dict[str, int] = field(default_factory=dict)  # progress value → HTTP status
    unanswered: set[str] = field(default_factory=set)  # in flight when the phase ended
    rows: set[int] = field(default_factory=set)

    @classmethod
    def read(cls, paths: list[Path]) -> EditLog:
        log = cls()
        sent: set[str] = set()
        for path in paths:
            for line in path.read_text().splitlines():
                parts = line.split()
                if parts[0] == "sent":
                    log.rows.add(int(parts[1]))
                    sent.add(parts[2])
                elif len(parts) >= 3:
                    log.answered[parts[2]] = int(parts[0])
        log.unanswered = sent - set(log.answered)
        return log

    def count(self, status: int) -> int:
        return sum(1 for answer in self.answered.values() if answer == status)


@dataclass
class Findings:
    acknowledged_without_audit: int = 0  # a 200 the audit log does not show
    refused_but_written: int = 0  # a 409/4xx/5xx whose value the audit log shows anyway
    broken_chains: int = 0  # an entry whose "before" is not the previous entry's "after"
    rows_differing_from_replay: int = 0  # current value ≠ last audited value
    examples: list[str] = field(default_factory=list)

    @property
    def lost_updates(self) -> int:
        return (self.acknowledged_without_audit + self.refused_but_written + self.broken_chains
                + self.rows_differing_from_replay)

    def note(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


def as_text(value) -> str:
    """The audit log stores str(value); None and '' both mean empty."""
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def check_edits(engine: Engine, log: EditLog) -> Findings:
    findings = Findings()
    if not log.rows:
        return findings
    with engine.connect() as connection:
        rows = {row.id: row for row in connection.execute(
            select(LedgerRow.__table__).where(LedgerRow.id.in_(log.rows)))}
        entries = connection.execute(
            select(AuditEntry.__table__).where(AuditEntry.entity == LEDGER_ENTITY, AuditEntry.entity_id.in_(log.rows))
            .order_by(AuditEntry.id)).all()
    chains: dict[tuple[int, str], list] = defaultdict(list)
    audited_progress: set[str] = set()
    for entry in entries:
        if entry.field in AUDITED_FIELDS:  # evidence entries ("files") are not row columns
            chains[(entry.entity_id, entry.field)].append(entry)
        if entry.field == "progress" and entry.after:
            audited_progress.add(entry.after)
    for value, status in log.answered.items():
        if status == 200 and value not in audited_progress:
            findings.acknowledged_without_audit += 1
            findings.note(f"200 for {value} but no audit entry")
        elif status != 200 and value in audited_progress:
            findings.refused_but_written += 1
            findings.note(f"HTTP {status} for {value} but the audit log shows it written")
    for (row_id, field_name), chain in chains.items():
        for previous, entry in zip(chain, chain[1:]):
            if as_text(entry.before) != as_text(previous.after):
                findings.broken_chains += 1
                findings.note(f"row {row_id} {field_name}: entry {entry.id} before={entry.before!r} "
                              f"but previous after={previous.after!r}")
        row = rows.get(row_id)
        if row is not None and as_text(getattr(row, field_name)) != as_text(chain[-1].after):
            findings.rows_differing_from_replay += 1
            findings.note(f"row {row_id} {field_name}={getattr(row, field_name)!r} but audit says {chain[-1].after!r}")
    return findings


def check_counters(engine: Engine) -> tuple[bool, list[str]]:
    """The activity counters equal a recount from the activities (the default semesters, as the bench app runs)."""
    from sqlalchemy.orm import Session

    from webapp.activities.counters import check
    with Session(engine) as session:
        differences = check(session)
    return not differences, differences[:10]


# What differs between two sessions' pages: CSRF tokens, the seconds left of the login.
TOKENS = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{20,}|data-seconds-left=\"\d+\"")


def check_rollups(base_url: str, database_url: str, usernames=("secretary", "g1-secretary"),
                  paths=("/overview", "/overview/months", "/overview?sort=updated&dir=desc")
                  ) -> tuple[bool, list[str]]:
    """The dashboards the running servers answer (their cached obligation figures, `activities.rollups`, and ledger
    figures, `reports.ledger_rollups`, with the edits since read as a delta) equal the same pages computed afresh in
    this process with every cache off: the overview, its heat map, and the overview sorted by the last update (to
    the second: the page shows only its day), for the university and a college; once warm, once more after two
    edits."""
    from bench.generate import BENCH_PASSWORD
    from bench.inprocess import logged_in
    from bench.sessions import login
    from webapp import create_app
    from webapp.activities import rollups
    from webapp.reports import ledger_rollups

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "verify",
                      "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
    differences = []
    enabled = rollups.cache.enabled, ledger_rollups.cache.enabled
    rollups.cache.enabled = ledger_rollups.cache.enabled = False  # (the subtree cache follows rollups.cache)
    try:
        compare = [(username, login(base_url, username, BENCH_PASSWORD).cookie, logged_in(app, username))
                   for username in usernames]
        for round_ in ("warm", "after a text edit and a status change"):
            if round_ != "warm":
                _edit_two_rows(app)
            differences += _compare_pages(base_url, compare, paths, round_)
    finally:
        rollups.cache.enabled, ledger_rollups.cache.enabled = enabled
    return not differences, differences


def _edit_two_rows(app) -> None:
    """Through the inline editor's save (the Core UPDATE): one text edit (read by the servers as a delta from the
    audit log) and one status change (moves its college's stamp), on the last college's rows (not the edit phase's)."""
    from flask import g
    from sqlalchemy import select as select_

    from webapp.extensions import db
    from webapp.ledger import queries, services
    from webapp.models import User
    from webapp.permissions import activate_scope
    from webapp.clock import frozen_clock, utcnow_naive
    from webapp.models import Activity
    with app.test_request_context("/"):
        secretary = db.session.execute(select_(User).where(User.username == "secretary")).scalar_one()
        g._login_user = secretary
        activate_scope(secretary)
        last = db.session.execute(select_(LedgerRow.id).order_by(LedgerRow.id.desc()).limit(2)).scalars().all()
        # The generator dates activities' updates later today; an edit after every other update changes what the
        # page shows as the college's last update (and the servers see it by its audit entry's id, not its time).
        newest = max(filter(None, [utcnow_naive(), *(db.session.execute(select_(func.max(column))).scalar()
                                                      for column in (Activity.updated_at, LedgerRow.updated_at))]))
        with frozen_clock(newest + timedelta(seconds=1)):
            for row_id, changes in zip(last, ({"progress": f"verify {datetime.now().isoformat()}"}, None)):
                row = queries.row_view(row_id)
                changes = changes or {"status": "done" if row.status != "done" else "in_progress"}
                services.save_edited_row(secretary, row, row.version, changes)
        db.session.remove()


def _compare_pages(base_url: str, compare, paths, round_: str) -> list[str]:
    from bench.sessions import fetch
    differences = []
    for username, cookie, client in compare:
        for path in paths:
            served = fetch(base_url, "GET", path, cookie)
            fresh = client.get(path)
            body = served.body.decode() if isinstance(served.body, bytes) else served.body
            a, b = (TOKENS.sub("", text) for text in (body, fresh.get_data(as_text=True)))
            if served.status != 200 or a != b:
                at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                differences.append(f"{username} {path} ({round_}): served {served.status}, {len(a)} bytes; "
                                   f"fresh {len(b)} bytes; from {a[max(at - 60, 0):at + 60]!r} vs "
                                   f"{b[max(at - 60, 0):at + 60]!r}")
    return differences
