"""Demo ledger progress: some rows in progress or done, saved through the ledger service so history shows."""
from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from ..clock import local_today
from ..extensions import db
from ..models import LedgerRow, Task, User
from .services import save_row

PROGRESS_NOTES = [
    "已召开支部委员会专题部署，明确责任分工。",
    "已制定本支部任务清单和台账，报党总支备案。",
    "按计划推进，已组织两次专题学习，留存会议记录和签到表。",
    "已完成自查，形成自查报告，发现问题已整改。",
    "已在支部党员大会上通报进展，下一步持续跟进。",
]


def seed_ledger_progress(units, echo) -> None:
    """Give the demo ledgers believable progress: about half the rows started, a third of those done."""
    today = local_today()
    rng = random.Random(2023)
    editors = {user.unit_id: user for user in db.session.execute(
        select(User).where(User.role.in_(("staff", "monitor")))).scalars()}
    rows = db.session.execute(
        select(LedgerRow).join(Task).order_by(LedgerRow.unit_id, Task.position)).scalars().all()
    changed = 0
    for row in rows:
        editor = editors.get(row.unit_id)
        if editor is None or rng.random() < 0.45:
            continue
        changes = {"progress": rng.choice(PROGRESS_NOTES), "status": "in_progress"}
        due = row.task.due_on
        if due and due < today or rng.random() < 0.3:
            finished = min(today, due or today) - timedelta(days=rng.randint(0, 20))
            changes.update(status="done", completed_on=max(finished, date(today.year, 1, 2)))
        save_row(editor, row.id, row.version, changes)
        changed += 1
    echo(f"演示台账：{changed} 行已填写推进情况。")
