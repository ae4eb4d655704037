"""compliance(): who owes what, a fixed number of queries, the CLI contract and the demo data."""
import json
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import event

from webapp.activities.compliance import compliance
from webapp.activities.demo import seed_activities
from webapp.demo import build_org, ensure_activity_kinds
from webapp.extensions import db
from webapp.models import Unit, User
from webapp.permissions import activate_scope
from webapp.org import add_unit

from .activities_factories import demo_like_requirements, ensure_standard_kinds, make_activity, make_plan

AS_OF = date(2026, 7, 1)


@contextmanager
def counted_queries():
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_levels_decide_who_owes(app_ctx, org):
    make_plan(org.units["general"], 2026, [
        {"kind": "党政联席会议", "cadence": "year", "count": 2, "level": "general"},
        {"kind": "支部委员会", "cadence": "year", "level": "branch"},
        {"kind": "政治学习", "cadence": "year", "level": "faculty_branch"},
        {"kind": "摸排清查", "cadence": "year", "level": "student_branch"},
        {"kind": "主题班会", "cadence": "year", "level": "class"},
    ])
    owing = {}
    for cell in compliance(2026, AS_OF):
        owing.setdefault(cell.kind, set()).add(cell.unit_id)
    u = org.units
    assert owing == {
        "党政联席会议": {u["general"]},
        "支部委员会": {u["faculty1"], u["student1"], u["student2"]},
        "政治学习": {u["faculty1"]},
        "摸排清查": {u["student1"], u["student2"]},
        "主题班会": {u["class1"], u["class2"], u["class3"]},
    }


def test_assignments_restrict_the_owing_units(app_ctx, org):
    make_plan(org.units["general"], 2026, [{"kind": "主题班会", "cadence": "month", "level": "class"}],
              assigned_unit_ids=[org.units["student2"]])
    assert {c.unit_id for c in compliance(2026, AS_OF)} == {org.units["class3"]}


