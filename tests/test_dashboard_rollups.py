"""The dashboards at scale show exactly the figures of the per-unit computation they replaced.

`reports.queries.overview` folds light rows straight into the rows shown and takes each college's obligation
figures from a per-process cache (`activities.rollups`) validated by change stamps written in the same transaction
as every change they depend on. These tests compare it with the old computation (one object per unit, nothing
cached: `reference_overview` below) on the demo data, on the bench's quick data set and after every kind of
change: counts, done/late/missing, percentages and the monthly met/owed figures.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
from sqlalchemy import insert, select, update

from tests.reports_factories import YEAR, add_activity, build_college
from webapp.activities import counters, rollups
from webapp.extensions import db
from webapp.models import Activity, Plan, Requirement, TaskAssignment, Unit
from webapp.reports import ledger_rollups, queries


def reference_overview(root: Unit, window: queries.ReportWindow) -> queries.Overview:
    """The overview as computed before the rollups: every unit's figures built, then summed per child."""
    units = queries.subtree_units(root)
    tasks = queries.task_figures_by_unit(root, window)
    with rollups_disabled():
        obligations = queries.obligation_figures_by_unit(units, window)
    activity = queries.activity_updates_by_unit(root, window)
    parents = {u.parent_id for u in units}
    own = {u.id: queries.UnitFigures(unit=u, tasks=tasks.get(u.id, queries.TaskFigures()), own_only=True,
                                     obligations=obligations.get(u.id, queries.ObligationFigures()),
                                     activity_update=activity.get(u.id), has_children=u.id in parents)
           for u in units}

    def rollup(unit, members, own_only, has_children):
        row = queries.UnitFigures(unit=unit, tasks=queries.TaskFigures(), obligations=queries.ObligationFigures(),
                                  own_only=own_only, has_children=has_children)
        for member in members:
            row.tasks.add(member.tasks)
            row.obligations.add(member.obligations)
            row.activity_update = queries._latest(row.activity_update, member.activity_update)
        return row

    depth = len(root.ancestor_ids)
    members = defaultdict(list)
    for unit in units:
        chain = unit.ancestor_ids
        if len(chain) > depth:
            members[chain[depth]].append(own[unit.id])
    rows = [own[root.id]] if root.id in own else []
    rows += [rollup(child, members[child.id], False, own[child.id].has_children)
             for child in units if child.parent_id == root.id]
    total = rollup(root, list(own.values()), False, True)
    return queries.Overview(root=root, window=window, rows=rows, total=total)


class rollups_disabled:
    """Both per-process caches off: the obligation figures and the ledger figures."""
    def __enter__(self):
        self.before = rollups.cache.enabled, ledger_rollups.cache.enabled
        rollups.cache.enabled = ledger_rollups.cache.enabled = False

    def __exit__(self, *exc):
        rollups.cache.enabled, ledger_rollups.cache.enabled = self.before


def figures(row: queries.UnitFigures) -> tuple:
    t, o = row.tasks, row.obligations
    return (row.unit.id, row.own_only, row.has_children, t.assigned, t.done, t.in_progress, t.not_started, t.overdue,
            t.last_update, t.rate, o.period_met, o.period_required, o.ytd_met, o.ytd_required, o.period_rate,
            o.ytd_rate, o.ytd_missing, [tuple(m) for m in o.months], row.activity_update, row.last_update)


def snapshot(result: queries.Overview) -> list[tuple]:
    return [figures(row) for row in result.rows] + [figures(result.total)]


def assert_same(root: Unit, window: queries.ReportWindow) -> list[tuple]:
    expected = snapshot(reference_overview(root, window))
    assert snapshot(queries.overview(root, window)) == expected, (root.name, window.period)
    assert snapshot(queries.overview(root, window)) == expected, (root.name, window.period)  # from the cache
    with rollups_disabled():
        assert snapshot(queries.overview(root, window)) == expected
    return expected


def windows(year: int, today: date) -> list[queries.ReportWindow]:
    return [queries.report_window(year, period, today) for period in ("", "q2", "3", "11")]


def test_every_dashboard_of_the_demo_shows_the_same_figures(app):
    from webapp.demo import seed_demo
    with app.app_context():
        assert seed_demo(lambda *_: None)
        today = date.today()
        roots = db.session.execute(select(Unit).where(Unit.id.in_(select(Unit.parent_id)))).scalars().all()
        assert len(roots) >= 3
        compared = 0
        for root in roots:
            for window in windows(today.year, today):
                expected = assert_same(root, window)
                compared += sum(row[12] for row in expected)
        assert compared  # obligations were met somewhere: the figures are not all zero


