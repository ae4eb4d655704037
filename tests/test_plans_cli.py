"""`flask import-plan`: dry-run JSON, drafts, and unreadable input."""
import json
import shutil

from webapp.extensions import db
from webapp.models import Plan, Task, Unit

from .plans_factories import SAMPLE, row_counts


def _run(runner, *args):
    return runner.invoke(args=["import-plan", *args])


def test_dry_run_json_reads_the_sample_and_writes_nothing(app, runner, org, tmp_path):
    copy = tmp_path / "plan.txt"
    shutil.copy(SAMPLE, copy)
    with app.app_context():
        before = row_counts()
    result = _run(runner, str(copy), "--year", "2023", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["year"] == 2023 and set(document) >= {"title", "year", "sections", "warnings"}
    assert [s["number"] for s in document["sections"]] == ["一", "二", "三"]
    tasks = [t for s in document["sections"] for t in s["tasks"]]
    assert [t["number"] for t in tasks] == list(range(1, 9))
    assert tasks[0]["starts_on"] == "2023-01-01" and tasks[0]["due_on"] == "2023-03-31"
    assert "高校2023年意识形态工作方案" in result.stdout  # ensure_ascii=False keeps the Chinese readable
    with app.app_context():
        assert row_counts() == before


def test_without_dry_run_creates_a_draft_of_the_top_unit(app, runner, org):
    with app.app_context():  # leave one active top unit, so the default owner is unambiguous
        db.session.get(Unit, org.units["foreign"]).active = False
        db.session.commit()
    result = _run(runner, str(SAMPLE), "--year", "2023", "--json")
    assert result.exit_code == 0, result.output
    plan_id = json.loads(result.stdout)["id"]
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        assert (plan.status, plan.year, plan.unit_id) == ("draft", 2023, org.units["general"])
        assert len(plan.sections) == 3 and len(plan.tasks) == 8
        assert plan.source_filename == "sample-2023.txt" and "夯实基层党支部" in plan.source_text


def test_unit_id_chooses_the_owner(app, runner, org):
    result = _run(runner, str(SAMPLE), "--year", "2023", "--json", "--unit-id", str(org.units["foreign"]))
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Plan, json.loads(result.stdout)["id"]).unit_id == org.units["foreign"]


def _assert_refused(result, app, before):
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert any("\u4e00" <= ch <= "\u9fff" for ch in lines[0])  # a Chinese message
    with app.app_context():
        assert row_counts() == before
    return lines[0]


def test_garbage_exits_2_with_one_line(app, runner, org, tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 40)
    with app.app_context():
        before = row_counts()
    _assert_refused(_run(runner, str(garbage), "--year", "2023"), app, before)


def test_empty_and_markup_input_exit_2(app, runner, org, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    markup = tmp_path / "image.svg"
    markup.write_text('<svg xmlns="http://www.w3.org/2000/svg">\n<rect width="1"/>\n</svg>\n', encoding="utf-8")
    with app.app_context():
        before = row_counts()
    _assert_refused(_run(runner, str(empty), "--year", "2023", "--dry-run", "--json"), app, before)
    assert "任务" in _assert_refused(_run(runner, str(markup), "--year", "2023"), app, before)


def test_readable_text_without_numbering_is_one_task(runner, org, tmp_path):
    # Issue 12: readable prose is not refused; it is one task with a warning, split in the preview.
    prose = tmp_path / "prose.txt"
    prose.write_text("计算机学院2023年工作方案\n\n今年要把工作做好。\n", encoding="utf-8")
    result = _run(runner, str(prose), "--year", "2023", "--dry-run", "--json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    (task,) = [t for s in document["sections"] for t in s["tasks"]]
    assert task["body"] == "今年要把工作做好。"
    assert any("全文作为一项任务" in w for w in document["warnings"])


def test_missing_file_exits_2(app, runner, org, tmp_path):
    with app.app_context():
        before = row_counts()
    line = _assert_refused(_run(runner, str(tmp_path / "nope.txt"), "--year", "2023", "--dry-run"), app, before)
    assert "文件不存在" in line


def test_ambiguous_owner_is_refused(app, runner, org):
    # The org fixture has two top general branches (ours and the foreign college).
    with app.app_context():
        before = row_counts()
    line = _assert_refused(_run(runner, str(SAMPLE), "--year", "2023"), app, before)
    assert "--unit-id" in line
    with app.app_context():
        assert db.session.query(Task).count() == 0
