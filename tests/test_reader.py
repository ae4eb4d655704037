"""Tests for webapp.plans.reader. Run: PYTHONPATH=. pytest tests/test_reader.py -q"""

import io
import json
import random
import zipfile
from pathlib import Path

import docx
import pytest

from webapp.plans.reader import KINDS, LEVELS, ReadError, read_plan
from webapp.plans.timelimits import parse_time_limit
from webapp.plans.obligations import find_requirements

FIXTURES = Path(__file__).parent / "fixtures" / "plans"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def tasks_of(plan: dict) -> list[dict]:
    return [t for s in plan["sections"] for t in s["tasks"]]


def task(plan: dict, number: int) -> dict:
    return next(t for t in tasks_of(plan) if t["number"] == number)


def reqs(t: dict) -> set[tuple]:
    return {(r["kind"], r["cadence"], r["count"], r["weekday"], r["level"]) for r in t["requirements"]}


def docx_bytes(build) -> bytes:
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def sample() -> dict:
    return read_plan(fixture("sample-2023.txt"))


# ------------------------------------------------------------ the real sample

def test_sample_title_and_year(sample):
    assert sample["title"] == "高校2023年意识形态工作方案"
    assert sample["year"] == 2023


def test_sample_has_three_sections(sample):
    assert [s["number"] for s in sample["sections"]] == ["一", "二", "三"]
    assert sample["sections"][0]["title"] == "夯实基层党支部全面领导责任"


def test_sample_task_numbers_run_on_across_sections(sample):
    assert [[t["number"] for t in s["tasks"]] for s in sample["sections"]] == [[1, 2, 3, 4], [5, 6, 7], [8]]


def test_sample_task1_title_and_body(sample):
    t = task(sample, 1)
    assert t["title"] == "学院制定和落实年度重点任务清单。"
    assert t["body"].startswith("制定下发《XX高校2023年意识形态工作方案》")
    assert t["body"].endswith("落实主体责任。")
    assert t["lead"] == "" and t["members"] == ""


def test_sample_task1_wrapped_time_limit_is_joined(sample):
    t = task(sample, 1)
    assert t["deadline_text"] == "2023年1月启动,3月底前完成清单和台账制定工作,全年坚持和落实。"
    assert (t["starts_on"], t["due_on"], t["ongoing"]) == ("2023-01-01", "2023-03-31", True)


def test_sample_task2_requirements(sample):
    got = reqs(task(sample, 2))
    assert ("党政联席会议", "year", 2, None, "general") in got
    assert ("政治学习", "week", 1, 4, "faculty_branch") in got
    assert {("支部党员大会", "quarter", 1, None, "branch"), ("支部委员会", "month", 1, None, "branch"),
            ("党小组会", "month", 1, None, "branch"), ("党课", "quarter", 1, None, "branch")} <= got
    assert {("主题班会", "month", 1, None, "class"), ("主题团日", "month", 1, None, "class")} <= got
    assert len(got) == 8


def test_sample_requirement_text_is_the_clause(sample):
    texts = {r["kind"]: r["text"] for r in task(sample, 2)["requirements"]}
    assert texts["政治学习"] == "每周四组织教职工政治学习"


def test_sample_task5_analysis_meetings(sample):
    (r,) = task(sample, 5)["requirements"]
    assert (r["kind"], r["cadence"], r["level"]) == ("意识形态研判会", "year", "general")
    assert r["count"] >= 2


def test_sample_task7_monthly_screening(sample):
    (r,) = task(sample, 7)["requirements"]
    assert (r["kind"], r["cadence"], r["count"], r["level"]) == ("摸排清查", "month", 1, "student_branch")


def test_sample_one_off_meetings_are_not_requirements(sample):
    assert task(sample, 4)["requirements"] == []  # 召开…警示教育会议 once
    assert task(sample, 6)["requirements"] == []  # 召开全体职工会议
    assert task(sample, 3)["requirements"] == []  # 定期…排查 has no cadence


def test_sample_task8_stops_before_footer(sample):
    body = task(sample, 8)["body"]
    assert "领取福利" not in body and "微信" not in body and "221381" not in body
    assert body.endswith("意识形态风险防控与审查工作。")


def test_sample_ongoing_without_due_date(sample):
    t = task(sample, 4)
    assert (t["starts_on"], t["due_on"], t["ongoing"]) == ("2023-01-01", None, True)
    assert task(sample, 2)["due_on"] == "2023-12-31" and not task(sample, 2)["ongoing"]


def test_sample_result_is_json_with_exact_keys(sample):
    json.dumps(sample)
    assert set(sample) == {"title", "year", "sections", "warnings"}
    assert set(task(sample, 2)) == {"number", "title", "body", "lead", "members", "deadline_text",
                                    "starts_on", "due_on", "ongoing", "requirements"}
    assert set(task(sample, 2)["requirements"][0]) == {"text", "kind", "cadence", "count", "weekday", "level"}
    # Issue 12: cadences taken from the usual defaults (三会一课, 各班级利用主题班会) are named once,
    # without a task label, so no task is flagged for them.
    assert sample["warnings"] == [
        "以下周期要求的频次文中未写明，已按惯例填写：支部党员大会每季度1次、支部委员会每月1次、党小组会每月1次、"
        "党课每季度1次、主题班会每月1次、主题团日每月1次，请核对",
        "以下任务没有工作时限：任务8"]


def test_str_and_bom_input_read_like_bytes(sample):
    text = fixture("sample-2023.txt").decode("utf-8")
    assert read_plan(text) == sample
    assert read_plan(b"\xef\xbb\xbf" + text.encode("utf-8")) == sample


def test_constants():
    assert {"支部党员大会", "支部委员会", "党小组会", "党课", "主题党日", "政治学习", "党政联席会议",
            "意识形态研判会", "警示教育会", "摸排清查", "主题班会", "主题团日"} <= set(KINDS)
    assert LEVELS == ["general", "branch", "faculty_branch", "student_branch", "class"]


# ------------------------------------------------------------ other documents

