"""Command-line tools: `flask --app wsgi <command>`."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from .extensions import db
from .maintenance import register_maintenance_cli
from .models import ROLES, Unit, User


def register_cli(app: Flask) -> None:
    register_maintenance_cli(app)
    from .plans.cli import register_cli as register_plans_cli
    register_plans_cli(app)
    from .activities.cli import register_cli as register_activities_cli
    register_activities_cli(app)
    from .reminders.cli import register_cli as register_reminders_cli
    register_reminders_cli(app)

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Load the demo college (only into an empty database)."""
        from .demo import print_demo_logins, seed_demo
        if seed_demo(click.echo):
            click.echo("演示数据已写入。")
        print_demo_logins(click.echo)

    @app.cli.command("create-user")
    @click.option("--username", required=True)
    @click.option("--name", "display_name", required=True)
    @click.option("--role", type=click.Choice(ROLES), required=True)
    @click.option("--unit", "unit_name", help="Unit name; omit to create the top unit with --new-unit.")
    @click.option("--new-unit", help="Create a top-level general branch with this name for the user.")
    @click.password_option()
    def create_user_command(username, display_name, role, unit_name, new_unit, password):
        """Create a user (and, for a new site, its top unit)."""
        from .org import add_unit, add_user
        if db.session.execute(select(User).where(User.username == username)).scalar_one_or_none():
            raise click.ClickException(f"用户名 {username} 已存在")
        if new_unit:
            from .activities.services import seed_standard_kinds
            unit = add_unit(new_unit, "general")
            seed_standard_kinds(unit)  # a new tree starts with the standard activity kinds
        else:
            unit = db.session.execute(select(Unit).where(Unit.name == unit_name)).scalar_one_or_none()
            if unit is None:
                raise click.ClickException(f"找不到单位：{unit_name}（新站点请用 --new-unit 创建顶层单位）")
        if len(password) < 8:
            raise click.ClickException("密码至少 8 位")
        add_user(username, display_name, role, unit, password)
        db.session.commit()
        click.echo(f"已创建用户 {username}（{role}，{unit.name}）")

    @app.cli.command("compile-translations")
    def compile_translations():
        """Compile .po catalogs to .mo (make does this at set-up)."""
        import subprocess
        import sys
        from . import ROOT
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-d",
                        str(ROOT / "translations"), "--use-fuzzy"], check=True)
