"""The activity counters (approved activities per unit × kind × period) always equal a recount from the activities."""
import random
import threading
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm.exc import ObjectDeletedError

from tests.activities_factories import kind_id, make_activity
from webapp.activities import counters, services
from webapp.activities.services import ActivityData
from webapp.extensions import db
from webapp.models import (Activity, ActivityCounter, LedgerRow, Plan, Requirement, Section, Task, TaskAssignment,
                           Unit, User)


def _count(unit_id, kind, cadence, period) -> int:
    return db.session.execute(select(ActivityCounter.approved).where(
        ActivityCounter.unit_id == unit_id, ActivityCounter.kind_id == kind_id(kind),
        ActivityCounter.cadence == cadence, ActivityCounter.period == period)).scalar() or 0


def _data(activity_kind: int, held_on: date, topic: str = "主题") -> ActivityData:
    return ActivityData(kind_id=activity_kind, held_on=held_on, topic=topic, place="会议室", host="",
                        present=10, expected=12, summary="")


def test_counters_follow_approval_return_edit_and_deletion(app, org):
    with app.app_context():
        counters.recount(db.session)
        db.session.commit()
        unit = org.units["class1"]
        activity_id = make_activity(unit, "主题班会", date(2031, 3, 5), status="submitted")
        assert _count(unit, "主题班会", "month", "2031-03") == 0
        staff = db.session.get(User, org.users["staff2"])
        services.approve_activity(staff, db.session.get(Activity, activity_id))
        assert _count(unit, "主题班会", "month", "2031-03") == 1
        assert _count(unit, "主题班会", "week", "2031-W10") == 1
        assert _count(unit, "主题班会", "quarter", "2031-Q1") == 1
        assert _count(unit, "主题班会", "year", "2031") == 1
        assert _count(unit, "主题班会", "semester", "2031-春季学期") == 1
        activity = db.session.get(Activity, activity_id)  # an approved activity moved to April
        services.update_activity(staff, activity, activity.version, _data(activity.kind_id, date(2031, 4, 2)),
                                 [], [], submit=False)
        assert _count(unit, "主题班会", "month", "2031-03") == 0
        assert _count(unit, "主题班会", "month", "2031-04") == 1
        assert _count(unit, "主题班会", "quarter", "2031-Q2") == 1
        assert counters.check(db.session) == []
        other = make_activity(unit, "主题班会", date(2031, 4, 20), status="submitted")
        services.return_activity(staff, db.session.get(Activity, other), "请补充")
        assert _count(unit, "主题班会", "month", "2031-04") == 1
        db.session.delete(db.session.get(Activity, activity_id))
        db.session.commit()
        assert _count(unit, "主题班会", "month", "2031-04") == 0
        assert counters.check(db.session) == []


