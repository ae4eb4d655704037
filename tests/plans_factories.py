"""Helpers for the plans tests: the sample plan, a small pasted plan, drafts and published plans."""
from __future__ import annotations

from pathlib import Path

import lxml.html
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import LedgerRow, Plan, Requirement, Section, Task, TaskAssignment, Unit
from webapp.plans import services

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "plans"
SAMPLE = FIXTURES / "sample-2023.txt"

SMALL_PLAN = """计算机学院2025年党建工作方案

一、加强理论学习

1.开展政治学习。每周四组织教职工政治学习，各班级利用主题班会开展学习教育。

负责人：王书记

成员：党总支委员

工作时限：2025年1月启动，6月底前完成。

2.召开党政联席会议。每年两次召开党政联席会议。

负责人：

成员：

工作时限：2025年3月启动，年底前结束。

二、加强阵地管理

3.管理宣传阵地。做好各类讲座、论坛的审查工作。

负责人：宣传委员

成员：

工作时限：2025年全年推进落实。
"""


def row_counts() -> dict[str, int]:
    return {model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Plan, Section, Task, Requirement, TaskAssignment, LedgerRow)}


def make_draft(org, text: str = SMALL_PLAN, year: int | None = None) -> int:
    """A draft plan of the org's general branch (call inside an app context); returns its id."""
    document = services.read_document(text, filename="plan.txt", year=year)
    return services.create_draft(document, db.session.get(Unit, org.units["general"])).id


def make_published(org, text: str = SMALL_PLAN) -> int:
    plan_id = make_draft(org, text)
    services.publish(db.session.get(Plan, plan_id))
    return plan_id


def task_by_number(plan_id: int, number: int) -> Task:
    return db.session.execute(select(Task).where(Task.plan_id == plan_id, Task.number == number)).scalar_one()


def assigned_unit_ids(task_id: int) -> set[int]:
    return set(db.session.execute(select(TaskAssignment.unit_id).where(TaskAssignment.task_id == task_id)).scalars())


def ledger_unit_ids(task_id: int) -> set[int]:
    return set(db.session.execute(select(LedgerRow.unit_id).where(LedgerRow.task_id == task_id)).scalars())


def html(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.get_data(as_text=True))


def by_class(tree, css_class: str, within: str = "//*") -> list:
    """Elements under `within` (an XPath) carrying `css_class`."""
    return tree.xpath(f"{within}[contains(concat(' ', normalize-space(@class), ' '), ' {css_class} ')]")


def texts(elements) -> list[str]:
    return [" ".join(element.text_content().split()) for element in elements]
