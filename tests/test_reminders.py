"""Reminders with a frozen clock (`as_of` and `now` fixed): each kind fires once and only once, for the right
people, across repeated and concurrent runs; nothing for done rows, met obligations, withdrawn plans or
deactivated users; e-mail through a real SMTP server, a robot webhook through a local HTTP server, retries."""
from __future__ import annotations

import json
import threading
from contextlib import nullcontext
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lxml.html
import pytest
from sqlalchemy import func, select

from webapp.clock import frozen_clock
from webapp.extensions import db
from webapp.models import (Activity, LedgerRow, Nudge, Plan, Reminder, ReminderDelivery, ReminderSetting, Task,
                           Unit, UnitRobot, User)
from webapp.reminders import services

from .activities_factories import make_activity, make_plan as make_obligation_plan
from .conftest import csrf_token_from
from .ledger_factories import make_plan

AS_OF = date(2025, 3, 27)  # five days left in March (and in Q1), counting today
NOW = datetime(2025, 3, 27, 1, 0)
DAY = timedelta(days=1)


# ---- the world -------------------------------------------------------------------------------------

def build(org) -> dict:
    """A published plan for faculty1 and class1 (due soon, overdue, later, done), an obligation for classes,
    a submitted and a returned activity, a withdrawn plan and a deactivated staff member."""
    general, faculty1, class1, class3 = (org.units[k] for k in ("general", "faculty1", "class1", "class3"))
    ids = make_plan(general, [faculty1, class1], year=2025)
    plan = db.session.get(Plan, ids["plan"])
    plan.published_at = NOW - DAY
    due = [AS_OF + 3 * DAY, AS_OF - 2 * DAY, AS_OF + 30 * DAY, AS_OF + 3 * DAY]
    for task_id, due_on in zip(ids["tasks"], due):
        db.session.get(Task, task_id).due_on = due_on
    done = db.session.get(LedgerRow, ids["rows"][(ids["tasks"][3], faculty1)])
    done.status = "done"
    withdrawn = make_plan(general, [faculty1], year=2025, sections=1, tasks_per_section=1, due_on=AS_OF + DAY,
                          title="已撤回的方案")
    withdrawn_plan = db.session.get(Plan, withdrawn["plan"])
    withdrawn_plan.status, withdrawn_plan.published_at = "withdrawn", NOW - DAY
    from webapp.org import add_user
    gone = add_user("gone", "离任委员", "staff", db.session.get(Unit, faculty1), "x-long-password")
    gone.active = False
    db.session.commit()
    make_obligation_plan(general, 2025, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
    make_activity(class3, "主题班会", AS_OF - 5 * DAY)  # class3 met March
    submitted = make_activity(class1, "主题班会", AS_OF - DAY, status="submitted", created_by_id=org.users["monitor1"],
                              topic="三月主题班会待审")
    returned = make_activity(class3, "主题班会", AS_OF - 10 * DAY, status="returned",
                             created_by_id=org.users["monitor3"], topic="退回的班会", review_comment="请补充签到表")
    db.session.get(Activity, submitted).updated_at = NOW - DAY
    db.session.get(Activity, returned).reviewed_at = NOW - DAY
    db.session.commit()
    return {"ledger": ids, "withdrawn": withdrawn, "submitted": submitted, "returned": returned, "gone": gone.id}


def run(app, as_of=AS_OF, now=NOW, freeze=True):
    """A `remind` run with the clock frozen at `now` (threads: the caller freezes it once, for all of them)."""
    with app.app_context(), app.test_request_context("/"), (frozen_clock(now) if freeze else nullcontext()):
        result = services.run(as_of)
        db.session.remove()
        return result


def stored() -> set[tuple[str, str, str]]:
    """(kind, username, item) of every stored reminder."""
    query = select(Reminder.kind, User.username, Reminder.item).join(User, User.id == Reminder.user_id)
    return {tuple(row) for row in db.session.execute(query)}


def expected(world, org) -> set[tuple[str, str, str]]:
    tasks, rows = world["ledger"]["tasks"], world["ledger"]["rows"]
    faculty1, class1 = org.units["faculty1"], org.units["class1"]
    row = lambda n, unit: f"row:{rows[(tasks[n], unit)]}"  # noqa: E731
    plan = f"plan:{world['ledger']['plan']}"
    return {
        ("due_soon", "staff1", row(0, faculty1)), ("due_soon", "monitor1", row(0, class1)),
        ("due_soon", "monitor1", row(3, class1)),
        ("overdue", "staff1", row(1, faculty1)), ("overdue", "monitor1", row(1, class1)),
        ("overdue_below", "secretary", row(1, faculty1)),  # faculty1's unit above is the general branch
        ("plan", "staff1", plan), ("plan", "monitor1", plan),
        ("obligation", "monitor1", next(iter(_obligation_items(class1)))),
        ("review", "staff2", f"activity:{world['submitted']}"),
        ("returned", "monitor3", f"activity:{world['returned']}"),
    }


def _obligation_items(unit_id: int) -> set[str]:
    from webapp.models import Requirement
    return {f"obligation:{rid}:{unit_id}" for rid in db.session.execute(select(Requirement.id).where(
        Requirement.kind == "主题班会")).scalars()}


# ---- local servers ---------------------------------------------------------------------------------

@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port; `.messages` collects what it received."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Collect(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.url = f"smtp://127.0.0.1:{port}"
    yield handler
    controller.stop()


@pytest.fixture
def webhook_server():
    """A local HTTP server receiving robot webhooks; answers `.status` (200 unless a test says otherwise)."""
    received, state = [], {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(json.loads(body))
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errcode":0,"errmsg":"ok"}' if state["status"] == 200 else b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.received, server.state = received, state
    server.url = f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=test"
    yield server
    server.shutdown()


@pytest.fixture
def smtp_config(app, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url, SMTP_FROM="taizhang@example.edu.cn",
                      BASE_URL="https://taizhang.example.edu.cn")
    yield smtp_server
    app.config.update(SMTP_URL="", SMTP_FROM="", BASE_URL="")


def header(value: str) -> str:
    from email.header import decode_header, make_header
    return str(make_header(decode_header(value)))


def set_email(user_id: int, email: str, digest: str = "daily") -> None:
    db.session.merge(ReminderSetting(user_id=user_id, email=email, digest=digest))
    db.session.commit()


# ---- what reminds whom -----------------------------------------------------------------------------

def test_each_kind_reminds_the_right_people_once(app, app_ctx, org):
    world = build(org)
    first = run(app)
    assert stored() == expected(world, org)
    assert first.new_reminders == len(expected(world, org))
    again = run(app)
    later_same_day = run(app, now=NOW + timedelta(hours=3))
    assert again.new_reminders == later_same_day.new_reminders == 0
    assert db.session.execute(select(func.count()).select_from(Reminder)).scalar_one() == len(expected(world, org))


def test_nothing_for_done_rows_met_obligations_withdrawn_plans_or_deactivated_users(app, app_ctx, org):
    world = build(org)
    run(app)
    items_by_user = db.session.execute(select(Reminder.item, Reminder.user_id)).all()
    done_row = world["ledger"]["rows"][(world["ledger"]["tasks"][3], org.units["faculty1"])]
    later_row = world["ledger"]["rows"][(world["ledger"]["tasks"][2], org.units["faculty1"])]
    withdrawn_rows = set(world["withdrawn"]["rows"].values())
    items = {item for item, _user in items_by_user}
    assert f"row:{done_row}" not in items
    assert f"row:{later_row}" not in items  # due in 30 days: not yet
    assert not items & {f"row:{row}" for row in withdrawn_rows}
    assert f"plan:{world['withdrawn']['plan']}" not in items
    assert not _obligation_items(org.units["class3"]) & items  # met this month
    assert world["gone"] not in {user for _item, user in items_by_user}


def test_a_row_done_after_the_reminder_reminds_no_more_and_a_new_due_date_reminds_again(app, app_ctx, org):
    world = build(org)
    run(app)
    tasks, rows = world["ledger"]["tasks"], world["ledger"]["rows"]
    db.session.get(LedgerRow, rows[(tasks[0], org.units["faculty1"])]).status = "done"
    db.session.get(Task, tasks[2]).due_on = AS_OF + 2 * DAY  # moved closer: now due soon
    db.session.commit()
    result = run(app)
    assert result.new_reminders == 2  # task 3 for staff1 and monitor1, nothing else
    assert {("due_soon", "staff1", f"row:{rows[(tasks[2], org.units['faculty1'])]}")} <= stored()


def test_two_concurrent_runs_store_and_send_each_reminder_once(app, org, smtp_config, webhook_server):
    with app.app_context():
        world = build(org)
        set_email(org.users["staff1"], "staff1@example.edu.cn")
        set_email(org.users["monitor1"], "monitor1@example.edu.cn", "weekly")
        db.session.add(UnitRobot(unit_id=org.units["faculty1"], url=webhook_server.url, format="wecom"))
        db.session.commit()
    barrier, errors = threading.Barrier(2), []

    def worker():
        try:
            barrier.wait()
            run(app, freeze=False)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    with frozen_clock(NOW):  # the clock is global: frozen once around both threads
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not errors
    with app.app_context():
        assert stored() == expected(world, org)
        assert db.session.execute(select(func.count()).select_from(Reminder)).scalar_one() == len(expected(world, org))
    assert sorted(message["To"] for message in smtp_config.messages) == ["monitor1@example.edu.cn",
                                                                          "staff1@example.edu.cn"]
    assert len(webhook_server.received) == 1
    from webapp.clock import now_utc
    assert abs(now_utc() - datetime.now(timezone.utc)) < timedelta(minutes=1)  # the clock is running again


def test_dry_run_json_prints_what_would_be_sent_and_stores_nothing(app, org, runner):
    with app.app_context():
        world = build(org)
        db.session.add(UnitRobot(unit_id=org.units["faculty1"], url="http://127.0.0.1:9/x", format="json"))
        db.session.commit()
    result = runner.invoke(args=["remind", "--as-of", AS_OF.isoformat(), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    planned = json.loads(result.output)
    assert all(set(entry) == {"user", "unit", "kind", "about", "url", "channel"} for entry in planned)
    assert all(isinstance(value, str) for entry in planned for value in entry.values())
    with app.app_context():
        assert {(e["kind"], e["user"]) for e in planned if e["channel"] == "site"} == {
            (kind, user) for kind, user, _item in expected(world, org)}
        assert db.session.execute(select(func.count()).select_from(Reminder)).scalar_one() == 0
    robot = [e for e in planned if e["channel"] == "robot"]
    assert robot and {e["unit"] for e in robot} == {"教工第一党支部"}
    row_url = next(e["url"] for e in planned if e["kind"] == "due_soon" and e["user"] == "staff1")
    assert row_url.startswith(f"/units/{org.units['faculty1']}/ledger#row-")


def test_remind_command_stores_and_reports(app, org, runner):
    with app.app_context():
        world = build(org)
        count = len(expected(world, org))
    result = runner.invoke(args=["remind", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"new reminders: {count}" in result.output
    again = runner.invoke(args=["remind", "--as-of", AS_OF.isoformat()])
    assert "new reminders: 0" in again.output


# ---- e-mail and robots ----------------------------------------------------------------------------

def test_daily_digest_by_email_through_a_real_smtp_server(app, app_ctx, org, smtp_config):
    build(org)
    set_email(org.users["staff1"], "staff1@example.edu.cn")
    set_email(org.users["secretary"], "secretary@example.edu.cn")  # daily, but overdue_below goes weekly
    set_email(org.users["staff2"], "staff2@example.edu.cn", "none")
    result = run(app)
    assert result.failed == 0
    by_address = {message["To"]: message for message in smtp_config.messages}
    assert set(by_address) == {"staff1@example.edu.cn", "secretary@example.edu.cn"}
    daily = by_address["staff1@example.edu.cn"]
    assert daily["From"] == "taizhang@example.edu.cn"
    assert "每日提醒" in header(daily["Subject"]) and "2025-03-27" in header(daily["Subject"])
    body = daily.get_payload(decode=True).decode("utf-8")
    assert "【教工第一党支部】" in body
    assert "[临近截止] 1. 任务1" in body and "[逾期] 2. 任务2" in body and "[新工作方案]" in body
    assert f"https://taizhang.example.edu.cn/units/{org.units['faculty1']}/ledger#row-" in body
    weekly = by_address["secretary@example.edu.cn"]
    assert "每周" in header(weekly["Subject"]) and "2025-W13" in header(weekly["Subject"])
    assert "[下级逾期]" in weekly.get_payload(decode=True).decode("utf-8")
    # Nothing new: no second digest that day, nor the next run of the same day.
    assert run(app).sent == 0
    assert len(smtp_config.messages) == 2


def test_a_digest_stays_short_grouped_by_unit_and_kind(app):
    lines = [("教工第一党支部", "due_soon", f"row:{n}", "2025-03-30", f"{n}. 任务{n}", f"/units/2/ledger#row-{n}")
             for n in range(1, 13)] + [("学生第一党支部", "review", "activity:7", "v2", "主题班会", "/activities/7")]
    delivery = ReminderDelivery(item="digest-daily", period="2025-03-27")
    with app.test_request_context("/"):
        subject, body = services.email_digest(delivery, lines + lines[:3])  # repeated lines count once
    assert subject == "台账每日提醒（2025-03-27）：13 项"
    assert body.count("[临近截止]") == 5 and "另有 7 项" in body
    assert body.index("【教工第一党支部】") < body.index("【学生第一党支部】") < body.index("[待审核] 主题班会")


def test_a_read_reminder_is_not_emailed_and_nothing_new_sends_nothing(app, app_ctx, org, smtp_config):
    build(org)
    run(app)  # no address yet: site only
    set_email(org.users["staff1"], "staff1@example.edu.cn")
    db.session.execute(Reminder.__table__.update().values(read_at=NOW))
    db.session.commit()
    assert run(app).sent == 0
    assert smtp_config.messages == []


def test_robot_webhook_gets_the_units_digest_once(app, app_ctx, org, webhook_server):
    world = build(org)
    db.session.add(UnitRobot(unit_id=org.units["faculty1"], url=webhook_server.url, format="wecom"))
    db.session.commit()
    result = run(app)
    assert result.sent == 1
    [payload] = webhook_server.received
    assert payload["msgtype"] == "markdown"
    content = payload["markdown"]["content"]
    assert "教工第一党支部" in content and "临近截止（1）" in content and "逾期（1）" in content
    assert content.count("1. 任务1") == 1  # one line per item, not per person
    assert f"/activities/{world['submitted']}" not in content and "待审" not in content  # reviews are personal
    run(app)
    assert len(webhook_server.received) == 1


def test_generic_json_robot_format(app, app_ctx, org, webhook_server):
    build(org)
    db.session.add(UnitRobot(unit_id=org.units["class1"], url=webhook_server.url, format="json"))
    db.session.commit()
    run(app)
    [payload] = webhook_server.received
    assert payload["unit"] == "2023级计算机1班"
    assert {item["kind"] for item in payload["items"]} == {"due_soon", "overdue", "plan", "obligation"}
    assert all(set(item) == {"unit", "kind", "label", "about", "url"} for item in payload["items"])


def test_a_failed_delivery_is_shown_to_the_admin_and_retried_by_the_next_run(app, org, client, login_as,
                                                                              webhook_server):
    with app.app_context():
        build(org)
        db.session.add(UnitRobot(unit_id=org.units["faculty1"], url=webhook_server.url, format="wecom"))
        db.session.commit()
    webhook_server.state["status"] = 500
    assert run(app).failed == 1
    with app.app_context():
        delivery = db.session.execute(select(ReminderDelivery)).scalar_one()
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, "HTTP 500")
    login_as("admin")
    page = lxml.html.fromstring(client.get("/reminders/admin").get_data(as_text=True))
    [row] = page.xpath("//tr[@class='delivery-failed']")
    assert "HTTP 500" in row.text_content() and "教工第一党支部" in row.text_content()
    webhook_server.state["status"] = 200
    retried = run(app, now=NOW + timedelta(minutes=5))
    assert (retried.sent, retried.failed) == (1, 0)
    assert webhook_server.received[0] == webhook_server.received[1]  # the same digest, resent
    with app.app_context():
        delivery = db.session.execute(select(ReminderDelivery)).scalar_one()
        assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert run(app, now=NOW + timedelta(minutes=10)).sent == 0


def test_an_unreachable_smtp_server_fails_and_is_retried(app, app_ctx, org, smtp_server):
    build(org)
    set_email(org.users["staff1"], "staff1@example.edu.cn")
    app.config.update(SMTP_URL="smtp://127.0.0.1:9")  # nothing listens on the discard port
    try:
        assert run(app).failed == 1
        app.config.update(SMTP_URL=smtp_server.url)
        assert run(app).sent == 1
    finally:
        app.config.update(SMTP_URL="")
    assert [message["To"] for message in smtp_server.messages] == ["staff1@example.edu.cn"]


# ---- the site: bell, list, mark as read, settings, nudges ------------------------------------------

def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return lxml.html.fromstring(response.get_data(as_text=True))


def test_bell_counts_unread_and_mark_as_read(app, org, client, login_as):
    with app.app_context():
        world = build(org)
    run(app)
    login_as("staff1")
    home = _page(client, "/")
    [bell] = home.xpath("//*[@id='reminder-bell']")
    assert bell.xpath(".//*[contains(@class, 'bell-count')]")[0].text_content() == "3"
    assert bell.get("hx-trigger").startswith("every 60s")
    listing = _page(client, "/reminders/")
    items = listing.xpath("//li[contains(@class, 'reminder') and contains(@class, 'unread')]")
    assert len(items) == 3  # due soon, overdue, new plan (the done row reminds nobody)
    links = {a.get("href") for a in listing.xpath("//li[contains(@class, 'reminder')]//a[@class='reminder-link']")}
    rows = world["ledger"]["rows"]
    assert f"/units/{org.units['faculty1']}/ledger#row-{rows[(world['ledger']['tasks'][0], org.units['faculty1'])]}" in links
    token = csrf_token_from(client.get("/reminders/").get_data(as_text=True))
    first_id = items[0].get("id").split("-")[1]
    answer = client.post("/reminders/read", data={"id": first_id, "csrf_token": token}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "reminders-changed"
    assert "unread" not in lxml.html.fragment_fromstring(answer.get_data(as_text=True)).get("class")
    bell = lxml.html.fragment_fromstring(client.get("/reminders/bell").get_data(as_text=True))
    assert bell.xpath(".//*[contains(@class, 'bell-count')]")[0].text_content() == "2"
    client.post("/reminders/read", data={"all": "1", "csrf_token": token})
    assert not _page(client, "/").xpath("//*[@id='reminder-bell']//*[@class='bell-count']")
    assert len(_page(client, "/reminders/").xpath("//li[contains(@class, 'reminder')]")) == 3  # read ones stay listed


def test_someone_elses_reminder_cannot_be_marked(app, org, client, login_as):
    with app.app_context():
        build(org)
    run(app)
    with app.app_context():
        theirs = db.session.execute(select(Reminder.id).join(User, User.id == Reminder.user_id)
                                    .where(User.username == "monitor1")).scalars().first()
    login_as("staff1")
    token = csrf_token_from(client.get("/reminders/").get_data(as_text=True))
    assert client.post("/reminders/read", data={"id": theirs, "csrf_token": token},
                       headers={"HX-Request": "true"}).status_code == 404
    with app.app_context():
        assert db.session.get(Reminder, theirs).read_at is None


def test_read_reminders_are_kept_90_days(app, app_ctx, org):
    build(org)
    run(app)
    db.session.execute(Reminder.__table__.update().values(read_at=NOW - timedelta(days=91)))
    db.session.commit()
    run(app, now=NOW)
    assert db.session.execute(select(func.count()).select_from(Reminder)).scalar_one() == 0


def test_settings_save_email_and_digest_and_refuse_a_bad_address(app, org, client, login_as):
    login_as("staff1")
    token = csrf_token_from(client.get("/reminders/settings").get_data(as_text=True))
    bad = client.post("/reminders/settings", data={"email": "不是地址", "digest": "daily", "csrf_token": token})
    assert bad.status_code == 422
    assert "请填写" in lxml.html.fromstring(bad.get_data(as_text=True)).xpath("//*[@class='error']")[0].text_content()
    good = client.post("/reminders/settings", data={"email": " staff1@example.edu.cn ", "digest": "weekly",
                                                    "csrf_token": token})
    assert good.status_code == 302
    with app.app_context():
        setting = db.session.get(ReminderSetting, org.users["staff1"])
        assert (setting.email, setting.digest) == ("staff1@example.edu.cn", "weekly")
    client.post("/reminders/settings", data={"email": "", "digest": "none", "csrf_token": token})
    with app.app_context():
        setting = db.session.get(ReminderSetting, org.users["staff1"])
        assert (setting.email, setting.digest) == (None, "none")


def test_secretary_nudges_units_below_and_the_dashboard_shows_it(app, org, client, login_as):
    login_as("secretary")
    form_page = _page(client, f"/reminders/nudge?unit={org.units['class1']}")
    boxes = {box.get("value"): box.get("checked") is not None for box in form_page.xpath("//input[@name='units']")}
    assert boxes[str(org.units["class1"])] is True and str(org.units["general"]) not in boxes
    token = csrf_token_from(client.get("/reminders/nudge").get_data(as_text=True))
    answer = client.post("/reminders/nudge", data={
        "units": [org.units["class1"], org.units["faculty1"], org.units["general"], org.units["foreign"]],
        "about": "obligations", "note": "请本周内补齐主题班会", "csrf_token": token})
    assert answer.status_code == 302
    with app.app_context():
        nudged = set(db.session.execute(select(Nudge.unit_id)).scalars())
        assert nudged == {org.units["class1"], org.units["faculty1"]}  # own unit and foreign one dropped
        got = set(db.session.execute(select(User.username).join(Reminder, Reminder.user_id == User.id)
                                     .where(Reminder.kind == "nudge")).scalars())
        assert got == {"monitor1", "staff1"}
    overview = _page(client, "/overview")
    assert overview.xpath(f"//*[@hx-get='/reminders/nudges?unit={org.units['general']}'][@hx-trigger='load']")
    panel = _page(client, f"/reminders/nudges?unit={org.units['general']}")
    rows = [row.text_content() for row in panel.xpath("//table[contains(@class, 'nudge-table')]/tbody/tr")]
    assert len(rows) == 2 and all("请本周内补齐主题班会" in row and "用户secretary" in row for row in rows)
    run(app)  # the run does not remind twice
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Reminder).where(
            Reminder.kind == "nudge")).scalar_one() == 2
    login_as("monitor1")
    bell = _page(client, "/reminders/")
    assert "请本周内补齐主题班会" in bell.xpath("//li[contains(@class, 'reminder')]")[0].text_content()
    assert client.get("/reminders/nudge").status_code == 403


def test_nudging_nothing_is_refused_with_a_chinese_message(app, org, client, login_as):
    login_as("staff2")
    token = csrf_token_from(client.get("/reminders/nudge").get_data(as_text=True))
    answer = client.post("/reminders/nudge", data={"units": [org.units["faculty1"]], "about": "overdue",
                                                   "csrf_token": token})
    assert answer.status_code == 422  # faculty1 is not below student1
    assert "请至少选择一个单位" in answer.get_data(as_text=True)


def test_admin_sets_and_removes_a_group_robot(app, org, client, login_as):
    login_as("admin")
    token = csrf_token_from(client.get("/reminders/admin").get_data(as_text=True))
    bad = client.post("/reminders/robots", data={"unit_id": org.units["class1"], "url": "ftp://x", "format": "wecom",
                                                 "csrf_token": token})
    assert bad.status_code == 422 and "https://" in bad.get_data(as_text=True)
    foreign = client.post("/reminders/robots", data={"unit_id": org.units["foreign"], "url": "https://h/x",
                                                     "format": "wecom", "csrf_token": token})
    assert foreign.status_code == 404
    ok = client.post("/reminders/robots", data={"unit_id": org.units["class1"], "url": "https://qyapi.example/x?key=1",
                                                "format": "json", "csrf_token": token})
    assert ok.status_code == 302
    with app.app_context():
        assert db.session.get(UnitRobot, org.units["class1"]).format == "json"
    client.post(f"/reminders/robots/{org.units['class1']}/delete", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(UnitRobot, org.units["class1"]) is None