def test_recount_command_rebuilds_one_year_or_all(app, org):
    with app.app_context():
        unit = org.units["class2"]
        make_activity(unit, "主题班会", date(2032, 12, 30))  # ISO week 2032-W53 runs into 2033, so does the semester
        make_activity(unit, "主题班会", date(2033, 1, 1))
        assert _count(unit, "主题班会", "week", "2032-W53") == 2
        db.session.execute(ActivityCounter.__table__.delete())
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["recount", "--year", "2033"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _count(unit, "主题班会", "week", "2032-W53") == 2  # the whole week, both years' days
        assert _count(unit, "主题班会", "month", "2032-12") == 0  # 2032 alone was not rebuilt
    result = runner.invoke(args=["recount"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _count(unit, "主题班会", "month", "2032-12") == 1
        assert _count(unit, "主题班会", "semester", "2032-秋季学期") == 2
        assert counters.check(db.session) == []


THREADS, OPERATIONS = 4, 30


def _plan_of_2034(general_id: int, kinds: list[int], ledger_units: list[int] = ()) -> list[int]:
    """Requirements on both kinds, one counting a branch's classes too: the dashboards' figures move with them.
    Two more tasks (one due mid-year, one without a date) with a ledger row in each of `ledger_units`; their ids."""
    plan = Plan(unit_id=general_id, year=2034, title="2034年方案", status="published")
    section = Section(plan=plan, position=0, number="一", title="活动")
    task = Task(plan=plan, section=section, position=1, number=1, title="开展活动。")
    ledger_tasks = [Task(plan=plan, section=section, position=2, number=2, title="制定清单。", due_on=date(2034, 6, 30)),
                    Task(plan=plan, section=section, position=3, number=3, title="全年落实。")]
    rows = [LedgerRow(task=ledger_task, unit_id=unit_id) for ledger_task in ledger_tasks for unit_id in ledger_units]
    db.session.add_all([*ledger_tasks, *rows,
                        *(TaskAssignment(task=ledger_task, unit_id=unit_id) for ledger_task in ledger_tasks
                          for unit_id in ledger_units)])
    db.session.add_all([plan, section, task,
                        Requirement(task=task, text="每月主题班会", kind="主题班会", kind_id=kinds[0], cadence="month",
                                    count=1, level="class"),
                        Requirement(task=task, text="支部每季度两次", kind="支部委员会", kind_id=kinds[1],
                                    cadence="quarter", count=2, level="branch", include_children=True)])
    db.session.commit()
    return [row.id for row in rows]


def test_random_concurrent_changes_keep_counters_equal_to_a_recount(app, org):
    """Logging, approving, returning, editing, withdrawing and deleting activities, and editing ledger rows (status
    and text, through the inline editor's Core save and the general one) from several threads at once; then the
    counters equal a recount and the dashboards' cached figures (warm before the threads) equal fresh ones."""
    from flask import g

    from tests.test_dashboard_rollups import reference_overview, snapshot
    from webapp.ledger import queries as ledger_queries
    from webapp.ledger import services as ledger_services
    from webapp.permissions import activate_scope
    from webapp.reports import queries
    window = queries.report_window(2034, "", date(2035, 1, 10))
    windows = [window, queries.report_window(2034, "q2", date(2034, 5, 20))]
    units = [org.units["class1"], org.units["class2"], org.units["class3"]]
    with app.app_context():
        counters.recount(db.session)
        db.session.commit()
        kinds = [kind_id("主题班会"), kind_id("支部委员会")]
        ledger_rows = _plan_of_2034(org.units["general"], kinds, [*units, org.units["student1"], org.units["faculty1"]])
        warm = {(key, w.period): snapshot(queries.overview(org.unit(key), w))
                for key in ("general", "student1", "class1") for w in windows}
    ledger_saves: list[str] = []
    errors: list[BaseException] = []
    created: list[int] = []
    approvals: list[bool] = []  # the counters did move: activities were approved along the way
    lock = threading.Lock()

    def pick(rng):
        with lock:
            return rng.choice(created) if created else None

    def save_ledger_row(rng, staff):
        """A status or a text, through the inline editor's Core save or the general one."""
        row_id = rng.choice(ledger_rows)
        changes = ({"status": rng.choice(["not_started", "in_progress", "done"])}
                   if rng.random() < 0.6 else {"progress": f"进展{rng.randrange(1000)}"})
        if rng.random() < 0.5:
            with app.test_request_context("/"):
                g._login_user = staff
                activate_scope(staff)
                row = ledger_queries.row_view(row_id)
                ledger_services.save_edited_row(staff, row, row.version, changes)
        else:
            current = db.session.get(LedgerRow, row_id)
            ledger_services.save_row(staff, row_id, current.version, changes)
        with lock:
            ledger_saves.append(next(iter(changes)))

    def worker(number: int):
        rng = random.Random(1000 + number)
        try:
            with app.app_context():
                monitor = db.session.get(User, org.users["monitor1"])
                staff = db.session.get(User, org.users["secretary"])
                for _ in range(OPERATIONS):
                    # Every other step also saves a ledger row, so the activities get as many steps as before.
                    operation = rng.choice(["log", "log", "approve", "return", "edit", "withdraw", "delete"])
                    if rng.random() < 0.5:
                        try:
                            save_ledger_row(rng, staff)
                        except ledger_services.StaleVersion:
                            db.session.rollback()
                        finally:
                            db.session.expire_all()
                    held_on = date(2034, 1, 1) + timedelta(days=rng.randrange(400))
                    try:
                        if operation == "log":
                            user = rng.choice([monitor, staff])
                            unit = db.session.get(Unit, rng.choice(units))
                            activity = services.create_activity(user, unit, _data(rng.choice(kinds), held_on), [],
                                                                submit=rng.random() < 0.7)
                            with lock:
                                created.append(activity.id)
                                approvals.append(activity.status == "approved")
                            continue
                        activity_id = pick(rng)
                        try:
                            activity = activity_id and db.session.get(Activity, activity_id)
                        except ObjectDeletedError:  # the test's own read: another thread deleted it since
                            continue
                        if not activity:
                            continue
                        if operation == "approve":
                            services.approve_activity(staff, activity)
                            with lock:
                                approvals.append(True)
                        elif operation == "return":
                            services.return_activity(staff, activity, "请补充")
                        elif operation == "edit":
                            services.update_activity(staff, activity, activity.version,
                                                     _data(rng.choice(kinds), held_on), [], [],
                                                     submit=activity.status in ("draft", "returned"))
                        elif operation == "withdraw":  # an approved activity taken back to draft
                            activity.status = "draft"
                            activity.version += 1
                            services._commit_unless_stale(services.StaleVersion)
                        else:
                            db.session.delete(activity)
                            services._commit_unless_stale(services.StaleVersion)
                    except (services.StaleVersion, services.WrongState):
                        db.session.rollback()
                    finally:
                        db.session.expire_all()
        except BaseException as error:  # noqa: BLE001  (reported by the main thread)
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert any(approvals)
    assert {"status", "progress"} <= set(ledger_saves)
    with app.app_context():
        assert counters.check(db.session) == []
        for key, period in warm:
            w = windows[0] if period == "" else windows[1]
            cached = snapshot(queries.overview(org.unit(key), w))
            assert cached == snapshot(reference_overview(org.unit(key), w)), (key, period)
            if key == "general":
                assert cached != warm[key, period]  # the figures did move (ledger and obligations)
