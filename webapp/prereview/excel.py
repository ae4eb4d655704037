"""The register (审查登记台账) as the printed ledger: title row, frozen header, one row per item.

The sheet text is Chinese whatever the UI language, like the other printed ledgers."""
from __future__ import annotations

from ..models import PrereviewItem, Unit
from ..reports.excel import _body_row, _title_and_header, workbook_bytes
from . import clock
from .services import submission_deadline

REGISTER_COLUMNS = [("序号", 6), ("类别", 10), ("名称 / 标题", 30), ("主办单位", 18), ("日期", 12),
                    ("地点 / 发布渠道", 20), ("主讲人 / 作者", 18), ("内容摘要", 36), ("报备时间", 16),
                    ("审查经过", 40), ("审查结果", 12), ("备注", 16)]
STATUS_TEXT = {"draft": "草稿", "submitted": "审查中", "returned": "退回修改", "approved": "通过",
               "rejected": "不予通过", "held": "已举办", "cancelled": "已取消", "published": "已发布"}
ACTION_TEXT = {"submit": "报备", "pass": "通过", "approve": "通过", "return": "退回修改", "reject": "不予通过"}


def register_title(unit: Unit, subtree: bool) -> str:
    return f"意识形态预审查登记台账（{unit.name}{'及下属单位' if subtree else ''}）"


def _history(item: PrereviewItem, names: dict[int, str]) -> str:
    lines = []
    for step in item.steps:
        who = names.get(step.user_id, "")
        stage = f"{step.stage_name}" if step.action != "submit" else ""
        comment = f"：{step.comment}" if step.comment else ""
        lines.append(f"第{step.round}轮 {clock.local_date(step.at).isoformat()} {stage}{ACTION_TEXT.get(step.action, step.action)}"
                     f"（{who}）{comment}")
    return "\n".join(lines)


def _remarks(item: PrereviewItem) -> str:
    notes = []
    if item.late:
        notes.append(f"逾期报备（应于{submission_deadline(item).isoformat()}前报备）")
    if item.status == "held" and item.outcome_on:
        notes.append(f"举办日期：{item.outcome_on.isoformat()}")
    if item.outcome_link:
        notes.append(item.outcome_link)
    return "；".join(notes)


def register_workbook(title: str, items: list[PrereviewItem], names: dict[int, str]) -> bytes:
    from openpyxl import Workbook
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "审查登记台账"
    _title_and_header(sheet, title, REGISTER_COLUMNS)
    for number, item in enumerate(items, start=1):
        _body_row(sheet, [number, item.kind.name, item.title, item.unit.name, item.held_on.isoformat(),
                          item.place or item.channel, item.speaker, item.summary,
                          item.first_submitted_at.strftime("%Y-%m-%d %H:%M") if item.first_submitted_at else "",
                          _history(item, names), STATUS_TEXT.get(item.status, item.status), _remarks(item)])
    return workbook_bytes(workbook)
