"""Excel exports read back with openpyxl: the printed ledger layout, the subtree workbook, activities, scope."""
from __future__ import annotations

import io
from datetime import date
from urllib.parse import quote

import openpyxl
import pytest

from tests.reports_factories import PLAN_TITLE, YEAR, add_activity, add_evidence, assign, make_plan
from webapp.extensions import db
from webapp.models import Plan
from webapp.reports.excel import sheet_name

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ["序号", "重点任务", "具体内容", "负责人", "成员", "工作时限", "推进情况", "完成情况", "佐证材料", "备注"]


@pytest.fixture
def ledgers(app, org):
    with app.app_context():
        data = make_plan(org.units["general"])
        assign(data, org.units["faculty1"], ["done", "in_progress", "not_started", "not_started"],
               lead="李老师", members="王老师、赵老师", progress="已部署，按月推进")
        for key in ("student1", "class1", "class2", "class3"):
            assign(data, org.units[key], ["done", "done"])
        add_evidence(data.rows[(1, org.units["faculty1"])], org.units["faculty1"], "会议纪要.pdf")
        add_evidence(data.rows[(1, org.units["faculty1"])], org.units["faculty1"], "签到表.jpg")
        db.session.commit()
    return data


def download(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == XLSX
    return response, openpyxl.load_workbook(io.BytesIO(response.data))


def rows_of(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_unit_ledger_in_the_printed_layout(client, login_as, org, ledgers):
    login_as("secretary")
    response, workbook = download(client, f"/units/{org.units['faculty1']}/ledger.xlsx")
    title = f"计算机学院{YEAR}年意识形态工作任务台账（教工第一党支部）"
    assert response.headers["Content-Disposition"].endswith(f"filename*=UTF-8''{quote(title + '.xlsx')}")
    sheet = workbook.worksheets[0]
    rows = rows_of(sheet)
    assert rows[0][0] == title
    assert rows[1] == HEADERS
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert "A1:J1" in merged
    # Sections: their own rows merged across, before their tasks.
    assert rows[2][0] == "一、加强组织领导" and "A3:J3" in merged
    assert rows[5][0] == "二、抓好理论学习" and "A6:J6" in merged
    tasks = {row[0]: row for row in rows if isinstance(row[0], int)}
    assert sorted(tasks) == [1, 2, 3, 4]
    first = tasks[1]
    assert first[1] == "制定年度重点任务清单。" and first[2].startswith("制定年度重点任务清单。具体内容")
    assert first[3:5] == ["李老师", "王老师、赵老师"]
    assert first[6] == "已部署，按月推进"
    assert first[7] == f"已完成（{YEAR}-03-15）"
    assert first[8] == "会议纪要.pdf\n签到表.jpg"
    assert [tasks[n][7] for n in (2, 3, 4)] == ["进行中", "未开始", "未开始"]
    # Print settings: A4 landscape, fit to width, title + header repeated, frozen below the header.
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == "9"  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    assert sheet.print_title_rows == "$1:$2"
    assert sheet.freeze_panes == "A3"
    assert sheet["C4"].alignment.wrap_text
    assert sheet.column_dimensions["C"].width > sheet.column_dimensions["A"].width


def test_title_without_fang_an_keeps_the_plan_title(app, client, login_as, org, ledgers):
    with app.app_context():
        db.session.get(Plan, ledgers.plan_id).title = "2026年党建工作要点"
        db.session.commit()
    login_as("staff1")
    _, workbook = download(client, f"/units/{org.units['faculty1']}/ledger.xlsx")
    assert workbook.worksheets[0]["A1"].value == "2026年党建工作要点台账（教工第一党支部）"


def test_subtree_workbook_has_a_summary_then_one_sheet_per_unit(client, login_as, org, ledgers):
    login_as("staff2")
    response, workbook = download(client, f"/units/{org.units['student1']}/ledgers.xlsx")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert workbook.sheetnames == ["汇总", "学生第一党支部", "2023级计算机1班", "2023级计算机2班"]
    summary = {row[0]: row for row in rows_of(workbook["汇总"])[2:]}
    # The student branch: 4 tasks, 2 done, 2 not started; task 3 (due 30 June) is overdue, task 4 is due 31 Dec.
    assert summary["学生第一党支部"][1:7] == [4, 2, 0, 2, 1, "50%"]
    class_sheet = workbook["2023级计算机1班"]
    assert class_sheet["A1"].value.endswith("（2023级计算机1班）")
    assert [row[0] for row in rows_of(class_sheet) if isinstance(row[0], int)] == [1, 2, 3, 4]


def test_sheet_names_follow_excel_rules():
    taken: set[str] = set()
    long_name = "学生[第一]党支部:2023/24*?\\" * 3
    names = [sheet_name(long_name, taken) for _ in range(3)]
    assert len(set(names)) == 3
    for name in names:
        assert len(name) <= 31 and not set(name) & set("[]:*?/\\")


@pytest.mark.parametrize("user, unit, status", [
    ("staff3", "faculty1", 404),        # another branch
    ("monitor1", "class1", 200),        # own class
    ("monitor1", "class2", 404),        # a sibling class
    ("monitor1", "student1", 404),      # the branch above
    ("foreign_admin", "faculty1", 404),  # another college's admin
    ("staff2", "class2", 200),
])
def test_export_scope(client, login_as, org, ledgers, user, unit, status):
    login_as(user)
    assert client.get(f"/units/{org.units[unit]}/ledger.xlsx").status_code == status
    assert client.get(f"/units/{org.units[unit]}/ledgers.xlsx").status_code == status


def test_monitor_subtree_workbook_is_their_class_only(client, login_as, org, ledgers):
    login_as("monitor1")
    _, workbook = download(client, f"/units/{org.units['class1']}/ledgers.xlsx")
    assert workbook.sheetnames == ["汇总", "2023级计算机1班"]


def test_export_needs_login(client, org, ledgers):
    assert client.get(f"/units/{org.units['faculty1']}/ledger.xlsx").status_code == 302


def test_activities_export_with_the_list_filters(app, client, login_as, org, ledgers):
    with app.app_context():
        kind = ledgers.kind_ids["主题班会"]
        add_activity(org.units["class1"], kind, date(YEAR, 3, 10), topic="三月主题班会")
        add_activity(org.units["class1"], kind, date(YEAR, 4, 10), "submitted", topic="四月主题班会")
        add_activity(org.units["class3"], kind, date(YEAR, 3, 12), topic="网络班三月班会")
        add_activity(org.units["foreign_branch"], kind, date(YEAR, 3, 12), topic="外院活动")
        db.session.commit()
    login_as("secretary")
    _, workbook = download(client, f"/reports/activities.xlsx?month={YEAR}-03")
    rows = rows_of(workbook.worksheets[0])
    assert rows[1][:4] == ["日期", "单位", "类型", "主题"]
    assert sorted(row[3] for row in rows[2:]) == ["三月主题班会", "网络班三月班会"]
    _, workbook = download(client, f"/reports/activities.xlsx?unit={org.units['class1']}&status=submitted")
    rows = rows_of(workbook.worksheets[0])[2:]
    assert [(row[1], row[3], row[7], row[6]) for row in rows] == [("2023级计算机1班", "四月主题班会", "待审核", "30/32")]
    login_as("staff3")
    _, workbook = download(client, "/reports/activities.xlsx")
    assert [row[3] for row in rows_of(workbook.worksheets[0])[2:]] == ["网络班三月班会"]
    assert client.get(f"/reports/activities.xlsx?unit={org.units['class1']}").status_code == 404
