"""Period arithmetic at its edges, and compliance judged with a frozen clock (as_of is always passed)."""
from datetime import date

import pytest

from webapp.activities.compliance import compliance
from webapp.activities.periods import DEFAULT_SEMESTERS, Period, periods, state_for

from .activities_factories import make_activity, make_plan

# ---- pure arithmetic ------------------------------------------------------------------------------


def test_weeks_are_iso_weeks_overlapping_the_year():
    weeks = periods("week", 2026)
    # 1 Jan 2026 is a Thursday: ISO week 1 runs Mon 29 Dec 2025 – Sun 4 Jan 2026.
    assert weeks[0] == Period("2026-W01", date(2025, 12, 29), date(2026, 1, 4))
    # 31 Dec 2026 is a Thursday in ISO week 53, which ends on 3 Jan 2027.
    assert weeks[-1] == Period("2026-W53", date(2026, 12, 28), date(2027, 1, 3))
    assert len(weeks) == 53
    assert all(w.start.weekday() == 0 and (w.end - w.start).days == 6 for w in weeks)


def test_first_days_of_a_year_can_belong_to_last_years_iso_week():
    weeks = periods("week", 2027)
    # 1 Jan 2027 is a Friday: it lies in 2026-W53, which therefore belongs to both plan years.
    assert weeks[0] == Period("2026-W53", date(2026, 12, 28), date(2027, 1, 3))
    assert weeks[1].label == "2027-W01" and weeks[1].start == date(2027, 1, 4)
    assert weeks[-1] == Period("2027-W52", date(2027, 12, 27), date(2028, 1, 2))


def test_week_ending_on_the_31st_of_december_stops_the_list():
    weeks = periods("week", 2023)
    # 1 Jan 2023 is a Sunday: the week Mon 26 Dec 2022 – Sun 1 Jan 2023 is ISO 2022-W52.
    assert weeks[0] == Period("2022-W52", date(2022, 12, 26), date(2023, 1, 1))
    assert weeks[-1] == Period("2023-W52", date(2023, 12, 25), date(2023, 12, 31))


def test_months_quarters_and_year():
    months = periods("month", 2024)
    assert months[1] == Period("2024-02", date(2024, 2, 1), date(2024, 2, 29))
    assert months[-1] == Period("2024-12", date(2024, 12, 1), date(2024, 12, 31))
    quarters = periods("quarter", 2026)
    assert [q.label for q in quarters] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert quarters[0].end == date(2026, 3, 31) and quarters[3].start == date(2026, 10, 1)
    assert periods("year", 2026) == [Period("2026", date(2026, 1, 1), date(2026, 12, 31))]


def test_autumn_semester_runs_into_the_next_year():
    spring, autumn = periods("semester", 2026, DEFAULT_SEMESTERS)
    assert spring == Period("2026-春季学期", date(2026, 3, 1), date(2026, 7, 31))
    assert autumn == Period("2026-秋季学期", date(2026, 9, 1), date(2027, 1, 31))


def test_semesters_are_configurable():
    custom = {"spring": (2, 20, 7, 10), "autumn": (8, 28, 1, 20)}
    spring, autumn = periods("semester", 2026, custom)
    assert (spring.start, spring.end) == (date(2026, 2, 20), date(2026, 7, 10))
    assert (autumn.start, autumn.end) == (date(2026, 8, 28), date(2027, 1, 20))


def test_unknown_cadence_is_an_error():
    with pytest.raises(ValueError):
        periods("fortnight", 2026)


@pytest.mark.parametrize("as_of, done, expected", [
    (date(2026, 3, 1), 0, "missing"),       # the day after the period
    (date(2026, 2, 28), 0, "in_progress"),  # its last day
    (date(2026, 2, 1), 0, "in_progress"),   # its first day
    (date(2026, 1, 31), 0, "upcoming"),     # the day before
    (date(2026, 1, 31), 1, "met"),
    (date(2026, 3, 1), 1, "met"),
    (date(2026, 3, 1), 2, "met"),
])
def test_state_by_as_of(as_of, done, expected):
    february = Period("2026-02", date(2026, 2, 1), date(2026, 2, 28))
    assert state_for(february, 1, done, as_of) == expected


# ---- compliance with a frozen clock -----------------------------------------------------------------

def cell_of(cells, unit_id, period):
    found = [c for c in cells if c.unit_id == unit_id and c.period == period]
    assert len(found) == 1, f"expected one cell for {unit_id} {period}, got {found}"
    return found[0]