def test_gb18030_file_with_part_headings_and_parenthesised_numbers():
    plan = read_plan(fixture("gb18030-2022.txt"))
    assert plan["title"] == "XX学院团委二〇二二年工作计划" and plan["year"] == 2022
    assert [(s["number"], s["title"]) for s in plan["sections"]] == [("一", "组织建设"), ("二", "思想引领")]
    assert [t["number"] for t in tasks_of(plan)] == [1, 2, 3]
    assert task(plan, 1)["due_on"] == "2022-06-30"
    assert task(plan, 2)["due_on"] == "2022-10-20"


def test_subsection_headings_become_sections_and_empty_headings_drop():
    plan = read_plan(fixture("subsections-2024.txt"))
    assert plan["title"] == "XX大学计算机学院党总支2024年党建工作要点"
    assert [(s["number"], s["title"]) for s in plan["sections"]] == [("一", "加强政治建设"), ("二", "加强阵地管理")]
    assert [t["number"] for t in tasks_of(plan)] == [1, 2, 3, 4, 5]


def test_inline_fields_are_split_from_the_body():
    t = task(read_plan(fixture("subsections-2024.txt")), 1)
    assert t["body"] == "各党支部严格落实“三会一课”，每月开展一次主题党日活动。"
    assert (t["lead"], t["members"], t["deadline_text"]) == ("张三", "李四、王五", "长期坚持")
    assert t["ongoing"] is True


def test_several_lead_lines_and_wrapped_value():
    t = task(read_plan(fixture("subsections-2024.txt")), 2)
    assert t["lead"] == "张三；党政办公室"
    assert t["members"] == "各党支部"
    assert t["deadline_text"] == "2024年3月启动，6月30日前完成第一阶段"
    assert (t["starts_on"], t["due_on"]) == ("2024-03-01", "2024-06-30")


def test_closing_sections_and_signature_are_not_read_into_tasks():
    plan = read_plan(fixture("subsections-2024.txt"))
    last = task(plan, 5)
    assert last["body"] == "" and "党总支" not in last["deadline_text"]
    assert all("报送工作信息" not in t["body"] for t in tasks_of(plan))


def test_other_year_and_unreadable_time_limits_warn():
    warnings = read_plan(fixture("subsections-2024.txt"))["warnings"]
    assert "任务4：工作时限“2025年3月底前”中的年份2025不是方案年份2024，请人工核对" in warnings
    assert "任务5：工作时限“视情况而定”无法识别日期，请人工核对" in warnings


def test_plan_without_field_lines_keeps_paragraphs_in_body():
    plan = read_plan(fixture("no-fields-2023.txt"))
    t1 = task(plan, 1)
    assert t1["body"] == "各班级每月召开一次主题班会。\n结合重要节点开展主题团日活动。"
    assert task(plan, 3)["body"] == "每周一组织晨读。"
    assert plan["warnings"][-1] == "以下任务没有工作时限：任务1、任务2、任务3"


def test_heavy_noise_and_related_article_lists_are_ignored():
    plan = read_plan(fixture("noisy-2023.txt"))
    assert plan["title"] == "XX学院党总支2023年意识形态工作任务清单"
    assert [t["number"] for t in tasks_of(plan)] == [1, 2]
    assert task(plan, 2)["deadline_text"] == "年底前"
    assert ("党政联席会议", "year", 2, None, "general") in reqs(task(plan, 1))


@pytest.mark.parametrize("mark", ["{}.", "{}、", "{}．", "（{}）", "({})", "{})"])
def test_each_task_numbering_style(mark):
    text = (f"XX学院2023年工作计划\n一、第一部分工作\n{mark.format(1)}第一项任务。具体内容一。\n"
            f"工作时限：6月底前\n{mark.format(2)}第二项任务。具体内容二。\n")
    plan = read_plan(text)
    assert [(t["number"], t["title"], t["body"]) for t in tasks_of(plan)] == [
        (1, "第一项任务。", "具体内容一。"), (2, "第二项任务。", "具体内容二。")]
    assert tasks_of(plan)[0]["due_on"] == "2023-06-30"


@pytest.mark.parametrize("heading,number,title", [
    ("一、加强领导", "一", "加强领导"), ("（一）加强领导", "一", "加强领导"), ("(二)加强领导", "二", "加强领导"),
    ("第一部分 加强领导", "一", "加强领导"), ("第三章：加强领导", "三", "加强领导")])
def test_section_heading_styles(heading, number, title):
    plan = read_plan(f"2023年工作方案\n{heading}\n1.任务甲。\n")
    assert [(s["number"], s["title"]) for s in plan["sections"]] == [(number, title)]


def test_dates_and_decimals_are_not_task_numbers():
    text = ("2023年工作方案\n1.启动工作。\n2023年1月启动全面部署。\n2.5万元经费保障到位。\n"
            "3、月度总结。\n")
    plan = read_plan(text)
    assert [t["number"] for t in tasks_of(plan)] == [1]
    assert task(plan, 1)["body"] == "2023年1月启动全面部署。\n2.5万元经费保障到位。\n3、月度总结。"


def test_sub_points_of_another_numbering_family_stay_in_the_body():
    text = "2023年工作方案\n1.加强学习。\n（1）每月开展一次主题党日。\n（2）每季度讲一次党课。\n2.加强管理。\n"
    plan = read_plan(text)
    assert [t["number"] for t in tasks_of(plan)] == [1, 2]
    assert {r["kind"] for r in task(plan, 1)["requirements"]} == {"主题党日", "党课"}


def test_tasks_before_any_heading_get_an_unnumbered_section():
    plan = read_plan("XX支部2023年工作计划\n1.任务甲。\n2.任务乙。\n")
    assert [(s["number"], s["title"], len(s["tasks"])) for s in plan["sections"]] == [("", "", 2)]


def test_numbering_gap_warns_but_restart_per_section_does_not():
    plan = read_plan("2023年工作方案\n一、甲\n1.任务。\n3.任务。\n二、乙\n1.任务。\n")
    assert [t["number"] for t in tasks_of(plan)] == [1, 3, 1]
    assert [w for w in plan["warnings"] if "跳到" in w] == ["任务编号从1跳到3，请核对是否漏读或多读了任务"]


