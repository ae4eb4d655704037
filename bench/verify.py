"""Nothing lost: match what the load generator was told against the rows and the audit log."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
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


def check_rollups(base_url: str, database_url: str, usernames=("secretary", "g1-secretary")) -> tuple[bool, list[str]]:
    """The dashboards the running servers answer (their cached obligation figures, `activities.rollups`) equal
    the same pages computed afresh in this process with the cache off."""
    from bench.generate import BENCH_PASSWORD
    from bench.inprocess import logged_in
    from bench.sessions import fetch, login
    from webapp import create_app
    from webapp.activities import rollups

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "verify",
                      "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
    differences = []
    enabled, rollups.cache.enabled = rollups.cache.enabled, False
    try:
        for username in usernames:
            served = fetch(base_url, "GET", "/overview", login(base_url, username, BENCH_PASSWORD).cookie)
            fresh = logged_in(app, username).get("/overview")
            body = served.body.decode() if isinstance(served.body, bytes) else served.body
            a, b = (TOKENS.sub("", text) for text in (body, fresh.get_data(as_text=True)))
            if served.status != 200 or a != b:
                at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                differences.append(f"{username}: served {served.status}, {len(a)} bytes; fresh {len(b)} bytes; "
                                   f"from {a[max(at - 60, 0):at + 60]!r} vs {b[max(at - 60, 0):at + 60]!r}")
    finally:
        rollups.cache.enabled = enabled
    return not differences, differences
