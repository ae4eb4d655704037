"""Demo pre-review items: a few lectures, forums and posts of the demo college in every state, reviewed through
the service so their history and audit entries look real. Speakers and authors are public facts only."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import PrereviewItem, PrereviewKind, User
from . import clock, services

# (unit key, registered by, kind, title, days from today, place or channel, speaker, decisions, outcome)
DEMO_ITEMS = [
    ("student1", "admin", "讲座", "人工智能与社会伦理专题讲座", 12, "学院报告厅", "李明（某大学哲学系教授）",
     [("staff2", "pass", ""), ("secretary", "pass", "同意举办，注意现场互动环节把关。")], None),
    ("class1", "monitor1", "新媒体推送", "班级公众号推送：诚信考试倡议书", 5, "2023级计算机1班公众号", "班级宣传委员",
     [("staff2", "pass", "内容积极向上。")], None),
    ("faculty1", "admin", "论文/文章", "《高校课程思政建设路径研究》投稿", 20, "《高校教育研究》期刊", "教工第一党支部教师",
     [], None),
    ("class5", "monitor2", "论坛", "青年学生读书论坛", 2, "图书馆报告厅", "2024级软件工程1班读书会", [], None),
    ("student2", "admin", "报告会", "考研经验分享报告会", 15, "教学楼301", "2022级优秀毕业生代表",
     [("staff3", "return", "请补充报告人名单和报告提纲。")], None),
    ("student1", "admin", "会议", "学生党员发展对象座谈会", -10, "学院会议室", "学生第一党支部",
     [("staff2", "pass", ""), ("secretary", "pass", "")], "held"),
]


def seed_prereview(units, echo) -> None:
    root = units["general"]
    services.ensure_kinds(root)
    kinds = {kind.name: kind for kind in db.session.execute(
        select(PrereviewKind).where(PrereviewKind.unit_id == root.id)).scalars()}
    users = {user.username: user for user in db.session.execute(select(User)).scalars()}
    today = clock.local_today()
    count = 0
    for unit_key, by, kind_name, title, days, where, speaker, decisions, outcome in DEMO_ITEMS:
        kind = kinds[kind_name]
        held_on = today + timedelta(days=days)
        data = services.ItemData(kind_id=kind.id, title=title, held_on=held_on,
                                 place=where if kind.category == "event" else "",
                                 channel=where if kind.category == "post" else "", speaker=speaker,
                                 summary=f"{title}：主要内容、议程和宣传安排见送审材料。")
        item = services.create_item(users[by], units[unit_key], data, [], submit=True)
        if days < 0:  # an event of the past was submitted in time, before its date
            item.first_submitted_at = item.submitted_at = clock.utc_now() - timedelta(days=30 - days)
            item.late = False
            db.session.commit()
        for reviewer, decision, comment in decisions:
            current = db.session.get(PrereviewItem, item.id)
            services.decide(users[reviewer], current, current.version, decision, comment)
        if days < 0:  # and decided a few days after
            current = db.session.get(PrereviewItem, item.id)
            current.decided_at = current.first_submitted_at + timedelta(days=3)
            for step in current.steps:
                step.at = current.first_submitted_at + timedelta(days=0 if step.action == "submit" else 3)
            current.version += 1
            db.session.commit()
        if outcome == "held":
            current = db.session.get(PrereviewItem, item.id)
            services.record_outcome(users[by], current, current.version, "held", held_on, "")
        count += 1
    echo(f"演示预审查事项：{count} 项。")
