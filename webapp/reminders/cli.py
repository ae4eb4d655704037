"""`flask --app wsgi remind [--as-of YYYY-MM-DD] [--dry-run] [--json]`: compute and send what is due.

Safe to run every few minutes from cron or a systemd timer, on several servers at once (see services.py).
"""
from __future__ import annotations

import json
from datetime import date, datetime

import click
from flask import Flask, current_app


def register_cli(app: Flask) -> None:
    @app.cli.command("remind")
    @click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Judge what is due as of this day (default: today where the users are).")
    @click.option("--dry-run", is_flag=True, help="Store and send nothing; print what would be sent.")
    @click.option("--json", "as_json", is_flag=True, help="With --dry-run: a JSON list of what would be sent.")
    def remind_command(as_of: datetime | None, dry_run: bool, as_json: bool):
        """Store new reminders and send the e-mail and group-robot digests that are due."""
        from ..clock import local_today
        from .services import run
        day: date = as_of.date() if as_of else local_today()
        # URLs are built as in a request to the site's root (digests prefix TAIZHANG_BASE_URL).
        with current_app.test_request_context("/"):
            result = run(day, dry_run=dry_run)
        if dry_run:
            if as_json:
                click.echo(json.dumps([item.as_json() for item in result.planned], ensure_ascii=False, indent=1))
            else:
                for item in result.planned:
                    click.echo(f"{item.channel}\t{item.user}\t{item.unit}\t{item.kind}\t{item.about}\t{item.url}")
            return
        click.echo(f"new reminders: {result.new_reminders}; sent: {result.sent}; failed: {result.failed}")
