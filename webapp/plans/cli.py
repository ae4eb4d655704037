"""`flask --app wsgi import-plan PATH --year YYYY [--dry-run] [--json] [--unit-id N]`."""
from __future__ import annotations

import errno
import json
import os

import click
from flask import Flask

from ..extensions import db
from ..models import Unit
from .queries import top_units
from .reader import ReadError
from .services import Document, create_draft, read_document

# Exit status for input the reader cannot use (click uses 2 for usage errors too).
UNREADABLE = 2

_OS_ERRORS = {errno.ENOENT: "文件不存在", errno.EISDIR: "这是一个文件夹，不是文件", errno.EACCES: "没有读取权限"}


def _fail(message: str) -> None:
    click.echo(message, err=True)
    raise click.exceptions.Exit(UNREADABLE)


def _read(path: str, year: int | None) -> Document:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return read_document(data, filename=os.path.basename(path), year=year)
    except ReadError as error:
        _fail(str(error))
    except OSError as error:
        _fail(f"无法读取文件 {path}：{_OS_ERRORS.get(error.errno, '读取失败')}")


def _owner(unit_id: int | None) -> Unit:
    if unit_id is not None:
        unit = db.session.get(Unit, unit_id)
        if unit is None:
            _fail(f"找不到单位 id={unit_id}")
        return unit
    tops = top_units()
    if len(tops) != 1:
        found = "、".join(f"{unit.name}（id={unit.id}）" for unit in tops) or "无"
        _fail(f"无法确定方案所属的顶层党总支（找到：{found}），请用 --unit-id 指定")
    return tops[0]


def _summary(parsed: dict) -> str:
    tasks = sum(len(section["tasks"]) for section in parsed["sections"])
    lines = [f"{parsed['title']}（{parsed['year']}年）：{len(parsed['sections'])} 个部分，{tasks} 项任务"]
    lines += [f"  提示：{warning}" for warning in parsed["warnings"]]
    return "\n".join(lines)


def register_cli(app: Flask) -> None:
    @app.cli.command("import-plan")
    @click.argument("path")
    @click.option("--year", type=int, help="The plan's year (default: the year in its title).")
    @click.option("--dry-run", is_flag=True, help="Read and print the plan; write nothing.")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
    @click.option("--unit-id", type=int, help="The issuing unit (default: the single top general branch).")
    def import_plan_command(path, year, dry_run, as_json, unit_id):
        """Import a work plan document (.txt or .docx) as a draft plan."""
        document = _read(path, year)
        parsed = document.parsed
        if dry_run:
            click.echo(json.dumps(parsed, ensure_ascii=False, indent=2) if as_json else _summary(parsed))
            return
        plan = create_draft(document, _owner(unit_id))
        if as_json:
            click.echo(json.dumps({"id": plan.id, "title": plan.title, "year": plan.year,
                                   "tasks": len(plan.tasks), "warnings": parsed["warnings"]},
                                  ensure_ascii=False))
        else:
            click.echo(f"已创建方案草稿 {plan.id}")
            click.echo(_summary(parsed))
