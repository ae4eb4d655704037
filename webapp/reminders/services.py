"""Every change reminders make: storing what is due, composing and sending digests, settings, robots, nudges.

At most once, also with several servers running `remind` at the same time and after a crash:
- a reminder is INSERTed with ON CONFLICT DO NOTHING on its unique key (kind, item, period, user);
- a digest (e-mail per person and day or week, robot per unit and day) is first claimed by INSERTing its
  sent-log row (unique on item, period, recipient, channel) with this run's token, its reminders are
  marked with the row's id and its text is composed, all in one transaction; only then is it sent;
- a failed send stays `failed` with its error and is claimed again (one UPDATE, so by one run) next time;
  a claim left `pending` by a run that died is taken over after CLAIM_MINUTES.
A crash between the SMTP server accepting a message and the commit that marks it sent is the one window
in which a digest could go out twice.
"""
from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import and_, delete, or_, select, update

from ..audit import record
from ..extensions import db
from ..permissions import system_job_options
from ..models import Nudge, Reminder, ReminderDelivery, ReminderSetting, Unit, UnitRobot, User
from ..models.base import utcnow
from . import channels
from .compute import Candidate, Directory, candidates, nudge_candidates
from .labels import kind_label

CHUNK = 5000
KEEP_READ_DAYS = 90
CLAIM_MINUTES = 10
MAX_ATTEMPTS = 10
ROBOT_KINDS = ("due_soon", "overdue", "obligation", "plan", "nudge")
ROBOT_WINDOW_DAYS = 7
PER_GROUP = 5  # lines per unit and kind in a digest; the rest are counted
WECOM_MAX_BYTES = 4000


# ---- storing -------------------------------------------------------------------------------------

def _insert_ignore(model, rows: list[dict], keys: list[str]) -> None:
    """INSERT … ON CONFLICT (keys) DO NOTHING, in chunks (SQLite and PostgreSQL alike)."""
    if not rows:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(model.__table__).on_conflict_do_nothing(index_elements=keys)
    for start in range(0, len(rows), CHUNK):
        db.session.execute(statement, rows[start:start + CHUNK])


def _existing_keys(since: datetime) -> set[tuple[str, str, str, int]]:
    query = select(Reminder.kind, Reminder.item, Reminder.period, Reminder.user_id).where(Reminder.created_at >= since)
    return {tuple(row) for row in db.session.execute(query.execution_options(**system_job_options()))}


def new_candidates(as_of: date, directory: Directory, now: datetime) -> list[Candidate]:
    """Candidates not stored yet (the unique key still settles races; this only spares the inserts)."""
    wanted = {candidate.key: candidate for candidate in candidates(as_of, directory)}
    since = min(now, datetime.combine(as_of, datetime.min.time())) - timedelta(days=KEEP_READ_DAYS + 30)
    existing = _existing_keys(since)
    return [candidate for key, candidate in wanted.items() if key not in existing]


REMINDER_COLUMNS = ("user_id", "unit_id", "kind", "item", "period", "about", "url", "created_at")


def store(new: Iterable[Candidate], now: datetime) -> None:
    """INSERT … ON CONFLICT (kind, item, period, user_id) DO NOTHING, straight through the driver's executemany:
    a first run at university scale stores over half a million rows, and per-row ORM/Core work would dominate."""
    connection = db.session.connection()
    dialect = connection.dialect
    if dialect.name == "sqlite":
        created = now.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's own storage format for DateTime on SQLite
        mark = "?"
    else:
        created, mark = now, "%s"
    statement = (f"INSERT INTO reminder ({', '.join(REMINDER_COLUMNS)}) VALUES ({', '.join([mark] * 8)}) "
                 "ON CONFLICT (kind, item, period, user_id) DO NOTHING")
    rows = [(c.user_id, c.unit_id, c.kind, c.item, c.period, c.about[:300], c.url[:300], created) for c in new]
    cursor = connection.connection.driver_connection.cursor()
    try:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(statement, rows[start:start + CHUNK])
    finally:
        cursor.close()


def purge(now: datetime) -> None:
    """Read reminders are kept 90 days; delivered digests as long."""
    cutoff = now - timedelta(days=KEEP_READ_DAYS)
    db.session.execute(delete(Reminder).where(Reminder.read_at < cutoff))
    db.session.execute(delete(ReminderDelivery).where(ReminderDelivery.status == "sent",
                                                      ReminderDelivery.created_at < cutoff))