def test_every_dashboard_of_the_quick_bench_data_shows_the_same_figures(tmp_path):
    from bench.generate import QUICK, generate_into
    from webapp import create_app
    url = f"sqlite:///{tmp_path / 'quick.db'}"
    year = date.today().year
    generate_into(url, QUICK, year)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        top = db.session.execute(select(Unit).where(Unit.parent_id.is_(None))).scalar_one()
        colleges = db.session.execute(select(Unit).where(Unit.parent_id == top.id).order_by(Unit.id)).scalars().all()
        branch = db.session.execute(select(Unit).where(Unit.parent_id == colleges[0].id).order_by(Unit.id)).scalar()
        today = min(date.today(), date(year, 12, 31))
        for root in (top, colleges[0], colleges[-1], branch):
            for window in windows(year, today):
                expected = assert_same(root, window)
                if root is top and not window.period:
                    assert expected[-1][3] == 3420 and expected[-1][13] > 5000  # ledger rows, obligation periods


def test_the_cached_figures_follow_every_change_they_depend_on(app, org, monkeypatch):
    computed = []
    original = queries._obligation_figures
    monkeypatch.setattr(queries, "_obligation_figures",
                        lambda unit_ids, window: computed.append(len(unit_ids)) or original(unit_ids, window))
    with app.app_context():
        data = build_college(org)
        kind = data.kind_ids["主题班会"]
        window = queries.report_window(YEAR, "", date(YEAR + 1, 1, 10))
        general = org.unit("general")

        def check(change: str, recomputed: bool = True):
            db.session.commit()
            db.session.expire_all()
            before = len(computed)
            result = snapshot(queries.overview(org.unit("general"), window))
            assert (len(computed) > before) == recomputed, change
            assert result == snapshot(reference_overview(org.unit("general"), window)), change
            for key in ("faculty1", "student1", "class1"):
                assert_same(org.unit(key), window)

        check("first view")
        check("nothing changed", recomputed=False)
        db.session.add(Activity(unit_id=org.units["class2"], kind_id=kind, held_on=date(YEAR, 5, 10), topic="主题",
                                status="approved"))
        check("an approved activity logged")
        activity = db.session.execute(select(Activity).where(Activity.unit_id == org.units["class1"])
                                      .order_by(Activity.id)).scalars().first()
        activity.status = "returned"
        check("an approval taken back")
        activity.status = "approved"
        activity.held_on = date(YEAR, 6, 3)
        check("an approved activity moved to another month")
        db.session.delete(activity)
        check("an approved activity deleted")
        draft = add_activity(org.units["class3"], kind, date(YEAR, 2, 2), status="draft")
        check("a draft logged (the last update moves, no counter does)")
        db.session.get(Activity, draft).status = "approved"
        check("the draft approved")
        requirement = db.session.execute(select(Requirement)).scalars().first()
        requirement.count = 2
        check("a requirement asks for more")
        requirement.include_children = True
        requirement.level = "branch"
        check("a requirement moves to the branches, children counted")
        requirement.level, requirement.include_children, requirement.count = "class", False, 1
        check("the requirement as it was")
        db.session.execute(update(Requirement).where(Requirement.id == requirement.id).values(count=3))
        check("a bulk UPDATE of requirements")
        db.session.delete(db.session.execute(select(TaskAssignment).where(
            TaskAssignment.unit_id == org.units["class2"])).scalars().first())
        check("an assignment removed")
        db.session.get(Unit, org.units["class3"]).active = False
        check("a unit retired")
        db.session.execute(update(Unit).where(Unit.id == org.units["class3"]).values(active=True))
        check("a bulk UPDATE of units")
        db.session.execute(update(Plan).where(Plan.id == data.plan_id).values(status="draft"))
        check("the plan withdrawn")
        db.session.get(Plan, data.plan_id).status = "published"
        check("the plan published again")
        db.session.execute(insert(Activity), [{"unit_id": org.units["class2"], "kind_id": kind, "topic": "批量",
                                               "held_on": date(YEAR, 7, 7), "status": "approved", "place": "",
                                               "host": "", "summary": "", "review_comment": "", "version": 1}])
        counters.recount(db.session)  # a bulk insert bypasses the counters: recount, which moves every stamp
        check("a bulk insert, then recount")
        assert general.id == org.units["general"]