def test_plan_numbered_only_with_parenthesised_chinese_numerals():
    plan = read_plan("2023年工作要点\n（一）加强理论学习。各支部每月开展一次主题党日。\n（二）加强队伍建设。\n")
    assert [(t["number"], t["title"]) for t in tasks_of(plan)] == [(1, "加强理论学习。"), (2, "加强队伍建设。")]


def test_letter_spaced_labels_and_value_on_next_line():
    text = "2023年工作方案\n1.任务甲。内容。\n负 责 人：\n王主任\n完成时限:\n9月\n"
    t = task(read_plan(text), 1)
    assert (t["lead"], t["deadline_text"], t["due_on"]) == ("王主任", "9月", "2023-09-30")


def test_paragraph_after_finished_fields_goes_to_body_with_warning():
    text = "2023年工作方案\n1.任务甲。\n工作时限：年底前完成。\n" + "另外要求各支部认真组织，确保活动效果，按时报送总结材料和相关图片资料。" + "\n"
    plan = read_plan(text)
    assert task(plan, 1)["deadline_text"] == "年底前完成。"
    assert "报送总结材料" in task(plan, 1)["body"]
    assert any(w.startswith("任务1：字段之后的段落") for w in plan["warnings"])


# ------------------------------------------------------------ .docx

def test_docx_paragraphs_read_like_text(sample):
    text = fixture("sample-2023.txt").decode("utf-8")

    def build(document):
        for line in text.splitlines():
            document.add_paragraph(line)

    assert read_plan(docx_bytes(build), filename="plan.txt") == sample


def _task_table_doc(document):
    document.add_paragraph("XX学院党总支2023年意识形态工作任务清单")
    document.add_paragraph("为做好今年工作，制定任务清单如下：")
    table = document.add_table(rows=5, cols=6)
    header = ["序号", "重点任务", "具体内容", "负责人", "成员", "工作时限"]
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = text
    merged = table.rows[1].cells[0].merge(table.rows[1].cells[5])
    merged.text = "一、夯实责任"
    rows = [["1", "制定任务清单", "每年至少召开2次意识形态工作研判会议。", "张书记", "李四", "3月底前"],
            ["2", "加强学习", "每周四组织教职工政治学习。\n各班级利用主题班会开展教育。", "王院长", "", "长期坚持"]]
    for row, values in zip(table.rows[2:4], rows):
        for cell, text in zip(row.cells, values):
            cell.text = text
    section = table.rows[4].cells[0].merge(table.rows[4].cells[5])
    section.text = "二、防控风险"
    document.add_paragraph("3.做好舆情处置。每月开展一次摸排清查。")
    document.add_paragraph("工作时限：全年")


def test_docx_task_table_gives_one_task_per_row():
    plan = read_plan(docx_bytes(_task_table_doc))
    assert plan["title"] == "XX学院党总支2023年意识形态工作任务清单"
    assert [(s["number"], s["title"]) for s in plan["sections"]] == [("一", "夯实责任"), ("二", "防控风险")]
    t1, t2 = plan["sections"][0]["tasks"]
    assert (t1["number"], t1["title"], t1["lead"], t1["members"], t1["due_on"]) == (
        1, "制定任务清单", "张书记", "李四", "2023-03-31")
    assert t2["body"] == "每周四组织教职工政治学习。\n各班级利用主题班会开展教育。"
    assert t2["ongoing"] is True
    assert {("政治学习", "week", 1, 4, "faculty_branch"), ("主题班会", "month", 1, None, "class")} <= reqs(t2)


def test_docx_paragraphs_after_a_table_keep_document_order():
    plan = read_plan(docx_bytes(_task_table_doc))
    (t3,) = plan["sections"][1]["tasks"]
    assert (t3["number"], t3["title"], t3["deadline_text"]) == (3, "做好舆情处置。", "全年")
    assert reqs(t3) == {("摸排清查", "month", 1, None, "general")}


def test_docx_table_without_number_or_title_column():
    def build(document):
        table = document.add_table(rows=3, cols=3)
        title = table.rows[0].cells[0].merge(table.rows[0].cells[2])
        title.text = "XX学院2024年意识形态工作任务台账（教工第一党支部）"
        for cell, text in zip(table.rows[1].cells, ["工作内容", "责任人", "完成时限"]):
            cell.text = text
        for cell, text in zip(table.rows[2].cells, ["开展警示教育。每年召开一次警示教育会。", "赵六", "12月"]):
            cell.text = text

    plan = read_plan(docx_bytes(build))
    assert plan["year"] == 2024
    (t,) = tasks_of(plan)
    assert (t["number"], t["title"], t["body"], t["lead"], t["due_on"]) == (
        1, "开展警示教育。", "每年召开一次警示教育会。", "赵六", "2024-12-31")


def test_text_is_not_taken_for_docx_because_of_its_name(sample):
    assert read_plan(fixture("sample-2023.txt"), filename="plan.docx") == sample


# ------------------------------------------------------------ errors

@pytest.mark.parametrize("data", [b"", b"   \r\n\t ", "\u3000\n \n", b"\xef\xbb\xbf\n"])
def test_empty_input(data):
    with pytest.raises(ReadError, match="^文件为空$"):
        read_plan(data)


@pytest.mark.parametrize("data", [
    Path("/bin/ls").read_bytes(),
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
    random.Random(7).randbytes(4096),
    bytes(b for b in random.Random(8).randbytes(4096) if b),  # no NULs: decode or ratio must catch it
    b"\x01\x02\x03\x04hello 2023\x05\x06\x07\x08\x0e\x0f" * 20,
])
def test_binary_garbage_is_refused(data):
    with pytest.raises(ReadError, match="^无法读取文件：不是文本或 .docx 文档$"):
        read_plan(data)


def test_zip_that_is_not_a_docx():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(ReadError, match="不是文本或 .docx 文档"):
        read_plan(buffer.getvalue(), filename="plan.docx")


