"""The exports as a spreadsheet program prints them: each workbook converted to PDF by LibreOffice (headless)
must be A4 landscape, repeat its header row on every page, and show every wrapped text whole, without
lines running into the rows below (row heights are set, since Calc does not grow rows on load)."""
from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import lxml.etree as ET
import openpyxl
import pytest

from tests.reports_factories import YEAR, add_activity, assign, make_plan
from webapp.extensions import db
from webapp.models import Requirement, Task
from webapp.reports.excel import fit_row_heights, text_width, wrapped_lines

XHTML = {"h": "http://www.w3.org/1999/xhtml"}
# Distinctive characters that appear only in the long texts, so the PDF can be checked for cut text.
PROGRESS = "已召开甲支部会议部署落实，" * 14
BODY_EXTRA = "乙项工作按计划逐月推进并形成记录。" * 6
REQUIREMENT = "各班级每月召开主题班会，丙围绕理想信念教育、诚信考试、安全教育等主题开展讨论并留存记录。" * 2
MARKS = "甲乙丙"
# Each sheet's header: words that must be on every printed page of that sheet.
HEADERS = [("序号", "重点任务", "具体内容"), ("任务数", "逾期", "完成率"), ("工作要求", "活动类型", "1月"),
           ("工作要求", "活动类型", "周期")]


def _soffice() -> str:
    found = shutil.which("soffice")
    assert found, "LibreOffice is missing: apt-get install libreoffice-calc-nogui (see .ci/run)"
    assert shutil.which("pdftotext"), "pdftotext is missing: apt-get install poppler-utils (see .ci/run)"
    return found


# The tests below only read the printed files, so LibreOffice (seconds of CPU) runs once per test process
# (session scope: under pytest-xdist a worker may run other modules' tests between these).
@pytest.fixture(scope="session")
def _printed():
    return {}


@pytest.fixture
def exports(_printed, request, tmp_path_factory):
    if not _printed:
        _printed.update(_print_exports(request.getfixturevalue("app"), request.getfixturevalue("client"),
                                       request.getfixturevalue("login_as"), request.getfixturevalue("org"),
                                       tmp_path_factory.mktemp("printed")))
    return _printed


def _print_exports(app, client, login_as, org, tmp_path):
    with app.app_context():
        data = make_plan(org.units["general"], extra_tasks=20)

        for task in db.session.execute(db.select(Task).where(Task.id.in_(data.task_ids))).scalars():
            task.body = (task.body or task.title) + BODY_EXTRA
            task.deadline_text = f"{YEAR}年1月启动，3月底前完成清单和台账制定工作，全年坚持和落实。"
        assign(data, org.units["faculty1"], ["done", "in_progress"], lead="李老师", members="王老师、赵老师",
               progress=PROGRESS, remarks="按月更新")
        for key in ("class1", "class2"):
            assign(data, org.units[key], ["done"], progress=PROGRESS[:40])
        for requirement in db.session.execute(db.select(Requirement)).scalars():
            requirement.text = REQUIREMENT
        add_activity(org.units["class1"], data.kind_ids["主题班会"], date(YEAR, 3, 10))
        db.session.commit()
    login_as("secretary")
    files = {"ledger": f"/units/{org.units['faculty1']}/ledger.xlsx",
             "subtree": f"/units/{org.units['general']}/ledgers.xlsx",
             "compliance": f"/reports/compliance.xlsx?year={YEAR}"}
    paths = []
    for name, url in files.items():
        response = client.get(url)
        assert response.status_code == 200, url
        path = tmp_path / f"{name}.xlsx"
        path.write_bytes(response.data)
        paths.append(path)
    # One LibreOffice run for all three, with its own profile (no shared ~/.config, no lock clashes).
    subprocess.run([_soffice(), f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), *map(str, paths)],
                   check=True, capture_output=True, timeout=240)
    return {path.stem: (path, path.with_suffix(".pdf")) for path in paths}


