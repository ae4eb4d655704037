"""`flask --app wsgi compliance --year YYYY [--as-of YYYY-MM-DD] [--json]`: the compliance report."""
from __future__ import annotations

import json
from datetime import date, datetime

import click
from flask import Flask


def register_cli(app: Flask) -> None:
    @app.cli.command("compliance")
    @click.option("--year", type=int, required=True, help="The plan year.")
    @click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Judge periods as of this day (default: today).")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON list of cells.")
    def compliance_command(year: int, as_of: datetime | None, as_json: bool):
        """Every unit × requirement × period of the year's published plans: required, done and state."""
        from ..clock import local_today
        from .compliance import compliance
        day: date = as_of.date() if as_of else local_today()
        cells = compliance(year, day)
        if as_json:
            click.echo(json.dumps([cell.as_json() for cell in cells], ensure_ascii=False, indent=1))
            return
        for cell in cells:
            click.echo(f"{cell.unit_name}\t{cell.kind}\t{cell.period}\t{cell.done}/{cell.required}\t{cell.state}")

    @app.cli.command("recount")
    @click.option("--year", type=int, default=None, help="Only the periods touching this year (default: all).")
    def recount_command(year: int | None):
        """Rebuild the activity counters (approved activities per unit, kind and period) from the activities."""
        from ..extensions import db
        from .counters import recount
        rows = recount(db.session, year)
        db.session.commit()
        click.echo(f"计数已重建：{rows} 行。")
