"""The demo site carries this year's plan, published, with live ledgers."""
from datetime import date

from sqlalchemy import select

from webapp.demo import seed_demo
from webapp.extensions import db
from webapp.models import LedgerRow, Plan, Task, Unit, User


def test_seed_demo_publishes_this_years_plan_with_ledgers(app):
    with app.app_context():
        assert seed_demo(lambda *_: None)
        plan = db.session.execute(select(Plan)).scalar_one()
        year = date.today().year
        assert (plan.status, plan.year, plan.title) == ("published", year, f"计算机学院{year}年意识形态工作方案")
        assert len(plan.sections) == 3 and 8 <= len(plan.tasks) <= 10
        staff1_unit = db.session.execute(select(User).where(User.username == "staff1")).scalar_one().unit
        assert staff1_unit.name == "教工第一党支部"
        faculty_rows = db.session.execute(select(LedgerRow).where(LedgerRow.unit_id == staff1_unit.id)).scalars().all()
        assert len(faculty_rows) >= 3
        class_tasks = {task.id for task in plan.tasks if any(r.level == "class" for r in task.requirements)}
        assert class_tasks
        classes = db.session.execute(select(Unit).where(Unit.kind == "class")).scalars().all()
        assert len(classes) == 8
        for unit in classes:
            rows = set(db.session.execute(select(LedgerRow.task_id).where(LedgerRow.unit_id == unit.id)).scalars())
            assert class_tasks <= rows, unit.name
        # Deadlines both behind and ahead in the year, so the ledgers show late and upcoming work.
        dues = [task.due_on for task in plan.tasks if task.due_on]
        assert min(dues) < date(year, 6, 30) and max(dues) == date(year, 12, 31)
        kinds = {r.kind for task in plan.tasks for r in task.requirements}
        assert {"党政联席会议", "政治学习", "主题班会", "主题团日", "意识形态研判会", "摸排清查", "党课"} <= kinds
        assert all(r.kind_id for task in plan.tasks for r in task.requirements)
        assert db.session.execute(select(Task).where(Task.needs_review.is_(True))).first() is None
