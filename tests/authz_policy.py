"""Who may use which endpoint, and how its URL is filled: the table the authorization matrix runs.

A new route without an entry here fails tests/test_hostile_authz.py. For each endpoint:
- `roles`: the roles that may use it (on objects in their scope); any other logged-in role gets 403;
  PUBLIC endpoints are open to anonymous visitors too.
- `params` / `query`: URL (path / query string) arguments → the world object that fills them
  (see tests/hostile_world.py: unit, row, ledger_file, activity_file, activity, plan, task, …).
- `form`: plausible form data for a POST, built from the ids of the side the URL names and of the other side;
  `smuggle` = {form field: world object}: an extra run sends the other side's object in that field.
- `foreign`: the statuses allowed when the URL names the other college's objects (404 by default);
- `again`: statuses allowed when the same POST is sent a second time (the first changed the object).
- `last`: run after every other POST of the role (it removes or freezes its object); `ends_session`: at the very end.
- `api`: the HTTP method of a JSON API route (`/api/v1/…`), with `body` building its JSON body; those routes run in
  tests/test_api_authz.py (token roles, read-only tokens and cookie sessions), not in the cookie matrix.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

ADMIN, SECRETARY, STAFF, MONITOR = "admin", "secretary", "staff", "monitor"
EVERYONE = frozenset({ADMIN, SECRETARY, STAFF, MONITOR})
PUBLIC = frozenset({"anonymous", *EVERYONE})
LOGGERS = frozenset({ADMIN, STAFF, MONITOR})  # log activities, edit ledger rows
REVIEWERS = frozenset({ADMIN, STAFF})
READERS = frozenset({ADMIN, SECRETARY, STAFF})  # overview and compliance grid
ONLY_ADMIN = frozenset({ADMIN})

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00"
       b"\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")
PLAN_TEXT = "计算机学院2025年党建工作方案\n\n一、加强理论学习\n\n1.开展政治学习。每周四组织教职工政治学习。\n"

Form = Callable[[dict, dict], dict]  # (ids of the side the URL names, ids of the other side) → form data


@dataclass(frozen=True)
class Decision:
    roles: frozenset[str]
    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    form: Form | None = None
    smuggle: dict[str, str] = field(default_factory=dict)
    foreign: frozenset[int] = frozenset({404})
    again: frozenset[int] = frozenset()
    last: bool = False
    ends_session: bool = False
    api: str = ""
    body: Form | None = None


def _png(_ids, _other):
    return {"file": (io.BytesIO(PNG), "证据.png")}


def _activity(ids, _other):
    held_on = max(date(date.today().year, 1, 1), date.today() - timedelta(days=1))
    return {"unit": ids["unit"], "kind": ids["kind"], "held_on": held_on.isoformat(), "topic": "主题班会",
            "place": "教室", "host": "班长", "present": "10", "expected": "12", "summary": "学习", "version": "1",
            "action": "save", "files": (io.BytesIO(PNG), "照片.png")}


def _kind(_ids, _other):
    return {"name": "主题班会", "cadence": "month", "count": "1", "level": "class", "active": "1"}


def _new_kind(_ids, _other):
    return {"name": "新增活动类型", "cadence": "month", "count": "1", "level": "class"}


def _unit(ids, _other):
    return {"name": "新建班级", "kind": "class", "category": "", "parent_id": str(ids["parent"]), "active": "1"}


def _user(ids, _other):
    return {"username": "newmonitor", "display_name": "新班长", "role": "monitor", "unit_id": str(ids["unit"]),
            "locale": "zh_Hans_CN", "password": "a-long-password-2023", "active": "y"}


def _requirement(_ids, _other):
    return {"kind": "主题班会", "cadence": "month", "count": "1", "weekday": "", "level": "class"}


def _task(_ids, _other):
    return {"title": "任务标题", "body": "具体内容", "lead": "书记", "members": "委员", "deadline_text": "全年",
            "starts_on": "", "due_on": ""}


def _assignments(ids, other):
    return {"units": [str(ids["unit"]), str(other["unit"])]}


def _row(_ids, _other):
    return {"progress": "已推进", "version": "1"}


def _ledger_xlsx(_ids, _other):
    from openpyxl import Workbook
    buffer = io.BytesIO()
    Workbook().save(buffer)
    return {"file": (io.BytesIO(buffer.getvalue()), "台账.xlsx")}


def _import_plan(ids, other):
    plan = [{"row_id": row_id, "version": 1, "values": {"progress": "导入的进展"}} for row_id in (ids["row"], other["row"])]
    return {"plan": json.dumps(plan)}


def _api_activity(ids, _other):
    held_on = max(date(date.today().year, 1, 1), date.today() - timedelta(days=1))
    return {"unit_id": ids["unit"], "kind_id": ids["kind"], "held_on": held_on.isoformat(), "topic": "主题班会",
            "present": 10, "expected": 12}

def _nudge(ids, _other):
    return {"units": [str(ids["unit"])], "about": "overdue", "note": "请尽快补齐"}


def _robot(ids, _other):
    return {"unit_id": str(ids["unit"]), "url": "https://robot.example.edu.cn/send?key=1", "format": "wecom"}
def _prereview_item(ids, _other):
    return {"unit": ids["unit"], "kind": ids["prereview_kind"], "title": "人工智能伦理讲座",
            "held_on": (date.today() + timedelta(days=30)).isoformat(), "place": "报告厅", "speaker": "张三（某大学教授）",
            "summary": "摘要", "version": "1", "action": "draft", "files": (io.BytesIO(PNG), "海报.png")}


def _prereview_kind(_ids, _other):
    return {"name": "读书会", "category": "event", "lead_days": "7", "active": "y",
            "stage_name": ["初审", "复审"], "stage_role": ["staff", "secretary"], "stage_level": ["branch", "general"]}


POLICY: dict[str, Decision] = {
    # ---- the JSON API (tests/test_api_authz.py runs these with tokens of every role)
    "api.activities": Decision(EVERYONE, query={"unit": "unit"}, foreign=frozenset({200}), api="GET"),
    "api.activity": Decision(EVERYONE, {"activity_id": "activity"}, api="GET"),
    "api.compliance": Decision(EVERYONE, query={"unit": "unit"}, api="GET"),
    "api.create_activity": Decision(LOGGERS, api="POST", body=_api_activity, smuggle={"unit_id": "unit", "kind_id": "kind"}),
    "api.ledger_row": Decision(EVERYONE, {"row_id": "row"}, api="GET"),
    "api.ledger_rows": Decision(EVERYONE, {"unit_id": "unit"}, api="GET"),
    "api.me": Decision(EVERYONE, api="GET"),
    "api.openapi": Decision(EVERYONE, api="GET"),
    "api.overview": Decision(READERS, query={"unit": "unit"}, api="GET"),
    "api.plan": Decision(EVERYONE, {"plan_id": "published_plan"}, api="GET"),
    "api.plans": Decision(EVERYONE, api="GET"),
    "api.review_activity": Decision(REVIEWERS, {"activity_id": "submitted_activity"}, api="POST",
                                    body=lambda i, o: {"decision": "return", "comment": "请补充"}),
    "api.submit_activity": Decision(LOGGERS, {"activity_id": "activity"}, api="POST"),
    "api.unit": Decision(EVERYONE, {"unit_id": "unit"}, api="GET"),
    "api.units": Decision(EVERYONE, api="GET"),
    "api.update_ledger_row": Decision(LOGGERS, {"row_id": "row"}, api="PATCH", body=lambda i, o: {"progress": "接口推进"}),
    # ---- access tokens (account page) and the API's reference page: site pages, cookie login
    "api_account.create_token": Decision(EVERYONE, form=lambda i, o: {"name": "党建平台", "access": "read_only",
                                                                      "days": "30"}),
    "api_account.docs": Decision(EVERYONE),
    "api_account.revoke_token": Decision(EVERYONE, form=lambda i, o: {"token_id": str(i["token"])},
                                         smuggle={"token_id": "token"}),
    "api_account.token_list": Decision(EVERYONE),
    # ---- activities
    "activities.approve": Decision(REVIEWERS, {"activity_id": "activity"}),
    "activities.compliance_cell": Decision(EVERYONE, query={"unit": "unit", "requirement": "published_requirement",
                                                            "period": "period"}),
    "activities.compliance_grid": Decision(READERS),
    "activities.create_kind": Decision(ONLY_ADMIN, form=_new_kind),
    "activities.detail": Decision(EVERYONE, {"activity_id": "activity"}),
    "activities.edit": Decision(LOGGERS, {"activity_id": "activity"}, form=_activity,
                                smuggle={"remove_files": "activity_file", "unit": "unit"}),
    "activities.edit_kind": Decision(ONLY_ADMIN, {"kind_id": "kind"}),
    "activities.file": Decision(EVERYONE, {"file_id": "activity_file"}),
    "activities.index": Decision(EVERYONE, query={"unit": "unit"}, foreign=frozenset({200})),
    "activities.kind_row": Decision(ONLY_ADMIN, {"kind_id": "kind"}, form=_kind),
    "activities.kinds": Decision(ONLY_ADMIN),
    "activities.new": Decision(LOGGERS, query={"unit": "unit"}, form=_activity, smuggle={"unit": "unit"}),
    "activities.return_": Decision(REVIEWERS, {"activity_id": "activity"}, form=lambda i, o: {"comment": "请补充"}),
    "activities.submit": Decision(LOGGERS, {"activity_id": "activity"}, again=frozenset({403, 409})),
    "activities.toggle_kind": Decision(ONLY_ADMIN, {"kind_id": "kind"}, form=_kind),
    "activities.unit_obligations": Decision(EVERYONE, {"unit_id": "unit"}),
    # ---- admin
    "admin.unit_create": Decision(ONLY_ADMIN, form=_unit, smuggle={"parent_id": "parent"}),
    "admin.unit_delete": Decision(ONLY_ADMIN, {"unit_id": "unit"}, last=True),
    "admin.unit_edit": Decision(ONLY_ADMIN, {"unit_id": "unit"}),
    "admin.unit_row": Decision(ONLY_ADMIN, {"unit_id": "unit"}),
    "admin.unit_set_active": Decision(ONLY_ADMIN, {"unit_id": "unit"}, form=_unit),
    "admin.unit_update": Decision(ONLY_ADMIN, {"unit_id": "unit"}, form=_unit, smuggle={"parent_id": "parent"}),
    "admin.units": Decision(ONLY_ADMIN),
    "admin.user_create": Decision(ONLY_ADMIN, form=_user, smuggle={"unit_id": "unit"}),
    "admin.user_edit": Decision(ONLY_ADMIN, {"user_id": "user"}),
    "admin.user_password": Decision(ONLY_ADMIN, {"user_id": "user"}, form=_user),
    "admin.user_password_form": Decision(ONLY_ADMIN, {"user_id": "user"}),
    "admin.user_row": Decision(ONLY_ADMIN, {"user_id": "user"}),
    "admin.user_set_active": Decision(ONLY_ADMIN, {"user_id": "user"}, form=_user),
    "admin.user_update": Decision(ONLY_ADMIN, {"user_id": "user"}, form=_user, smuggle={"unit_id": "unit"}),
    "admin.users": Decision(ONLY_ADMIN, query={"unit": "unit"}, foreign=frozenset({200})),
    # ---- auth (open to everyone; logging out ends the role's session, so it runs last)
    "auth.account": Decision(EVERYONE),
    # Ends the role's other sessions only; the matrix's own session stays.
    "auth.end_other_sessions": Decision(EVERYONE),
    "auth.language": Decision(PUBLIC, form=lambda i, o: {"lang": "zh_Hans_CN", "next": "/"}),
    "auth.login": Decision(PUBLIC, form=lambda i, o: {"username": "nobody", "password": "wrong"}),
    "auth.logout": Decision(PUBLIC, ends_session=True),
    "auth.session_status": Decision(EVERYONE),
    # ---- ledger
    "ledger.changes": Decision(frozenset({ADMIN, SECRETARY}), query={"unit": "unit"}, foreign=frozenset({200})),
    "ledger.delete_file": Decision(LOGGERS, {"file_id": "ledger_file"}, again=frozenset({404}), last=True),
    "ledger.download": Decision(EVERYONE, {"file_id": "ledger_file"}),
    "ledger.edit_row": Decision(LOGGERS, {"row_id": "row"}, query={"field": "progress"}),
    # /ledger?unit=N only redirects to /units/N/ledger, which answers 404 for a foreign unit.
    "ledger.index": Decision(EVERYONE, query={"unit": "unit"}, foreign=frozenset({302})),
    "ledger.row_history": Decision(EVERYONE, {"row_id": "row"}),
    "ledger.show_row": Decision(EVERYONE, {"row_id": "row"}),
    "ledger.unit_ledger": Decision(EVERYONE, {"unit_id": "unit"}),
    "ledger.update_row": Decision(LOGGERS, {"row_id": "row"}, form=_row),
    "ledger.upload_evidence": Decision(LOGGERS, {"row_id": "row"}, form=_png),
    # ---- main
    "main.home": Decision(EVERYONE),
    # ---- plans (admins of the issuing unit; "plan" is a draft so that every edit route really runs)
    "plans.add_requirement": Decision(ONLY_ADMIN, {"plan_id": "plan", "task_id": "task"}, form=_requirement),
    "plans.confirm_reimport": Decision(ONLY_ADMIN, {"plan_id": "plan"}, form=lambda i, o: {"token": "forged"}),
    "plans.copy_to_next_year": Decision(ONLY_ADMIN, {"plan_id": "plan"}),
    "plans.create": Decision(ONLY_ADMIN, form=lambda i, o: {"year": "2025", "text": PLAN_TEXT}),
    "plans.delete_requirement": Decision(ONLY_ADMIN, {"plan_id": "plan", "requirement_id": "requirement"},
                                         again=frozenset({404}), last=True),
    "plans.edit_assignments": Decision(ONLY_ADMIN, {"plan_id": "plan", "task_id": "task"}),
    "plans.edit_requirement": Decision(ONLY_ADMIN, {"plan_id": "plan", "requirement_id": "requirement"}),
    "plans.edit_section": Decision(ONLY_ADMIN, {"plan_id": "plan", "section_id": "section"}),
    "plans.edit_task": Decision(ONLY_ADMIN, {"plan_id": "plan", "task_id": "task"}),
    "plans.index": Decision(ONLY_ADMIN),
    "plans.new_requirement": Decision(ONLY_ADMIN, {"plan_id": "plan", "task_id": "task"}),
    "plans.publish": Decision(ONLY_ADMIN, {"plan_id": "plan"}, last=True),
    "plans.delete": Decision(ONLY_ADMIN, {"plan_id": "spare_draft"}, again=frozenset({404}), last=True),
    "plans.withdraw": Decision(ONLY_ADMIN, {"plan_id": "published_plan"}, last=True),
    "plans.restore": Decision(ONLY_ADMIN, {"plan_id": "published_plan"}),
    "plans.revise": Decision(ONLY_ADMIN, {"plan_id": "published_plan"}),
    "plans.reimport": Decision(ONLY_ADMIN, {"plan_id": "plan"}, form=lambda i, o: {"text": PLAN_TEXT}),
    "plans.show": Decision(ONLY_ADMIN, {"plan_id": "plan"}),
    "plans.show_requirement": Decision(ONLY_ADMIN, {"plan_id": "plan", "requirement_id": "requirement"}),
    "plans.show_section": Decision(ONLY_ADMIN, {"plan_id": "plan", "section_id": "section"}),
    "plans.show_task": Decision(ONLY_ADMIN, {"plan_id": "plan", "task_id": "task"}),
    "plans.update_assignments": Decision(ONLY_ADMIN, {"plan_id": "plan", "task_id": "task"}, form=_assignments),
    "plans.update_requirement": Decision(ONLY_ADMIN, {"plan_id": "plan", "requirement_id": "requirement"},
                                         form=_requirement),
    "plans.update_section": Decision(ONLY_ADMIN, {"plan_id": "plan", "section_id": "section"},
                                     form=lambda i, o: {"title": "新标题"}),
    "plans.update_task": Decision(ONLY_ADMIN, {"plan_id": "plan", "task_id": "task"}, form=_task),
    # ---- reminders (a person's own reminders and settings; robots: admins; nudges: secretaries and staff)
    "reminders.admin": Decision(ONLY_ADMIN),
    "reminders.bell": Decision(EVERYONE),
    "reminders.delete_robot": Decision(ONLY_ADMIN, {"unit_id": "unit"}),
    "reminders.index": Decision(EVERYONE),
    "reminders.mark_read": Decision(EVERYONE, form=lambda i, o: {"all": "1"}),
    "reminders.nudge": Decision(frozenset({SECRETARY, STAFF}), form=_nudge, smuggle={"units": "unit"}),
    "reminders.nudges": Decision(READERS, query={"unit": "unit"}),
    "reminders.save_robot": Decision(ONLY_ADMIN, form=_robot, smuggle={"unit_id": "unit"}),
    "reminders.settings": Decision(EVERYONE, form=lambda i, o: {"email": "someone@example.edu.cn", "digest": "daily"}),
    # ---- pre-review ("prereview_submitted" is at 初审, which the class's branch staff decide)
    "prereview.create_kind": Decision(ONLY_ADMIN, form=_prereview_kind),
    "prereview.decide": Decision(frozenset({STAFF}), {"item_id": "prereview_submitted"},
                                 form=lambda i, o: {"decision": "pass", "comment": "同意", "version": "1"}),
    "prereview.detail": Decision(EVERYONE, {"item_id": "prereview_item"}),
    "prereview.edit": Decision(LOGGERS, {"item_id": "prereview_item"}, form=_prereview_item,
                               smuggle={"remove_files": "prereview_file", "kind": "prereview_kind"}),
    "prereview.edit_kind": Decision(ONLY_ADMIN, {"kind_id": "prereview_kind"}, form=_prereview_kind),
    "prereview.file": Decision(EVERYONE, {"file_id": "prereview_file"}),
    "prereview.index": Decision(EVERYONE, query={"unit": "unit"}, foreign=frozenset({200})),
    "prereview.kinds": Decision(ONLY_ADMIN),
    "prereview.new": Decision(LOGGERS, query={"unit": "unit"}, form=_prereview_item,
                              smuggle={"unit": "unit", "kind": "prereview_kind"}),
    "prereview.outcome": Decision(LOGGERS, {"item_id": "prereview_approved"},
                                  form=lambda i, o: {"outcome": "held", "outcome_on": date.today().isoformat(),
                                                     "version": "1"}),
    "prereview.register_xlsx": Decision(EVERYONE, {"unit_id": "unit"}),
    "prereview.submit": Decision(LOGGERS, {"item_id": "prereview_item"}, form=lambda i, o: {"version": "1"}),
    "prereview.unit_register": Decision(EVERYONE, {"unit_id": "unit"}),
    # ---- reports
    "reports.activities_xlsx": Decision(EVERYONE, query={"unit": "unit"}),
    "reports.compliance_xlsx": Decision(EVERYONE),
    "reports.dashboard": Decision(READERS, query={"unit": "unit"}),
    "reports.dashboard_months": Decision(READERS, query={"unit": "unit"}),
    "reports.ledger_import": Decision(LOGGERS, {"unit_id": "unit"}, form=_ledger_xlsx),
    "reports.ledger_import_apply": Decision(LOGGERS, {"unit_id": "unit"}, form=_import_plan),
    "reports.ledger_xlsx": Decision(EVERYONE, {"unit_id": "unit"}),
    "reports.ledgers_xlsx": Decision(EVERYONE, {"unit_id": "unit"}),
}