# ---- a run -----------------------------------------------------------------------------------------

@dataclass
class Planned:
    user: str
    unit: str
    kind: str
    about: str
    url: str
    channel: str

    def as_json(self) -> dict:
        return {"user": self.user, "unit": self.unit, "kind": self.kind, "about": self.about, "url": self.url,
                "channel": self.channel}


@dataclass
class RunResult:
    new_reminders: int = 0
    sent: int = 0
    failed: int = 0
    planned: list[Planned] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per phase, for bench/remind.py


def run(as_of: date, *, dry_run: bool = False, now: datetime | None = None) -> RunResult:
    """Compute what is due on `as_of`, store the new reminders, compose and send the digests that are due."""
    now = now or utcnow()
    result, clock = RunResult(), time.perf_counter()

    def phase(name: str) -> None:
        nonlocal clock
        result.seconds[name] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()

    directory = Directory()
    new = new_candidates(as_of, directory, now)
    result.new_reminders = len(new)
    phase("compute")
    if dry_run:
        db.session.rollback()
        result.planned = plan(new, directory)
        return result
    purge(now)
    store(new, now)
    db.session.commit()
    phase("store")
    token = uuid.uuid4().hex
    _claim_retries(token, now)
    if email_configured():
        _compose_email_digests(token, as_of, now)
    _compose_robot_digests(token, as_of, now)
    db.session.commit()
    phase("compose")
    _send_claimed(token, result)
    phase("send")
    return result


def plan(new: list[Candidate], directory: Directory) -> list[Planned]:
    """What a run would send: each new reminder in the site, and by e-mail and robot where those are set up."""
    settings = dict(db.session.execute(
        select(ReminderSetting.user_id, ReminderSetting.digest)
        .where(ReminderSetting.email.is_not(None), ReminderSetting.email != "", ReminderSetting.digest != "none")).all())
    robots = set(db.session.execute(select(UnitRobot.unit_id)).scalars())
    emailing = email_configured()
    result, robot_items = [], set()
    for c in new:
        user = directory.users.get(c.user_id, ("", 0))[0]
        unit = directory.units[c.unit_id].name if c.unit_id in directory.units else ""
        kind = str(c.kind)
        result.append(Planned(user, unit, kind, c.about, c.url, "site"))
        if emailing and c.user_id in settings:
            result.append(Planned(user, unit, kind, c.about, c.url, "email"))
        if c.unit_id in robots and c.kind in ROBOT_KINDS and (c.kind, c.item, c.period, c.unit_id) not in robot_items:
            robot_items.add((c.kind, c.item, c.period, c.unit_id))
            result.append(Planned("", unit, kind, c.about, c.url, "robot"))
    return result


def email_configured() -> bool:
    return bool(current_app.config.get("SMTP_URL"))