@pytest.mark.parametrize("path, bucket, top", [("/1/", 1, True), ("/1/10/", 10, False), ("/1/10/112/", 10, False)])
def test_units_are_cached_under_their_college(path, bucket, top):
    assert rollups.placed(path) == (bucket, top) and rollups.bucket_of(path) == bucket


def test_figures_cached_for_one_users_scope_are_the_same_for_another(app, org, login_as):
    """The cache is per college, shared by every user of the process: what a branch's staff member or a class
    computed first must be what the college's admin would compute (and the reverse), page for page."""
    import re
    with app.app_context():
        build_college(org)
    pages = [("staff2", f"/overview?unit={org.units['student1']}&year={YEAR}"),
             ("staff3", f"/overview?unit={org.units['student2']}&year={YEAR}"),
             ("secretary", f"/overview?year={YEAR}"),
             ("admin", f"/overview?unit={org.units['student1']}&year={YEAR}&period=q2"),
             ("admin", f"/overview?year={YEAR}"),
             ("staff1", f"/overview?year={YEAR}")]

    def bodies(order) -> dict:
        answers = {}
        for who, path in order:
            response = login_as(who, app.test_client()).get(path)
            assert response.status_code == 200, (who, path)
            answers[who, path] = re.sub(r'[0-9a-zA-Z_-]{20,}\.[0-9a-zA-Z_-]{4,}\.[0-9a-zA-Z_-]{20,}', "",
                                        response.get_data(as_text=True))
        return answers

    rollups.cache.clear()
    with rollups_disabled():
        expected = bodies(pages)
    try:
        for order in (pages, pages[::-1]):
            rollups.cache.clear()
            ledger_rollups.cache.clear()
            queries.clear_subtrees()
            warm = bodies(order)
            assert rollups.cache.entries and ledger_rollups.cache.entries  # later pages used what earlier ones cached
            for page in order:
                assert warm[page] == expected[page], page
    finally:
        rollups.cache.clear()


def test_the_cached_ledger_figures_follow_every_ledger_change(app, org, monkeypatch):
    """Ledger figures (`reports.ledger_rollups`): a status change moves its college's stamp, a text edit only its
    unit's last edit (read as a delta, no recomputation), the day passing only "overdue" (folded at read time)."""
    from datetime import datetime

    from flask import g

    from webapp.clock import frozen_clock
    from webapp.ledger import queries as ledger_queries
    from webapp.ledger import services as ledger_services
    from webapp.models import LedgerRow, Task, User
    from webapp.permissions import activate_scope
    computed = []
    original = ledger_rollups._compute
    monkeypatch.setattr(ledger_rollups, "_compute",
                        lambda session, year, unit_ids: computed.append(len(unit_ids)) or original(session, year,
                                                                                                   unit_ids))
    with app.app_context():
        data = build_college(org)
    spring = queries.report_window(YEAR, "", date(YEAR, 5, 1))
    views = [spring, queries.report_window(YEAR, "q2", date(YEAR, 5, 1)),
             queries.report_window(YEAR, "", date(YEAR, 7, 1)), queries.report_window(YEAR, "", date(YEAR + 1, 1, 2))]
    row_of = {key: data.rows[(number, org.units[key])] for key, number in
              (("faculty1", 1), ("class3", 1), ("class2", 4), ("student1", 2))}
    staff_id = org.users["secretary"]  # edits every unit's rows

    def check(change: str, recomputed: bool, window=spring):
        db.session.commit()
        db.session.expire_all()
        before = len(computed)
        result = snapshot(queries.overview(org.unit("general"), window))
        assert (len(computed) > before) == recomputed, change
        assert result == snapshot(reference_overview(org.unit("general"), window)), change
        for key in ("faculty1", "student1", "class1"):
            assert_same(org.unit(key), window)
        return result

    def save_row(key: str, changes: dict, when: datetime):
        row = db.session.get(LedgerRow, row_of[key])
        with frozen_clock(when):
            ledger_services.save_row(db.session.get(User, staff_id), row.id, row.version, changes)

    def save_edited(key: str, changes: dict, when: datetime):
        with app.test_request_context("/"), frozen_clock(when):
            staff = db.session.get(User, staff_id)
            g._login_user = staff
            activate_scope(staff)
            row = ledger_queries.row_view(row_of[key])
            ledger_services.save_edited_row(staff, row, row.version, changes)

    with app.app_context():
        first = check("first view", True)
        check("nothing changed", False)
        for window in views[1:]:
            check(f"another window or day ({window.period} {window.as_of}): folded from the same entries", False, window)
        save_row("faculty1", {"progress": "推进中"}, datetime(YEAR, 6, 1, 8))
        moved = check("a text edit through save_row: only the last edit moves", False)
        assert moved[-1][8] != first[-1][8] and moved[-1][3:8] == first[-1][3:8]
        save_edited("class3", {"remarks": "好"}, datetime(YEAR, 6, 2, 9))
        check("a text edit through the inline editor", False)
        check("a text edit, another window", False, views[2])
        save_edited("class3", {"status": "done"}, datetime(YEAR, 6, 3, 9))
        check("a status change through the inline editor", True)
        save_row("class2", {"status": "in_progress"}, datetime(YEAR, 6, 4, 9))
        check("a status change through save_row", True)
        db.session.get(LedgerRow, row_of["student1"]).status = "not_started"
        check("a status changed on the ORM object", True)
        db.session.execute(update(LedgerRow).where(LedgerRow.unit_id == org.units["class1"]).values(status="done"))
        check("a bulk UPDATE of statuses", True)
        db.session.execute(update(LedgerRow).where(LedgerRow.unit_id == org.units["class1"]).values(remarks="批"))
        check("a bulk UPDATE of text", False)
        db.session.get(Task, data.task_ids[2]).due_on = date(YEAR, 4, 1)
        check("a due date moved", True)
        db.session.get(Task, data.task_ids[0]).archived = True
        check("a task archived", True)
        db.session.delete(db.session.get(LedgerRow, row_of["class2"]))
        check("a row deleted", True)
        check("the year's end: overdue folded at read time", False, views[3])