def pdf_pages(pdf: Path) -> list[dict]:
    """Per page: its size and its words with their boxes (pdftotext -bbox)."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, check=True).stdout
    doc = ET.fromstring(out[out.index(b"<html"):])
    pages = []
    for page in doc.iterfind(".//h:page", XHTML):
        words = [(float(w.get("xMin")), float(w.get("yMin")), float(w.get("xMax")), float(w.get("yMax")), w.text or "")
                 for w in page.iterfind("h:word", XHTML)]
        pages.append({"width": float(page.get("width")), "height": float(page.get("height")), "words": words})
    return pages


def overlapping(words: list[tuple]) -> list[tuple]:
    """Pairs of words whose boxes share more than a third of a line (glyph boxes of adjacent lines touch)."""
    clashes = []
    for index, a in enumerate(words):
        for b in words[index + 1:]:
            line = min(a[3] - a[1], b[3] - b[1])
            if min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > line / 3:
                clashes.append((a[4], b[4]))
    return clashes


def marks_in_workbook(path: Path) -> dict[str, int]:
    workbook = openpyxl.load_workbook(path)
    text = "".join(str(value) for sheet in workbook.worksheets
                   for row in sheet.iter_rows(values_only=True) for value in row if isinstance(value, str))
    return {mark: text.count(mark) for mark in MARKS}


@pytest.mark.parametrize("name", ["ledger", "subtree", "compliance"])
def test_each_export_prints_readably_on_a4_landscape(exports, name):
    xlsx, pdf = exports[name]
    pages = pdf_pages(pdf)
    assert pages, f"{name}: no pages"
    if name != "compliance":
        assert len(pages) >= 2, "the data is meant to run over more than one page"
    for number, page in enumerate(pages, start=1):
        # A4 landscape: 842 × 595 pt.
        assert abs(page["width"] - 841.9) < 2 and abs(page["height"] - 595.3) < 2, (name, number, page["width"])
        text = "".join(word[4] for word in page["words"])
        assert any(all(head in text for head in header) for header in HEADERS), \
            f"{name} page {number}: the header row is not repeated"
        assert overlapping(page["words"]) == [], f"{name} page {number}: text runs into other text"
        assert all(word[3] <= page["height"] for word in page["words"])
    # Nothing cut: every character of the long texts is printed.
    printed = "".join(word[4] for page in pages for word in page["words"])
    expected = marks_in_workbook(xlsx)
    assert sum(expected.values()) > 0
    assert {mark: printed.count(mark) for mark in MARKS} == expected


def test_row_heights_follow_the_longest_wrapped_cell(exports):
    sheet = openpyxl.load_workbook(exports["ledger"][0]).worksheets[0]
    widths = {letter: dim.width for letter, dim in sheet.column_dimensions.items()}
    for row in sheet.iter_rows(min_row=3):
        if row[1].value is None:  # a section row
            continue
        needed = max(wrapped_lines(str(cell.value), widths[cell.column_letter]) for cell in row if cell.value)
        assert sheet.row_dimensions[row[0].row].height >= needed * 15
    # The summary sheet's wrapped headers get their height too.
    summary = openpyxl.load_workbook(exports["subtree"][0]).worksheets[0]
    assert summary.row_dimensions[2].height >= 3 * 15


def test_cjk_counts_double_against_the_column_width():
    assert text_width("推进情况") == 8 and text_width("ab12") == 4 and text_width("，") == 2
    assert wrapped_lines("一" * 10, 21.5) == 1 and wrapped_lines("一" * 11, 21.5) == 2
    assert wrapped_lines("a\nb", 10) == 2
    sheet = openpyxl.Workbook().active
    sheet.column_dimensions["A"].width = 11.5
    sheet["A1"] = "一" * 25
    fit_row_heights(sheet)
    assert sheet.row_dimensions[1].height >= 3 * 15