def test_thursday_requirement_counts_the_whole_week(app_ctx, org):
    faculty1 = org.units["faculty1"]
    make_plan(org.units["general"], 2026,
              [{"kind": "政治学习", "cadence": "week", "weekday": 4, "level": "faculty_branch"}])
    # 2026-W10 is Mon 2 Mar – Sun 8 Mar.
    make_activity(faculty1, "政治学习", date(2026, 3, 2))   # Monday of W10
    make_activity(faculty1, "政治学习", date(2026, 3, 15))  # Sunday of W11
    make_activity(faculty1, "政治学习", date(2026, 3, 1))   # Sunday of W09, not W10
    cells = compliance(2026, as_of=date(2026, 6, 1))
    assert cell_of(cells, faculty1, "2026-W10").done == 1
    assert cell_of(cells, faculty1, "2026-W10").state == "met"
    assert cell_of(cells, faculty1, "2026-W11").state == "met"
    assert cell_of(cells, faculty1, "2026-W09").done == 1
    assert cell_of(cells, faculty1, "2026-W12").state == "missing"
    assert {c.unit_id for c in cells} == {faculty1}  # only faculty branches owe it


def test_activity_in_the_iso_week_spanning_new_year(app_ctx, org):
    faculty1 = org.units["faculty1"]
    make_plan(org.units["general"], 2026, [{"kind": "政治学习", "cadence": "week", "level": "faculty_branch"}])
    make_activity(faculty1, "政治学习", date(2025, 12, 30))  # Tuesday in 2026-W01
    cells = compliance(2026, as_of=date(2026, 1, 20))
    assert cell_of(cells, faculty1, "2026-W01").state == "met"
    assert cell_of(cells, faculty1, "2026-W02").state == "missing"
    assert cell_of(cells, faculty1, "2026-W04").state == "in_progress"  # Mon 19 – Sun 25 Jan
    assert cell_of(cells, faculty1, "2026-W05").state == "upcoming"


def test_autumn_semester_counts_january_of_the_next_year(app_ctx, org):
    class1 = org.units["class1"]
    make_plan(org.units["general"], 2026, [{"kind": "主题班会", "cadence": "semester", "level": "class"}])
    make_activity(class1, "主题班会", date(2027, 1, 15))
    make_activity(class1, "主题班会", date(2026, 8, 31))  # the summer break belongs to no semester
    cells = compliance(2026, as_of=date(2027, 2, 10))
    assert cell_of(cells, class1, "2026-秋季学期").state == "met"
    assert cell_of(cells, class1, "2026-春季学期").state == "missing"
    in_january = compliance(2026, as_of=date(2027, 1, 10))
    assert cell_of(in_january, org.units["class2"], "2026-秋季学期").state == "in_progress"


def test_twice_a_year_is_met_by_the_second_approved_activity(app_ctx, org):
    general = org.units["general"]
    make_plan(general, 2026, [{"kind": "意识形态研判会", "cadence": "year", "count": 2, "level": "general"}])
    make_activity(general, "意识形态研判会", date(2026, 6, 18))
    during = cell_of(compliance(2026, as_of=date(2026, 11, 1)), general, "2026")
    assert (during.done, during.required, during.state) == (1, 2, "in_progress")
    after = cell_of(compliance(2026, as_of=date(2027, 1, 5)), general, "2026")
    assert (after.done, after.state) == (1, "missing")
    make_activity(general, "意识形态研判会", date(2026, 12, 10))
    assert cell_of(compliance(2026, as_of=date(2027, 1, 5)), general, "2026").state == "met"


@pytest.mark.parametrize("status", ["draft", "submitted", "returned"])
def test_only_approved_activities_count(app_ctx, org, status):
    class1 = org.units["class1"]
    make_plan(org.units["general"], 2026, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
    make_activity(class1, "主题班会", date(2026, 4, 10), status=status)
    cell = cell_of(compliance(2026, as_of=date(2026, 5, 2)), class1, "2026-04")
    assert (cell.done, cell.state) == (0, "missing")


@pytest.mark.parametrize("include_children, expected", [(False, (0, "missing")), (True, (1, "met"))])
def test_child_class_counts_for_its_branch_only_with_include_children(app_ctx, org, include_children, expected):
    make_plan(org.units["general"], 2026, [{"kind": "主题团日", "cadence": "month", "level": "student_branch",
                                            "include_children": include_children}])
    make_activity(org.units["class1"], "主题团日", date(2026, 4, 10))
    cells = compliance(2026, as_of=date(2026, 5, 2))
    student1 = cell_of(cells, org.units["student1"], "2026-04")
    assert (student1.done, student1.state) == expected
    assert cell_of(cells, org.units["student2"], "2026-04").done == 0  # class1 is not under student2
