"""Time `flask remind` on the university-scale data set: `python bench/remind.py [--quick] [--reuse] [--json FILE]`.

Builds bench/out/remind-{full,quick}.db with bench/generate.py (full: 60,000 users, 34,200 ledger rows,
1,000,000 activities; --quick: 1/100) unless --reuse, gives --emails users an e-mail address and two
units a group robot, starts a local SMTP server (aiosmtpd) and a local webhook receiver on 127.0.0.1,
then runs the reminder computation as of December 27 of the data's year (tasks due December 31 are due
soon, five days are left in the month, the quarter and the year): a dry run, the first run (everything
new: reminders stored, digests composed and sent), and a second run (nothing new, nothing sent).
Prints wall-clock and CPU seconds (this process: the run, plus the small in-process SMTP sink) and counts
per phase; on a shared machine the CPU figure is the steadier one. Nothing is asserted here.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.generate import FULL, QUICK, generate_into  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Reminder, ReminderDelivery, ReminderSetting, Unit, UnitRobot, User  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp_sink():
    """A local SMTP server that counts what it receives (bounded: it only listens on 127.0.0.1)."""
    from aiosmtpd.controller import Controller

    class Count:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Count.received += 1
            return "250 OK"

    port = free_port()
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, Count, f"smtp://127.0.0.1:{port}"


def webhook_sink():
    counter = {"received": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            counter["received"] += 1
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"errcode":0}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, counter, f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=bench"


def prepare(app, emails: int, webhook_url: str) -> None:
    """Addresses for the first `emails` staff and monitors, robots for two branches; old reminders cleared."""
    with app.app_context():
        db.session.execute(Reminder.__table__.delete())
        db.session.execute(ReminderDelivery.__table__.delete())
        db.session.execute(ReminderSetting.__table__.delete())
        db.session.execute(UnitRobot.__table__.delete())
        people = db.session.execute(select(User.id).where(User.role.in_(("staff", "monitor", "secretary")))
                                    .order_by(User.id).limit(emails)).scalars().all()
        db.session.execute(ReminderSetting.__table__.insert(), [
            {"user_id": user_id, "email": f"u{user_id}@example.edu.cn", "digest": "daily"} for user_id in people])
        branches = db.session.execute(select(Unit.id).where(Unit.kind == "branch").order_by(Unit.id).limit(2)).scalars()
        db.session.execute(UnitRobot.__table__.insert(), [
            {"unit_id": unit_id, "url": webhook_url, "format": "wecom"} for unit_id in branches])
        db.session.commit()


def timed_run(app, as_of: date, dry_run: bool = False) -> dict:
    from webapp.reminders.services import run
    with app.app_context(), app.test_request_context("/"):
        started, cpu = time.perf_counter(), time.process_time()
        result = run(as_of, dry_run=dry_run)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        stored = db.session.execute(select(func.count()).select_from(Reminder)).scalar_one()
        db.session.remove()
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "new_reminders": result.new_reminders, "sent": result.sent,
            "failed": result.failed, "planned": len(result.planned), "stored": stored, "phases": result.seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/100 of the data")
    parser.add_argument("--reuse", action="store_true", help="reuse bench/out/remind-*.db instead of rebuilding it")
    parser.add_argument("--emails", type=int, default=2000, help="people with an e-mail address (default 2000)")
    parser.add_argument("--year", type=int, default=date.today().year)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"remind-{'quick' if args.quick else 'full'}.db"
    url = f"sqlite:///{path}"
    figures: dict = {"scale": "quick" if args.quick else "full", "users": scale.users, "activities": scale.activities}
    if not (args.reuse and path.exists()):
        started = time.perf_counter()
        generate_into(url, scale, args.year, reset=path.exists())
        figures["generate_seconds"] = round(time.perf_counter() - started, 1)
    controller, smtp_counter, smtp_url = smtp_sink()
    server, webhook_counter, webhook_url = webhook_sink()
    os.environ.setdefault("TAIZHANG_INSTANCE", str(out / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SMTP_URL": smtp_url, "SMTP_FROM": "bench@example.edu.cn",
                      "BASE_URL": "https://taizhang.example.edu.cn"})
    prepare(app, args.emails, webhook_url)
    as_of = date(args.year, 12, 27)
    try:
        for phase, dry in (("dry_run", True), ("first_run", False), ("second_run", False)):
            figures[phase] = timed_run(app, as_of, dry_run=dry)
            print(f"{phase}: {figures[phase]}", flush=True)
    finally:
        controller.stop()
        server.shutdown()
    figures["emails_received"] = smtp_counter.received
    figures["webhooks_received"] = webhook_counter["received"]
    figures["load_average"] = os.getloadavg()
    print(json.dumps(figures, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
