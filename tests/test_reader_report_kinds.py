"""Checks, assessments and reports the reader finds (每三个月汇报一次) are obligations of their own
kinds; publishing links them to an activity kind only when the site has one of that name."""
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ActivityKind, Requirement

from .plans_factories import make_published

PLAN = """计算机学院2025年党建工作方案
一、加强支部建设
1.规范支部工作。各党支部每月开展一次主题党日，每三个月向党总支汇报一次支部工作。
负责人：组织委员
工作时限：全年
"""


def _requirements() -> dict[str, Requirement]:
    return {r.kind: r for r in db.session.execute(select(Requirement)).scalars()}


def test_report_obligations_create_no_activity_kind(app, org):
    with app.app_context():
        make_published(org, PLAN)
        reqs = _requirements()
        assert (reqs["工作汇报"].cadence, reqs["工作汇报"].count) == ("quarter", 1)
        assert reqs["工作汇报"].kind_id is None
        assert reqs["主题党日"].kind_id is not None
        names = set(db.session.execute(select(ActivityKind.name)).scalars())
        assert "工作汇报" not in names


def test_report_obligations_link_to_an_existing_kind(app, org):
    with app.app_context():
        kind = ActivityKind(unit_id=org.units["general"], name="工作汇报", cadence="quarter", count=1,
                            level="branch")
        db.session.add(kind)
        db.session.commit()
        make_published(org, PLAN)
        assert _requirements()["工作汇报"].kind_id == kind.id
