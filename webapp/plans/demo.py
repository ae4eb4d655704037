"""Demo plan: this year's plan read from `demo_plan.txt` and published, so a fresh site has live ledgers."""
from __future__ import annotations

from pathlib import Path

from ..clock import local_today
from . import services

DEMO_PLAN = Path(__file__).with_name("demo_plan.txt")


def demo_plan_text(year: int) -> str:
    return DEMO_PLAN.read_text(encoding="utf-8").replace("{year}", str(year))


def seed_plan(units, echo):
    """Import the demo plan for the current year through the reader and publish it."""
    year = local_today().year
    document = services.read_document(demo_plan_text(year), filename=DEMO_PLAN.name, year=year)
    plan = services.create_draft(document, units["general"])
    rows = services.publish(plan)
    echo(f"演示方案：{plan.title}，{len(plan.tasks)} 项任务，{rows} 行台账。")
    return plan