def test_inactive_units_and_draft_plans_owe_nothing(app_ctx, org):
    db.session.get(Unit, org.units["class2"]).active = False
    db.session.commit()
    make_plan(org.units["general"], 2026, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
    make_plan(org.units["general"], 2026, [{"kind": "主题团日", "cadence": "month", "level": "class"}], status="draft")
    cells = compliance(2026, AS_OF)
    assert {c.unit_id for c in cells} == {org.units["class1"], org.units["class3"]}
    assert {c.kind for c in cells} == {"主题班会"}
    assert compliance(2025, AS_OF) == []


def test_kind_resolved_by_name_and_unit_filter(app_ctx, org):
    make_plan(org.units["general"], 2026, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
    make_activity(org.units["class1"], "主题班会", date(2026, 3, 3))
    cells = compliance(2026, AS_OF, unit_ids=[org.units["class1"]])
    assert {c.unit_id for c in cells} == {org.units["class1"]} and len(cells) == 12
    march = next(c for c in cells if c.period == "2026-03")
    assert (march.done, march.required, march.state, march.requirement) == (1, 1, "met", "按时开展主题班会")


def _grow(org, size: int) -> None:
    """More classes, requirements and approved activities: what must not change the number of queries."""
    branch = db.session.get(Unit, org.units["student1"])
    classes = [add_unit(f"扩充班级{size}-{n}", "class", branch) for n in range(size)]
    db.session.commit()
    make_plan(org.units["general"], 2026, [
        {"kind": kind, "cadence": cadence, "level": level, "include_children": n % 2 == 0}
        for n, (kind, cadence, level) in enumerate([("主题班会", "month", "class"), ("主题团日", "week", "class"),
                                                    ("支部委员会", "quarter", "branch"), ("党课", "semester", "branch")]
                                                   [:max(1, size // 3)])])
    for n, unit in enumerate(classes):
        for day in range(0, 180, 9):
            make_activity(unit.id, "主题班会" if day % 2 else "主题团日", date(2026, 1, 5) + timedelta(days=day + n),
                          commit=False)
    db.session.commit()


def test_query_count_does_not_grow_with_the_data(app_ctx, org):
    ensure_standard_kinds()
    _grow(org, 2)
    with counted_queries() as small:
        small_cells = compliance(2026, AS_OF)
    _grow(org, 12)
    with counted_queries() as large:
        large_cells = compliance(2026, AS_OF)
    assert len(large_cells) > 5 * len(small_cells) > 0
    assert len(small) == len(large) <= 5


def test_cli_prints_the_contract_json(app, org, runner):
    with app.app_context():
        make_plan(org.units["general"], 2026, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
        make_activity(org.units["class1"], "主题班会", date(2026, 2, 10))
    result = runner.invoke(args=["compliance", "--year", "2026", "--as-of", "2026-03-15", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 3 * 12
    assert all(set(row) == {"unit", "unit_id", "requirement", "kind", "period", "start", "end", "required",
                            "done", "state"} for row in rows)
    february = next(r for r in rows if r["unit_id"] == org.units["class1"] and r["period"] == "2026-02")
    assert february == {"unit": "2023级计算机1班", "unit_id": org.units["class1"], "requirement": "按时开展主题班会",
                        "kind": "主题班会", "period": "2026-02", "start": "2026-02-01", "end": "2026-02-28",
                        "required": 1, "done": 1, "state": "met"}
    states = {(r["unit_id"], r["period"]): r["state"] for r in rows}
    assert states[(org.units["class2"], "2026-02")] == "missing"
    assert states[(org.units["class2"], "2026-03")] == "in_progress"
    assert states[(org.units["class2"], "2026-04")] == "upcoming"


def test_demo_activities_show_met_and_missing(app_ctx):
    units = build_org()
    ensure_activity_kinds(units["general"])
    db.session.commit()
    today = date(2026, 11, 27)
    make_plan(units["general"].id, 2026, demo_like_requirements())
    messages = []
    seed_activities(units, messages.append, today=today)
    db.session.commit()
    cells = compliance(2026, today)
    states = {c.state for c in cells}
    assert {"met", "missing"} <= states
    assert all((c.state == "met") == (c.done >= c.required) for c in cells)
    assert all(c.state != "missing" or c.end < today for c in cells)
    skipped = [c for c in cells if c.unit_id == units["faculty2"].id and c.kind == "政治学习" and c.state == "missing"]
    kept = [c for c in cells if c.unit_id == units["faculty1"].id and c.kind == "政治学习" and c.state == "missing"]
    assert len(skipped) > len(kept)
    assert messages and "演示活动记录" in messages[0]


def test_inside_a_request_only_the_users_subtree_is_judged(app, org):
    with app.app_context():
        make_plan(org.units["general"], 2026, [
            {"kind": "主题班会", "cadence": "month", "level": "class"},
            {"kind": "党政联席会议", "cadence": "year", "count": 2, "level": "general"}],
            assigned_unit_ids=[org.units["general"]])
        make_activity(org.units["class1"], "主题班会", date(2026, 3, 3))
    with app.test_request_context("/"):
        activate_scope(db.session.get(User, org.users["staff2"]))
        with counted_queries() as statements:
            cells = compliance(2026, AS_OF)
        db.session.remove()
    assert {c.unit_id for c in cells} == {org.units["class1"], org.units["class2"]}
    assert {c.kind for c in cells} == {"主题班会"}
    assert next(c for c in cells if c.unit_id == org.units["class1"] and c.period == "2026-03").state == "met"
    assert len(statements) <= 5


def _cells_seen_by(app, username_key: str, org) -> list:
    with app.test_request_context("/"):
        activate_scope(db.session.get(User, org.users[username_key]))
        cells = compliance(2026, AS_OF)
        db.session.remove()
    return cells


def test_a_task_assigned_only_outside_the_users_subtree_is_owed_by_nobody_there(app, org):
    with app.app_context():
        make_plan(org.units["general"], 2026, [{"kind": "主题班会", "cadence": "month", "level": "class"}],
                  assigned_unit_ids=[org.units["student2"]])
    assert _cells_seen_by(app, "staff2", org) == []  # staff2 sees student1's classes only
    assert {c.unit_id for c in _cells_seen_by(app, "staff3", org)} == {org.units["class3"]}


def test_an_assignment_to_a_unit_above_the_users_subtree_makes_every_unit_there_owe(app, org):
    with app.app_context():
        make_plan(org.units["general"], 2026, [{"kind": "主题班会", "cadence": "month", "level": "class"}],
                  assigned_unit_ids=[org.units["general"], org.units["foreign"]])
    assert {c.unit_id for c in _cells_seen_by(app, "staff2", org)} == {org.units["class1"], org.units["class2"]}


def test_unit_filter_still_counts_the_descendants_activities(app_ctx, org):
    make_plan(org.units["general"], 2026, [
        {"kind": "摸排清查", "cadence": "quarter", "level": "student_branch", "include_children": True}])
    make_activity(org.units["class1"], "摸排清查", date(2026, 2, 3))
    make_activity(org.units["class2"], "摸排清查", date(2026, 3, 31))
    make_activity(org.units["class2"], "摸排清查", date(2026, 4, 1))
    make_activity(org.units["class3"], "摸排清查", date(2026, 2, 3))  # under student2: not student1's
    cells = compliance(2026, AS_OF, unit_ids=[org.units["student1"]])
    assert {(c.period, c.done) for c in cells} == {("2026-Q1", 2), ("2026-Q2", 1), ("2026-Q3", 0), ("2026-Q4", 0)}
