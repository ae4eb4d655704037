"""Build published plans and ledger rows straight from the models (the plan import lives elsewhere)."""
from __future__ import annotations

from datetime import date

from webapp.extensions import db
from webapp.models import LedgerRow, Plan, Section, Task, TaskAssignment

LONG_BODY = ("坚持马克思主义在意识形态领域指导地位的根本制度,全面贯彻落实习近平新时代中国特色社会主义思想,"
             "健全用党的创新理论武装师生、教育师生工作体系,完善党总支理论学习中心组等各层级学习制度。") * 3


def make_plan(issuer_id: int, unit_ids: list[int], year: int = 2023, sections: int = 2, tasks_per_section: int = 2,
              due_on: date | None = None, title: str | None = None) -> dict:
    """A published plan issued by `issuer_id` with one ledger row per (task, unit). Returns ids."""
    plan = Plan(unit_id=issuer_id, year=year, title=title or f"{year}年意识形态工作方案", status="published")
    db.session.add(plan)
    db.session.flush()
    numbers = "一二三四五六七八九十"
    task_ids, row_ids, section_ids = [], {}, []
    number = 0
    for s in range(sections):
        section = Section(plan_id=plan.id, position=s, number=numbers[s], title=f"第{numbers[s]}部分重点工作")
        db.session.add(section)
        db.session.flush()
        section_ids.append(section.id)
        for t in range(tasks_per_section):
            number += 1
            task = Task(plan_id=plan.id, section_id=section.id, position=number, number=number,
                        title=f"任务{number}：开展专题学习教育。", body=LONG_BODY if number == 1 else f"具体内容{number}",
                        deadline_text=f"{year}年1月启动,年底前结束。", due_on=due_on or date(year, 12, 31))
            db.session.add(task)
            db.session.flush()
            task_ids.append(task.id)
            for unit_id in unit_ids:
                db.session.add(TaskAssignment(task_id=task.id, unit_id=unit_id))
                row = LedgerRow(task_id=task.id, unit_id=unit_id)
                db.session.add(row)
                db.session.flush()
                row_ids[(task.id, unit_id)] = row.id
    db.session.commit()
    return {"plan": plan.id, "sections": section_ids, "tasks": task_ids, "rows": row_ids}


def rows_of(ids: dict, unit_id: int) -> list[int]:
    """The unit's row ids in task order."""
    return [ids["rows"][(task_id, unit_id)] for task_id in ids["tasks"]]


# ---- reading what the user sees ------------------------------------------------------------------

HX = {"HX-Request": "true"}


def post_row(client, row_id: int, token: str, **fields):
    """An inline save as htmx sends it (fields named after the columns, plus version)."""
    return client.post(f"/ledger/rows/{row_id}", data={**fields, "csrf_token": token}, headers=HX)


def parse(html: str):
    import lxml.html
    return lxml.html.fromstring(html)


def row_element(html: str, row_id: int):
    found = parse(html).xpath(f'//tr[@id="row-{row_id}"]')
    assert found, f"row-{row_id} not in the answer"
    return found[0]


def cell_text(html: str, row_id: int, field: str) -> str:
    """The text the user reads in a row's cell (view mode)."""
    cells = row_element(html, row_id).xpath(f'./td[@data-field="{field}"]')
    assert cells, f"no {field} cell in row-{row_id}"
    return cells[0].text_content().strip()


def editor_error(html: str, row_id: int) -> str:
    errors = row_element(html, row_id).xpath('.//td[contains(@class,"editing")]//*[contains(@class,"field-error")]')
    return errors[0].text_content().strip() if errors else ""