def test_ledger_entries_are_recomputed_after_their_maximum_age(app, org, monkeypatch):
    """However the delta was missed (a transaction slower than the margin, a clock set back), an entry does not
    outlive `MAX_AGE`."""
    computed = []
    original = ledger_rollups._compute
    monkeypatch.setattr(ledger_rollups, "_compute",
                        lambda session, year, unit_ids: computed.append(1) or original(session, year, unit_ids))
    with app.app_context():
        build_college(org)
        window = queries.report_window(YEAR, "", date(YEAR, 5, 1))
        queries.overview(org.unit("general"), window)
        queries.overview(org.unit("general"), window)
        assert len(computed) == 1
        # An entry lives 0.6-1.0 x MAX_AGE (its birth is spread either way): one MAX_AGE later every entry is old.
        now = ledger_rollups.time.monotonic()
        monkeypatch.setattr(ledger_rollups.time, "monotonic", lambda: now + ledger_rollups.MAX_AGE)
        queries.overview(org.unit("general"), window)
        assert len(computed) == 2


def test_a_unit_back_while_a_dashboard_is_computed_is_counted_on_the_next_view(app, org, monkeypatch):
    """The obligations' cache entry is kept under the structure stamp the page read its subtree under: a unit
    reactivated between that read and the obligations' own read must not be missing from the entry afterwards."""
    with app.app_context():
        data = build_college(org)
        kind = data.kind_ids["主题班会"]
        add_activity(org.units["class3"], kind, date(YEAR, 3, 3), status="approved")
        window = queries.report_window(YEAR, "", date(YEAR + 1, 1, 10))
        db.session.get(Unit, org.units["class3"]).active = False
        db.session.commit()
        general = org.unit("general")  # the tree's top: whole colleges' cached totals are used
        queries.overview(general, window)  # cached without class3
        original = queries._fold_tasks

        def fold_then_reactivate(*args, **kwargs):
            original(*args, **kwargs)
            # Another request's change, landing after the subtree was read (a bulk UPDATE moves the structure stamp).
            db.session.execute(update(Unit).where(Unit.id == org.units["class3"]).values(active=True))

        monkeypatch.setattr(queries, "_fold_tasks", fold_then_reactivate)
        queries.overview(general, window)
        monkeypatch.setattr(queries, "_fold_tasks", original)
        db.session.commit()
        db.session.expire_all()
        general = org.unit("general")
        assert snapshot(queries.overview(general, window)) == snapshot(reference_overview(general, window))