def test_zip_bomb_is_refused_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"<w:document/>")
        zf.writestr("word/media/huge.bin", b"\0" * (60 * 1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    with pytest.raises(ReadError, match="超过 50 MB"):
        read_plan(buffer.getvalue())


def test_broken_docx_package():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("word/document.xml", "not xml at all")
    with pytest.raises(ReadError, match="^无法读取文件：.docx 文档已损坏"):
        read_plan(buffer.getvalue())


def test_legacy_word_file_gets_a_specific_message():
    with pytest.raises(ReadError, match=r"\.doc"):
        read_plan(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)


def test_text_without_tasks_is_one_task_with_a_warning():
    # Issue 12: readable text is never refused; the admin splits it in the preview.
    plan = read_plan("XX学院2023年工作方案\n一、指导思想\n坚持以人民为中心。\n")
    (t,) = tasks_of(plan)
    assert (t["title"], t["body"]) == ("XX学院2023年工作方案", "一、指导思想\n坚持以人民为中心。")
    assert "任务1：未找到编号的任务，已将全文作为一项任务，请在预览中拆分" in plan["warnings"]


def test_year_is_required_when_the_title_has_none():
    text = "XX学院意识形态工作方案\n1.加强学习。\n工作时限：6月底前\n"
    with pytest.raises(ReadError, match="年份"):
        read_plan(text)
    plan = read_plan(text, year=2025)
    assert (plan["title"], plan["year"], task(plan, 1)["due_on"]) == ("XX学院意识形态工作方案", 2025, "2025-06-30")


def test_explicit_year_overrides_title_with_warning():
    plan = read_plan("XX学院2023年工作方案\n1.任务。\n工作时限：年底前\n", year=2024)
    assert plan["year"] == 2024 and task(plan, 1)["due_on"] == "2024-12-31"
    assert plan["warnings"][0].startswith("指定的年份2024与标题中的年份2023不一致")


# ------------------------------------------------------------ time limits

@pytest.mark.parametrize("text,starts,due,ongoing", [
    ("2023年1月启动", "2023-01-01", None, False),
    ("3月底前", None, "2023-03-31", False),
    ("6月30日前", None, "2023-06-30", False),
    ("上半年", None, "2023-06-30", False),
    ("下半年完成", None, "2023-12-31", False),
    ("年底前", None, "2023-12-31", False),
    ("年内完成", None, "2023-12-31", False),
    ("全年", None, "2023-12-31", False),
    ("长期坚持", None, None, True),
    ("常态化开展", None, None, True),
    ("持续推进", None, None, True),
    ("第一季度", None, "2023-03-31", False),
    ("第三季度末", None, "2023-09-30", False),
    ("5月中旬", None, "2023-05-20", False),
    ("5月上旬前", None, "2023-05-10", False),
    ("9月", None, "2023-09-30", False),
    ("十一月底前完成", None, "2023-11-30", False),
    ("3月至6月", "2023-03-01", "2023-06-30", False),
    ("自4月起，每月报送", "2023-04-01", None, True),
    ("2023.6.30前", None, "2023-06-30", False),
    ("2024年3月", None, "2024-03-31", False),
])
def test_time_limits(text, starts, due, ongoing):
    result = parse_time_limit(text, 2023)
    got = (result.starts_on and result.starts_on.isoformat(), result.due_on and result.due_on.isoformat(),
           result.ongoing)
    assert got == (starts, due, ongoing)


def test_time_limit_warnings():
    assert parse_time_limit("视情况而定", 2023).warnings == ["工作时限“视情况而定”无法识别日期，请人工核对"]
    assert parse_time_limit("2024年3月", 2023).warnings == ["工作时限“2024年3月”中的年份2024不是方案年份2023，请人工核对"]
    assert "无效" in parse_time_limit("2月30日前", 2023).warnings[0]
    assert parse_time_limit("", 2023).warnings == []


# ------------------------------------------------------------ obligations

@pytest.mark.parametrize("text,expected", [
    ("每两周开展一次主题党日", ("主题党日", "month", 2, None, "branch")),
    ("每半年召开一次组织生活会", ("组织生活会", "semester", 1, None, "branch")),
    ("每月至少一次开展主题党日活动", ("主题党日", "month", 1, None, "branch")),
    ("一年两次开展警示教育", ("警示教育会", "year", 2, None, "general")),
    ("各学生支部每学期三次开展谈心谈话", ("谈心谈话", "semester", 3, None, "student_branch")),
    ("党课每季度不少于1次", ("党课", "quarter", 1, None, "branch")),
    ("理论学习中心组每月集中学习一次", ("中心组学习", "month", 1, None, "general")),
    ("每周一次组织教工政治学习", ("政治学习", "week", 1, None, "faculty_branch")),
    ("学院每年开展2次意识形态排查", ("摸排清查", "year", 2, None, "general")),
])
def test_obligation_phrases(text, expected):
    found, warnings = find_requirements(text)
    assert [(r["kind"], r["cadence"], r["count"], r["weekday"], r["level"]) for r in found] == [expected]
    assert warnings == []


def test_three_meetings_one_lesson_with_curly_quotes_and_subject_level():
    found, _ = find_requirements("学生党支部要认真落实“三会一课”制度。")
    assert {(r["kind"], r["level"]) for r in found} == {
        ("支部党员大会", "student_branch"), ("支部委员会", "student_branch"),
        ("党小组会", "student_branch"), ("党课", "student_branch")}


def test_regularly_and_one_off_mentions_are_not_obligations():
    assert find_requirements("定期开展排查。学院召开警示教育会议。组织主题班会。") == ([], [])


def test_unknown_kind_is_kept_with_a_warning():
    found, warnings = find_requirements("每月报送工作进展。")
    assert [(r["kind"], r["cadence"]) for r in found] == [("报送工作进展", "month")]
    assert warnings == ["“每月报送工作进展”中的活动类型“报送工作进展”不在已知类型中，已按原文记录，请人工核对"]


def test_duplicate_obligations_in_one_task_are_merged():
    found, _ = find_requirements("各支部每月开展主题党日。各支部每月开展主题党日活动，每月开展一次主题党日。")
    assert len(found) == 1


def _set_list_format(document, style_name: str, fmt: str, text: str) -> None:
    """Make `style_name`'s list level 0 render as e.g. chineseCounting "%1、"."""
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    num_id = document.styles[style_name].element.find(f"{w}pPr/{w}numPr/{w}numId").get(f"{w}val")
    numbering = document.part.numbering_part.element
    num = next(n for n in numbering.iter(f"{w}num") if n.get(f"{w}numId") == num_id)
    abstract_id = num.find(f"{w}abstractNumId").get(f"{w}val")
    abstract = next(a for a in numbering.iter(f"{w}abstractNum") if a.get(f"{w}abstractNumId") == abstract_id)
    lvl = next(lv for lv in abstract.iter(f"{w}lvl") if lv.get(f"{w}ilvl") == "0")
    lvl.find(f"{w}numFmt").set(f"{w}val", fmt)
    lvl.find(f"{w}lvlText").set(f"{w}val", text)


def test_docx_automatic_list_numbers_are_rendered():
    def build(document):
        _set_list_format(document, "List Number 2", "chineseCounting", "%1、")
        document.add_paragraph("XX学院2023年工作方案")
        document.add_paragraph("加强学习", style="List Number 2")
        document.add_paragraph("制定清单。每月开展一次主题党日。", style="List Number")
        document.add_paragraph("工作时限：3月底前")
        document.add_paragraph("加强管理", style="List Number 2")
        document.add_paragraph("做好检查。", style="List Number")
        document.add_paragraph("要点甲", style="List Bullet")

    plan = read_plan(docx_bytes(build))
    assert [(s["number"], s["title"]) for s in plan["sections"]] == [("一", "加强学习"), ("二", "加强管理")]
    assert [(t["number"], t["title"]) for t in tasks_of(plan)] == [(1, "制定清单。"), (2, "做好检查。")]
    assert task(plan, 1)["due_on"] == "2023-03-31"
    assert task(plan, 2)["body"] == "要点甲"


def test_short_lines_mentioning_wechat_are_content_not_noise():
    plan = read_plan("2023年工作方案\n1.加强网络阵地管理。\n规范学院微信公众号。\n工作时限：\n6月\n")
    assert task(plan, 1)["body"] == "规范学院微信公众号。"
    assert task(plan, 1)["due_on"] == "2023-06-30"


def test_pasted_text_with_a_few_word_bullet_glyphs_is_accepted():
    plan = read_plan("2023年工作方案\n1.任务甲。\n\uf0b7要点一\n\uf0b7要点二\n\uf0b7要点三\n")
    assert task(plan, 1)["body"] == "\uf0b7要点一\n\uf0b7要点二\n\uf0b7要点三"


def test_plan_numbered_only_with_chinese_numeral_paragraphs():
    plan = read_plan("XX学院2023年工作要点\n一、指导思想\n坚持学习。\n"
                     "二、加强理论学习。各支部每月开展一次主题党日，教职工每周五集中政治学习。\n"
                     "三、加强队伍建设。做好发展党员工作。完成时限：10月底前\n")
    assert [(s["number"], [t["number"] for t in s["tasks"]]) for s in plan["sections"]] == [("", [2, 3])]
    assert reqs(task(plan, 2)) == {("主题党日", "month", 1, None, "branch"), ("政治学习", "week", 1, 5, "faculty_branch")}
    assert (task(plan, 3)["deadline_text"], task(plan, 3)["due_on"]) == ("10月底前", "2023-10-31")


def test_docx_section_row_split_over_number_and_title_cells():
    def build(document):
        document.add_paragraph("2023年意识形态工作任务清单")
        table = document.add_table(rows=4, cols=4)
        rows = [["序号", "任务", "工作时限", "备注"], ["一", "压实责任", "", ""],
                ["", "1.召开专题会议。每年两次召开党政联席会议。", "6月底前", ""], ["二", "", "", ""]]
        for row, values in zip(table.rows, rows):
            for cell, text in zip(row.cells, values):
                cell.text = text

    plan = read_plan(docx_bytes(build))
    assert [(s["number"], s["title"]) for s in plan["sections"]] == [("一", "压实责任")]
    (t,) = tasks_of(plan)
    assert (t["number"], t["title"], t["due_on"]) == (1, "召开专题会议。每年两次召开党政联席会议。", "2023-06-30")


# ------------------------------------------------------------ issue 12: other shapes

@pytest.mark.parametrize("clause,lead,members", [
    ("〔责任单位：宣传部〕", "宣传部", ""),
    ("（责任科室：组织科、宣传科）", "组织科、宣传科", ""),
    ("(牵头单位：学工部；配合单位：各学院)", "学工部", "各学院"),
    ("（团委牵头，各党支部按职责分工负责）", "团委", "各党支部"),
    ("（学生处牵头，教务处、后勤处配合）", "学生处", "教务处、后勤处"),
    ("【牵头部门：党办；参与部门：各支部】", "党办", "各支部"),
])
def test_responsibility_clauses_at_the_end_of_a_task_or_on_their_own_line(clause, lead, members):
    for text in (f"2023年工作方案\n1.开展学习。内容。{clause}\n",
                 f"2023年工作方案\n1.开展学习。内容。\n{clause}\n"):
        t = task(read_plan(text), 1)
        assert (t["title"], t["body"], t["lead"], t["members"]) == ("开展学习。", "内容。", lead, members)


def test_responsibility_clause_in_traditional_characters():
    plan = read_plan("2023年學生工作計劃\n一、思想引領\n1.加強理論學習。（學生處牽頭，各書院配合）\n"
                     "2.開展班會。（負責單位：學生處）\n")
    assert (task(plan, 1)["lead"], task(plan, 1)["members"], task(plan, 2)["lead"]) == ("学生处", "各书院", "学生处")
    assert plan["title"] == "2023年学生工作计划" and plan["sections"][0]["title"] == "思想引领"
    assert "文档使用繁体字，已按简体读取并转换，请核对" in plan["warnings"]


def test_brackets_that_are_not_clauses_stay_text():
    t = task(read_plan("2023年工作方案\n1.修订制度。修订《章程（试行）》（2023年版）。\n"), 1)
    assert t["body"] == "修订《章程（试行）》（2023年版）。" and t["lead"] == ""


@pytest.mark.parametrize("label,key", [
    ("责任单位", "lead"), ("牵头单位", "lead"), ("牵头部门", "lead"), ("责任部门", "lead"), ("责任人", "lead"),
    ("分管领导", "lead"), ("参与部门", "members"), ("配合单位", "members"), ("完成时限", "deadline_text"),
    ("时间节点", "deadline_text"), ("进度安排", "deadline_text")])
def test_field_name_synonyms(label, key):
    t = task(read_plan(f"2023年工作方案\n1.开展学习。\n{label}：甲乙\n"), 1)
    assert t[key] == "甲乙"


def test_clause_written_once_after_several_items_applies_to_each():
    plan = read_plan("2023年工作方案\n一、阵地管理\n1.规范网站。\n2.规范公众号。\n（责任单位：宣传办）\n"
                     "二、队伍建设\n3.培训辅导员。（责任单位：学工部）\n")
    assert [t["lead"] for t in tasks_of(plan)] == ["宣传办", "宣传办", "学工部"]


def test_task_level_is_where_the_fields_are_and_a_later_heading_is_not_swallowed():
    text = ("2023年工作要点\n一、政治建设\n（一）加强学习。\n1.中心组学习。\n负责人：书记\n2.支部学习。\n负责人：委员\n"
            "3.教工学习。\n负责人：院长\n（二）加强管理\n4.规范制度。\n负责人：办公室\n")
    plan = read_plan(text)
    assert [(s["number"], s["title"]) for s in plan["sections"]] == [("一", "加强学习。"), ("二", "加强管理")]
    assert [t["number"] for t in tasks_of(plan)] == [1, 2, 3, 4]
    assert "加强管理" not in task(plan, 3)["body"]
    # The same numbering with the fields on the （一） items: those are the tasks, 1. 2. their sub-points.
    plan = read_plan("2023年工作要点\n一、政治建设\n（一）加强学习。\n负责单位：组织部\n1.中心组学习。\n2.支部学习。\n"
                     "（二）加强管理。（责任单位：办公室）\n1.规范制度。\n（三）加强监督。\n工作时限：年底前\n")
    assert [(t["number"], t["title"]) for t in tasks_of(plan)] == [(1, "加强学习。"), (2, "加强管理。"), (3, "加强监督。")]
    assert task(plan, 1)["body"] == "1.中心组学习。\n2.支部学习。" and task(plan, 1)["lead"] == "组织部"
    assert task(plan, 2)["lead"] == "办公室" and task(plan, 3)["due_on"] == "2023-12-31"


def test_items_written_inline_in_one_paragraph_are_split():
    plan = read_plan("2023年工作计划\n主要工作：一、加强学习，3月底前完成。二、规范管理。三、做好宣传。\n")
    assert [(t["number"], t["title"]) for t in tasks_of(plan)] == [
        (1, "加强学习，3月底前完成。"), (2, "规范管理。"), (3, "做好宣传。")]
    plan = read_plan("2023年工作计划\n1.加强学习。2.规范管理。3.做好宣传。\n")
    assert [t["number"] for t in tasks_of(plan)] == [1, 2, 3]


@pytest.mark.parametrize("heading,due", [
    ("3月份：", "2023-03-31"), ("1月：", "2023-01-31"), ("第二季度：", "2023-06-30"), ("上半年：", "2023-06-30"),
    ("每学期开学初：", None)])
def test_period_headings_are_tasks_with_their_time_limit(heading, due):
    plan = read_plan(f"2023年主题班会安排\n{heading}\n召开主题班会，开展安全教育。\n")
    (t,) = tasks_of(plan)
    assert (t["title"], t["deadline_text"], t["due_on"]) == ("召开主题班会，开展安全教育。", heading[:-1], due)


def test_document_starting_mid_list_warns():
    plan = read_plan("2023年工作方案\n5.做好宣传。\n工作时限：6月\n6.做好统计。\n工作时限：9月\n")
    assert [t["number"] for t in tasks_of(plan)] == [5, 6]
    assert "文档从第5项开始，前面的部分可能缺失，请核对" in plan["warnings"]


def test_heading_without_numbered_items_is_kept_as_one_task():
    plan = read_plan("2023年工作方案\n一、加强学习\n1.学习。\n工作时限：3月\n二、加强队伍建设\n每学期开展一次辅导员培训。\n"
                     "三、保障措施\n各支部要高度重视。\n")
    assert [(s["number"], [(t["title"], t["body"]) for t in s["tasks"]]) for s in plan["sections"]] == [
        ("一", [("学习。", "")]), ("二", [("加强队伍建设", "每学期开展一次辅导员培训。")])]
    assert any("二、加强队伍建设" in w and "没有编号的任务" in w for w in plan["warnings"])


@pytest.mark.parametrize("prose,deadline,starts,due,ongoing", [
    ("各支部于6月底前报送总结。", "6月底前", None, "2023-06-30", False),
    ("10月底前完成换届。", "10月底前", None, "2023-10-31", False),
    ("2024年3月底前完成。", "2024年3月底前", None, "2024-03-31", False),
    ("第三季度末完成评估。", "第三季度末完成", None, "2023-09-30", False),
    ("每年12月召开总结会。", "每年12月", None, "2023-12-31", True),
    ("此项工作长期坚持。", "长期坚持", None, None, True),
    ("6月—9月集中开展。", "6月—9月", "2023-06-01", "2023-09-30", False),
    ("上半年完成。", "上半年完成", None, "2023-06-30", False),
    ("开学初召开动员会。", "开学初", None, None, False),
])
def test_deadline_found_in_prose_with_a_warning(prose, deadline, starts, due, ongoing):
    plan = read_plan(f"2023年工作方案\n1.开展工作。{prose}\n")
    t = task(plan, 1)
    assert (t["deadline_text"], t["starts_on"], t["due_on"], t["ongoing"]) == (deadline, starts, due, ongoing)
    assert f"任务1：工作时限“{deadline}”取自正文，请人工核对" in plan["warnings"]


@pytest.mark.parametrize("title", ["XX学院2023年党建工作要点", "2023年意识形态责任清单", "2023年任务分解表",
                                   "2023年主题班会安排", "XX学院党支部三会一课制度2023年", "2023年XX条例",
                                   "关于加强2023年支部建设的实施意见", "关于开展2023年学习的通知"])
def test_more_title_kinds(title):
    assert read_plan(f"{title}\n1.开展学习。\n")["title"] == title


def test_first_prominent_title_wins_over_a_later_sub_heading():
    plan = read_plan("XX学院2023年工作要点\n为做好工作，制定要点如下。\n2023年重点任务清单\n1.开展学习。\n")
    assert plan["title"] == "XX学院2023年工作要点"


def test_guessed_title_and_year_from_the_body_warn():
    plan = read_plan("外国语学院支部工作\n1.开展学习。2024年3月底前完成。\n")
    assert (plan["title"], plan["year"]) == ("外国语学院支部工作", 2024)
    assert "标题中没有年份，已按正文中的2024年处理，请核对" in plan["warnings"]
    assert any(w.startswith("未找到含“方案”“计划”“要点”等字样的标题，已把“外国语学院支部工作”当作标题") for w in plan["warnings"])


def test_truncated_trailing_multibyte_character_is_read_with_a_warning():
    data = "2023年工作方案\n1.开展学习。\n工作时限：年底前完成。".encode("utf-8")[:-2]
    plan = read_plan(data)
    assert task(plan, 1)["deadline_text"] == "年底前完成"
    assert plan["warnings"][0] == "文件末尾有一个不完整的字符（可能是下载时被截断），已忽略该字符，请核对最后一段"
    gb = "2023年工作方案\n1.开展学习。\n工作时限：年底前完成。".encode("gb18030")[:-1]
    assert task(read_plan(gb), 1)["deadline_text"] == "年底前完成"


def test_numbering_gap_and_unmapped_table_columns_warn():
    def build(document):
        document.add_paragraph("2023年工作任务分解表")
        table = document.add_table(rows=3, cols=6)
        rows = [["序号", "重点任务", "牵头单位", "责任单位", "完成时限", "分管领导"],
                ["1", "开展学习。", "组织部", "各支部", "6月底前", "张书记"],
                ["3", "规范管理。", "办公室", "", "年底前", "李院长"]]
        for row, values in zip(table.rows, rows):
            for cell, text in zip(row.cells, values):
                cell.text = text

    plan = read_plan(docx_bytes(build))
    t1, t3 = tasks_of(plan)
    assert (t1["lead"], t1["members"], t1["body"]) == ("组织部", "各支部", "分管领导：张书记")
    assert (t3["lead"], t3["members"], t3["due_on"]) == ("办公室", "", "2023-12-31")
    assert "表格的“分管领导”列不对应任何字段，其内容已并入任务的具体内容，请人工核对" in plan["warnings"]
    assert "任务编号从1跳到3，请核对是否漏读或多读了任务" in plan["warnings"]


def test_table_responsibility_column_alone_leads_and_merged_category_cells_are_sections():
    def build(document):
        document.add_paragraph("2024年精神文明建设责任清单")
        table = document.add_table(rows=4, cols=4)
        rows = [["类别", "工作任务", "责任单位", "时间安排"],
                [None, "创建文明校园。", "宣传科\n团委", "12月"],
                [None, "开展志愿服务。", "团委", "长期坚持"],
                [None, "建设书香校园。", "教研室", "6月底前"]]
        for row, values in zip(table.rows, rows):
            for cell, text in zip(row.cells, values):
                if text is not None:
                    cell.text = text
        table.cell(1, 0).merge(table.cell(2, 0)).text = "一、教育文化"
        table.cell(3, 0).text = "二、读书活动"

    plan = read_plan(docx_bytes(build))
    assert [(s["number"], s["title"], [t["title"] for t in s["tasks"]]) for s in plan["sections"]] == [
        ("一", "教育文化", ["创建文明校园。", "开展志愿服务。"]), ("二", "读书活动", ["建设书香校园。"])]
    assert tasks_of(plan)[0]["lead"] == "宣传科、团委"
    assert not [w for w in plan["warnings"] if "列不对应" in w]


@pytest.mark.parametrize("text,expected", [
    ("每周开展一次谈心谈话", ("谈心谈话", "week", 1, None)),
    ("每月召开一次支委会", ("支部委员会", "month", 1, None)),
    ("每季度讲一次党课", ("党课", "quarter", 1, None)),
    ("每半年召开一次组织生活会", ("组织生活会", "semester", 1, None)),
    ("每学期开展一次谈心谈话", ("谈心谈话", "semester", 1, None)),
    ("每年召开一次民主生活会", ("民主生活会", "year", 1, None)),
    ("每两个月开展一次主题党日", ("主题党日", "year", 6, None)),
    ("每三个月召开一次党员大会", ("支部党员大会", "quarter", 1, None)),
    ("每六个月开展一次警示教育", ("警示教育会", "semester", 1, None)),
    ("每月第一周召开党小组会", ("党小组会", "month", 1, None)),
    ("每周三下午组织教职工政治学习", ("政治学习", "week", 1, 3)),
    ("每月至少两次开展主题党日", ("主题党日", "month", 2, None)),
    ("每月考核各支部主题党日开展情况", ("考核评议", "month", 1, None)),
    ("每学期检查一次各支部三会一课记录", ("工作检查", "semester", 1, None)),
    ("每三个月汇报一次", ("工作汇报", "quarter", 1, None)),
    ("支部党员大会，一般每季度召开一次", ("支部党员大会", "quarter", 1, None)),
])
def test_cadences(text, expected):
    found, _ = find_requirements(text)
    assert [(r["kind"], r["cadence"], r["count"], r["weekday"]) for r in found] == [expected]


def test_every_two_years_is_not_yearly():
    found, warnings = find_requirements("每两年召开一次党员大会")
    assert found == [] and "每两年" in warnings[0]


def test_explicit_cadence_overrides_the_default_and_both_are_never_emitted():
    found, _ = find_requirements("各支部落实“三会一课”制度，每季度召开一次支委会。")
    got = {(r["kind"], r["cadence"]) for r in found}
    assert ("支部委员会", "quarter") in got and ("支部委员会", "month") not in got
    found, _ = find_requirements("每月召开一次主题班会。各班级利用主题班会开展教育。")
    assert [(r["kind"], r["cadence"]) for r in found] == [("主题班会", "month")]


def test_no_obligation_without_a_cadence_word():
    assert find_requirements("召开支委会研究工作。开展谈心谈话。请各班级召开一次主题班会。") == ([], [])


def test_default_cadences_are_named_in_one_warning_without_flagging_tasks():
    plan = read_plan("2023年工作方案\n1.规范组织生活。各党支部落实“三会一课”制度。\n工作时限：全年\n")
    (warning,) = [w for w in plan["warnings"] if "已按惯例" in w]
    assert "支部委员会每月1次" in warning and "任务1" not in warning


def test_per_line_work_does_not_depend_on_tasks_found_so_far():
    """The parser keeps no list it rescans per line: a plan of many tasks reads every one,
    and reading twice the tasks costs twice the line visits (counted, not timed)."""
    import webapp.plans.reader as reader

    calls = {"n": 0}
    original = reader._Parser._line

    def counting(self, text, shared=False):
        calls["n"] += 1
        return original(self, text, shared)

    body = "".join(f"{i}.任务{i}。\n负责人：甲\n工作时限：6月\n" for i in range(1, 201))
    reader._Parser._line = counting
    try:
        plan = read_plan("2023年工作方案\n一、工作\n" + body * 5)
    finally:
        reader._Parser._line = original
    assert len(tasks_of(plan)) == 1000 and calls["n"] == 1 + 3000


def test_numbered_month_items_and_a_duty_in_a_requirements_section():
    plan = read_plan("2025年主题团日活动计划\n一、活动安排\n1.3月：学雷锋志愿服务。\n2.5月：青年节主题教育。\n"
                     "二、工作要求\n每学期末向院团委报送一次活动总结。\n三、保障措施\n各团支部要高度重视。\n")
    assert [(t["title"], t["deadline_text"], t["due_on"]) for t in tasks_of(plan)][:2] == [
        ("学雷锋志愿服务。", "3月", "2025-03-31"), ("青年节主题教育。", "5月", "2025-05-31")]
    assert [s["title"] for s in plan["sections"]] == ["活动安排", "工作要求"]
    assert read_plan("2023年工作方案\n1.经费保障。\n2.5万元经费到位。\n")["sections"][0]["tasks"][0]["body"] == \
        "2.5万元经费到位。"


def test_report_to_a_meeting_is_a_report_not_the_meeting():
    found, _ = find_requirements("党支部每年年底向支部大会报告一次党费收缴情况")
    assert [(r["kind"], r["cadence"]) for r in found] == [("工作汇报", "year")]
    found, _ = find_requirements("每季度一次支委会、一次支部大会")
    assert {r["kind"] for r in found} == {"支部委员会", "支部党员大会"}


def test_table_with_theme_and_month_columns():
    def build(document):
        document.add_paragraph("XX班2025—2026学年第一学期主题班会安排")
        table = document.add_table(rows=3, cols=3)
        for row, values in zip(table.rows, [["月份", "班会主题", "负责人"], ["9月", "入学教育", "班主任"],
                                            ["10月", "爱国主义教育", "班长"]]):
            for cell, text in zip(row.cells, values):
                cell.text = text

    plan = read_plan(docx_bytes(build))
    assert [(t["title"], t["lead"], t["due_on"]) for t in tasks_of(plan)] == [
        ("入学教育", "班主任", "2025-09-30"), ("爱国主义教育", "班长", "2025-10-31")]


def test_responsible_units_beside_a_lead_unit_are_members():
    t = task(read_plan("2025年工作方案\n1.推进标准化建设。（牵头单位：组织部；责任单位：各党支部）\n"), 1)
    assert (t["lead"], t["members"]) == ("组织部", "各党支部")
    t = task(read_plan("2025年工作方案\n1.加强武装。责任领导：李书记 责任部门：党政办\n"), 1)
    assert (t["lead"], t["members"]) == ("李书记；党政办", "")


def test_stage_headings_carry_their_date_range():
    plan = read_plan("2025年学风建设月活动实施方案\n第一阶段（3月1日—3月10日）：动员部署。\n"
                     "第二阶段（3月11日—3月31日）：集中实施。\n")
    assert [(t["title"], t["starts_on"], t["due_on"]) for t in tasks_of(plan)] == [
        ("动员部署。", "2025-03-01", "2025-03-10"), ("集中实施。", "2025-03-11", "2025-03-31")]


def test_task_n_numbering_and_items_listed_inside_an_article():
    plan = read_plan("2026年工作台账计划\n任务一：组织学习。责任人：支部书记，时限：全年。\n任务二：做好推优。时限：6月。\n")
    assert [(t["number"], t["title"], t["lead"], t["due_on"]) for t in tasks_of(plan)] == [
        (1, "组织学习。", "支部书记", "2026-12-31"), (2, "做好推优。", "", "2026-06-30")]
    plan = read_plan("工作细则（2026年）\n第一条 本细则适用于各党支部。\n第二条 党支部按以下要求开展组织生活：\n"
                     "（一）支部委员会会议每月召开一次；\n（二）党课每季度至少一次。\n第三条 本细则自印发之日起施行。\n")
    assert [t["number"] for t in tasks_of(plan)] == [1, 2, 3]
    assert {(r["kind"], r["cadence"]) for r in task(plan, 2)["requirements"]} == {
        ("支部委员会", "month"), ("党课", "quarter")}


def test_short_clause_labels_and_key_work_column():
    t = task(read_plan("2026年培训计划\n一、能力培训。每季度组织一次专题讲座。（牵头：组织部；参与：各单位）\n"), 1)
    assert (t["title"], t["lead"], t["members"]) == ("能力培训。", "组织部", "各单位")
