"""Pre-review test helpers: standard kinds for the org, items in a given state, a frozen clock."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import PrereviewItem, PrereviewKind, Unit, User
from webapp.prereview import services

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def kinds(org) -> dict[str, int]:
    """The standard kinds under the org's general branch: {name: id}."""
    services.ensure_kinds(db.session.get(Unit, org.units["general"]))
    db.session.commit()
    rows = db.session.execute(select(PrereviewKind.name, PrereviewKind.id)
                              .where(PrereviewKind.unit_id == org.units["general"])).all()
    return dict(rows)


def freeze(monkeypatch, moment: datetime) -> None:
    """Freeze the one clock (webapp/clock.py) at a naive-UTC moment until the test ends."""
    import webapp.clock
    fixed = moment.replace(tzinfo=timezone.utc)
    monkeypatch.setattr(webapp.clock, "_clock", lambda: fixed)


def add_item(org, unit_key: str, kind_id: int, held_on: date, *, by: str = "monitor1", submit: bool = False,
             title: str = "人工智能伦理讲座") -> int:
    user = db.session.get(User, org.users[by])
    kind = db.session.get(PrereviewKind, kind_id)
    data = services.ItemData(kind_id=kind_id, title=title, held_on=held_on,
                             place="学院报告厅" if kind.category == "event" else "",
                             channel="学院公众号" if kind.category == "post" else "",
                             speaker="张三（某大学教授）", summary="讲座内容摘要")
    item = services.create_item(user, db.session.get(Unit, org.units[unit_key]), data, [], submit=submit)
    return item.id


def item(item_id: int) -> PrereviewItem:
    db.session.expire_all()
    return db.session.get(PrereviewItem, item_id)


def version_of(client, item_id: int) -> str:
    html = client.get(f"/prereview/{item_id}").get_data(as_text=True)
    return re.search(r'data-version="(\d+)"', html).group(1)


def in_days(days: int, today: date | None = None) -> date:
    return (today or date.today()) + timedelta(days=days)


def run_decisions(app, org, monkeypatch, item_id: int, decisions, at: datetime) -> None:
    """Apply [(user key, decision, comment)] to an item through the service, the clock frozen at `at`."""
    freeze(monkeypatch, at)
    for key, decision, comment in decisions:
        with app.test_request_context():
            current = item(item_id)
            services.decide(db.session.get(User, org.users[key]), current, current.version, decision, comment)