def _iso_week(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def _claim_retries(token: str, now: datetime) -> None:
    """Failed deliveries, and claims of runs that died, are this run's now (one UPDATE: one run wins each)."""
    channels_ = ["robot", "email"] if email_configured() else ["robot"]
    stale = now - timedelta(minutes=CLAIM_MINUTES)
    db.session.execute(
        update(ReminderDelivery)
        .where(ReminderDelivery.channel.in_(channels_), ReminderDelivery.attempts < MAX_ATTEMPTS,
               or_(ReminderDelivery.status == "failed",
                   and_(ReminderDelivery.status == "pending", ReminderDelivery.claimed_at < stale)))
        .values(claim=token, claimed_at=now, status="pending")
        .execution_options(synchronize_session=False))
    db.session.commit()


def _delivery_row(token: str, now: datetime, **values) -> dict:
    return {"subject": "", "body": "", "status": "pending", "attempts": 0, "claim": token, "claimed_at": now,
            "created_at": now, "user_id": None, **values}


def _compose_email_digests(token: str, as_of: date, now: datetime) -> None:
    """Claim today's (or this week's) digest of each person with something unread and not yet e-mailed."""
    day, week = as_of.isoformat(), _iso_week(as_of)
    waiting = (select(Reminder.user_id, ReminderSetting.digest, ReminderSetting.email, User.unit_id,
                      Reminder.kind == "overdue_below").distinct()
               .join(ReminderSetting, ReminderSetting.user_id == Reminder.user_id)
               .join(User, User.id == Reminder.user_id)
               .where(Reminder.email_delivery_id.is_(None), Reminder.read_at.is_(None), User.active.is_(True),
                      ReminderSetting.digest != "none", ReminderSetting.email.is_not(None), ReminderSetting.email != ""))
    claims = {}
    for user_id, digest, email, unit_id, below in db.session.execute(waiting):
        item = "digest-weekly" if digest == "weekly" or below else "digest-daily"
        claims[(item, user_id)] = _delivery_row(
            token, now, channel="email", item=item, period=week if item == "digest-weekly" else day,
            recipient=f"user:{user_id}", user_id=user_id, unit_id=unit_id, address=email)
    _insert_ignore(ReminderDelivery, list(claims.values()), ["item", "period", "recipient", "channel"])
    delivery = ReminderDelivery.__table__.alias("claimed")
    for item in ("digest-daily", "digest-weekly"):
        ours = (delivery.c.claim == token) & (delivery.c.channel == "email") & (delivery.c.item == item)
        which = Reminder.kind != "overdue_below" if item == "digest-daily" else or_(
            Reminder.kind == "overdue_below",
            Reminder.user_id.in_(select(ReminderSetting.user_id).where(ReminderSetting.digest == "weekly")))
        db.session.execute(
            update(Reminder)
            .where(Reminder.email_delivery_id.is_(None), Reminder.read_at.is_(None), which,
                   Reminder.user_id.in_(select(delivery.c.user_id).where(ours)))
            .values(email_delivery_id=select(delivery.c.id).where(ours, delivery.c.user_id == Reminder.user_id)
                    .scalar_subquery())
            .execution_options(synchronize_session=False))
    _compose(token, "email", Reminder.email_delivery_id)


def _compose_robot_digests(token: str, as_of: date, now: datetime) -> None:
    """Claim today's digest of each unit that has a robot and new reminders about it."""
    since = now - timedelta(days=ROBOT_WINDOW_DAYS)
    fresh = and_(Reminder.robot_delivery_id.is_(None), Reminder.kind.in_(ROBOT_KINDS), Reminder.created_at >= since)
    waiting = (select(UnitRobot.unit_id, UnitRobot.url).distinct()
               .join(Reminder, Reminder.unit_id == UnitRobot.unit_id).where(fresh))
    claims = [_delivery_row(token, now, channel="robot", item="robot", period=as_of.isoformat(),
                            recipient=f"unit:{unit_id}", unit_id=unit_id, address=url)
              for unit_id, url in db.session.execute(waiting)]
    _insert_ignore(ReminderDelivery, claims, ["item", "period", "recipient", "channel"])
    delivery = ReminderDelivery.__table__.alias("claimed")
    ours = (delivery.c.claim == token) & (delivery.c.channel == "robot") & (delivery.c.body == "")
    db.session.execute(
        update(Reminder)
        .where(fresh, Reminder.unit_id.in_(select(delivery.c.unit_id).where(ours)))
        .values(robot_delivery_id=select(delivery.c.id).where(ours, delivery.c.unit_id == Reminder.unit_id)
                .scalar_subquery())
        .execution_options(synchronize_session=False))
    _compose(token, "robot", Reminder.robot_delivery_id)


def _compose(token: str, channel: str, mark) -> None:
    """Write each newly claimed digest's text (or drop the claim if nothing ended up in it)."""
    claimed = {d.id: d for d in db.session.execute(
        select(ReminderDelivery).where(ReminderDelivery.claim == token, ReminderDelivery.channel == channel,
                                       ReminderDelivery.body == "")).scalars()}
    if not claimed:
        return
    lines: dict[int, list[tuple]] = defaultdict(list)
    query = (select(mark, Unit.name, Reminder.kind, Reminder.item, Reminder.period, Reminder.about, Reminder.url)
             .join(Unit, Unit.id == Reminder.unit_id).where(mark.in_(list(claimed)))
             .order_by(Unit.path, Reminder.kind, Reminder.id))
    for delivery_id, *line in db.session.execute(query):
        lines[delivery_id].append(tuple(line))
    robots = dict(db.session.execute(select(UnitRobot.unit_id, UnitRobot.format)
                                     .where(UnitRobot.unit_id.in_([d.unit_id for d in claimed.values()]))).all())
    locales = dict(db.session.execute(select(User.id, User.locale).where(
        User.id.in_([d.user_id for d in claimed.values() if d.user_id]))).all())
    for delivery_id, delivery in claimed.items():
        if not lines.get(delivery_id):
            db.session.delete(delivery)
            continue
        with force_locale(locales.get(delivery.user_id) or current_app.config["BABEL_DEFAULT_LOCALE"]):
            if channel == "email":
                delivery.subject, delivery.body = email_digest(delivery, lines[delivery_id])
            else:
                unit_name = lines[delivery_id][0][0]
                delivery.subject = _("Taizhang reminders for %(unit)s", unit=unit_name)
                delivery.body = robot_payload(robots.get(delivery.unit_id, "wecom"), unit_name, delivery.subject,
                                              lines[delivery_id])


def _absolute(url: str) -> str:
    return (current_app.config.get("BASE_URL") or "").rstrip("/") + url


def _dedupe(lines: list[tuple]) -> list[tuple]:
    seen, result = set(), []
    for unit, kind, item, period, about, url in lines:
        if (kind, item, period) not in seen:
            seen.add((kind, item, period))
            result.append((unit, kind, about, url))
    return result


def _grouped(items: list[tuple]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(unit, kind, [(about, url), …]) in the order the items came (by unit path, then kind)."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for unit, kind, about, url in items:
        groups.setdefault((unit, kind), []).append((about, url))
    return [(unit, kind, entries) for (unit, kind), entries in groups.items()]


def email_digest(delivery: ReminderDelivery, lines: list[tuple]) -> tuple[str, str]:
    """Short: grouped by unit and kind, at most PER_GROUP lines each with its link, the rest counted."""
    items = _dedupe(lines)
    weekly = delivery.item == "digest-weekly"
    subject = (_("Taizhang weekly digest (%(period)s): %(count)d items", period=delivery.period, count=len(items))
               if weekly else
               _("Taizhang daily digest (%(period)s): %(count)d items", period=delivery.period, count=len(items)))
    out, current = [], None
    for unit, kind, entries in _grouped(items):
        if unit != current:
            out.append(f"\n【{unit}】")
            current = unit
        out += [f"- [{kind_label(kind)}] {about}  {_absolute(url)}" for about, url in entries[:PER_GROUP]]
        if len(entries) > PER_GROUP:
            out.append("  " + _("…and %(count)d more in the site.", count=len(entries) - PER_GROUP))
    out.append("\n" + _("All reminders: %(url)s", url=_absolute("/reminders/")))
    return subject, "\n".join(out).strip() + "\n"


def robot_payload(fmt: str, unit_name: str, title: str, lines: list[tuple]) -> str:
    items = _dedupe(lines)
    if fmt == "json":
        return json.dumps({"title": title, "unit": unit_name, "items": [
            {"unit": unit, "kind": kind, "label": kind_label(kind), "about": about, "url": _absolute(url)}
            for unit, kind, about, url in items]}, ensure_ascii=False)
    content = [f"**{title}**"]
    for _unit, kind, entries in _grouped(items):
        block = [f"{kind_label(kind)}（{len(entries)}）"]
        block += [f"> [{about}]({_absolute(url)})" for about, url in entries[:PER_GROUP]]
        if len(entries) > PER_GROUP:
            block.append("> " + _("…and %(count)d more in the site.", count=len(entries) - PER_GROUP))
        if len("\n".join(content + block).encode()) > WECOM_MAX_BYTES:
            content.append(_("…and %(count)d more in the site.", count=len(items)))
            break
        content += block
    return json.dumps({"msgtype": "markdown", "markdown": {"content": "\n".join(content)}}, ensure_ascii=False)


def _send_claimed(token: str, result: RunResult) -> None:
    """Send each claimed digest and record the outcome at once (its own small commit: a crash loses no outcome)."""
    config = current_app.config
    table = ReminderDelivery.__table__
    deliveries = db.session.execute(
        select(table.c.id, table.c.channel, table.c.address, table.c.subject, table.c.body)
        .where(table.c.claim == token, table.c.status == "pending").order_by(table.c.id)).all()
    db.session.commit()
    with channels.SmtpSession(config.get("SMTP_URL") or "", config.get("SMTP_FROM") or "taizhang@localhost") as smtp:
        for delivery_id, channel, address, subject, body in deliveries:
            try:
                if channel == "email":
                    smtp.send(address, subject, body)
                else:
                    channels.post_webhook(address, body)
            except channels.DeliveryError as error:
                outcome = {"status": "failed", "last_error": str(error)[:2000]}
                result.failed += 1
            else:
                outcome = {"status": "sent", "sent_at": utcnow(), "last_error": None}
                result.sent += 1
            db.session.execute(update(table).where(table.c.id == delivery_id)
                               .values(attempts=table.c.attempts + 1, **outcome))
            db.session.commit()


# ---- what people change ----------------------------------------------------------------------------

def mark_read(user, reminder_id: int | None) -> int:
    """Mark one of the user's reminders (or all of them, with None) as read; returns how many changed."""
    query = update(Reminder).where(Reminder.user_id == user.id, Reminder.read_at.is_(None))
    if reminder_id is not None:
        query = query.where(Reminder.id == reminder_id)
    changed = db.session.execute(query.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return changed


def save_settings(user, email: str | None, digest: str) -> None:
    setting = db.session.get(ReminderSetting, user.id) or ReminderSetting(user_id=user.id, digest="daily")
    before = {"email": setting.email, "digest": setting.digest}
    setting.email, setting.digest = email or None, digest
    db.session.add(setting)
    if before["email"] != setting.email:  # that it changed, not the address: the log keeps no contact data
        record("user", user.id, "update", unit_id=user.unit_id, field="reminder_email")
    if before["digest"] != setting.digest:
        record("user", user.id, "update", unit_id=user.unit_id, field="reminder_digest", before=before["digest"],
               after=setting.digest)
    db.session.commit()


def save_robot(unit: Unit, url: str, fmt: str) -> None:
    robot = db.session.get(UnitRobot, unit.id)
    action = "update" if robot else "create"
    robot = robot or UnitRobot(unit_id=unit.id)
    robot.url, robot.format = url, fmt
    db.session.add(robot)
    # The URL carries the robot's key: the log says that it changed, not what it is.
    record("unit", unit.id, action, unit_id=unit.id, field="robot", after=fmt)
    db.session.commit()


def delete_robot(unit: Unit) -> bool:
    robot = db.session.get(UnitRobot, unit.id)
    if robot is None:
        return False
    db.session.delete(robot)
    record("unit", unit.id, "delete", unit_id=unit.id, field="robot")
    db.session.commit()
    return True


def send_nudges(user, units: list[Unit], about: str, note: str) -> list[Nudge]:
    """催办: one recorded nudge per unit, and an in-site reminder for the people doing its work, at once."""
    directory_people = _workers_of([unit.id for unit in units])
    nudges = []
    for unit in units:
        nudge = Nudge(unit_id=unit.id, from_user_id=user.id, from_unit_id=user.unit_id, about=about, note=note)
        db.session.add(nudge)
        nudges.append(nudge)
    db.session.flush()
    now = utcnow()
    for nudge in nudges:
        record("nudge", nudge.id, "create", unit_id=nudge.unit_id, field="note", after=note or about)
    store([c for nudge in nudges
           for c in nudge_candidates(nudge.id, nudge.unit_id, about, note, directory_people.get(nudge.unit_id, []))],
          now)
    db.session.commit()
    return nudges


def _workers_of(unit_ids: list[int]) -> dict[int, list[int]]:
    """Staff and monitors of each unit (its secretaries if it has neither), active people only."""
    rows = db.session.execute(select(User.id, User.unit_id, User.role).where(
        User.unit_id.in_(unit_ids), User.active.is_(True)).execution_options(**system_job_options()))
    by_unit: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for user_id, unit_id, role in rows:
        by_unit[unit_id][role].append(user_id)
    return {unit_id: (roles["staff"] + roles["monitor"]) or roles["secretary"] for unit_id, roles in by_unit.items()}
