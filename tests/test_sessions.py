"""Server-side sessions (ASVS level 2, V3): logout ends the cookie everywhere, idle and absolute expiry on a
frozen clock, "end all other sessions", the __Host- cookie over HTTPS, the Secure language cookie."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from webapp.auth import sessions
from webapp.extensions import db
from webapp.models import UserSession

from .conftest import PASSWORD, csrf_token_from
from .statements import recorded_statements

# Over HTTPS Flask-WTF also checks that a POST comes from this site (Referer).
HTTPS = {"base_url": "https://taizhang.example", "headers": {"Referer": "https://taizhang.example/login"}}


class Clock:
    """The sessions' clock, moved by hand."""

    def __init__(self, monkeypatch):
        self.now = datetime(2026, 3, 2, 8, 0, 0)
        monkeypatch.setattr(sessions, "utcnow", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def log_in(client, username="staff1", **request):
    page = client.get("/login", **request)
    if page.status_code == 302:  # already logged in: the home page carries the token
        page = client.get("/", **request)
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}, **request)
    assert response.status_code == 302, response.status_code
    return response


def logged_in(client, **request) -> bool:
    return client.get("/", **request).status_code == 200


def session_rows(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(UserSession)).scalar_one()


def test_a_logged_out_cookie_is_refused_from_any_client(app, org):
    client = app.test_client()
    log_in(client)
    stolen = client.get_cookie("session").value
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get(f"/units/{org.units['faculty1']}/ledger")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert replay.get("/", headers={"HX-Request": "true"}).status_code == 401
    assert session_rows(app) == 0


def test_a_cookie_without_a_server_session_is_refused(app, org):
    """A cookie signed with the right key but naming no live session (e.g. signed 30 days ago) opens nothing."""
    client = app.test_client()
    log_in(client)
    with app.app_context():
        db.session.execute(db.delete(UserSession))
        db.session.commit()
    assert not logged_in(client)


def test_idle_timeout(app, org, clock):
    client = app.test_client()
    log_in(client)
    for _ in range(5):  # active every 1 h 59 min: 10 hours in all, still logged in
        clock.advance(hours=1, minutes=59)
        assert logged_in(client)
    clock.advance(hours=2, seconds=1)
    assert not logged_in(client)
    assert session_rows(app) == 0  # the expired row is gone


def test_absolute_lifetime(app, org, clock):
    client = app.test_client()
    log_in(client)
    for _ in range(11):  # never idle, 11 h 55 min in all
        clock.advance(hours=1, minutes=5)
        assert logged_in(client)
    clock.advance(minutes=6)  # 12 h 01 min after logging in
    assert not logged_in(client)
    log_in(client)  # a new login starts a new lifetime
    assert logged_in(client)


def test_timeouts_come_from_the_environment(monkeypatch, tmp_path):
    from webapp.config import load_config
    monkeypatch.setenv("TAIZHANG_SESSION_IDLE_SECONDS", "900")
    monkeypatch.setenv("TAIZHANG_SESSION_ABSOLUTE_SECONDS", "3600")
    config = load_config(str(tmp_path))
    assert (config["SESSION_IDLE_SECONDS"], config["SESSION_ABSOLUTE_SECONDS"]) == (900, 3600)
    monkeypatch.delenv("TAIZHANG_SESSION_IDLE_SECONDS")
    monkeypatch.delenv("TAIZHANG_SESSION_ABSOLUTE_SECONDS")
    config = load_config(str(tmp_path))
    assert (config["SESSION_IDLE_SECONDS"], config["SESSION_ABSOLUTE_SECONDS"]) == (2 * 3600, 12 * 3600)


def test_configured_idle_timeout_applies(app, org, clock, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_SECONDS", 15 * 60)
    client = app.test_client()
    log_in(client)
    clock.advance(minutes=14)
    assert logged_in(client)
    clock.advance(minutes=16)
    assert not logged_in(client)


def test_end_all_other_sessions_from_the_account_page(app, org):
    phone, laptop, here = app.test_client(), app.test_client(), app.test_client()
    other_user = app.test_client()
    for client in (phone, laptop, here):
        log_in(client)
    log_in(other_user, "staff2")
    page = here.get("/account")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<tr") == 1 + 3 and "当前浏览器" in html and "结束其他所有会话" in html
    response = here.post("/account/sessions/end-others", data={"csrf_token": csrf_token_from(html)})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert "已结束其他 2 个会话" in here.get("/account").get_data(as_text=True)
    assert logged_in(here) and logged_in(other_user)
    assert not logged_in(phone) and not logged_in(laptop)


def test_login_starts_a_new_session_and_the_old_cookie_stays_out(app, org):
    client = app.test_client()
    log_in(client)
    first = client.get_cookie("session").value
    log_in(client)
    assert client.get_cookie("session").value != first
    assert session_rows(app) == 2  # both live until logout or expiry; each is its own browser's


# ---- cookies -----------------------------------------------------------------------------------------

def _set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_session_cookie_is_host_prefixed_over_https(app, org):
    client = app.test_client()
    response = log_in(client, **HTTPS)
    cookies = _set_cookies(response)
    assert "session" not in cookies
    cookie = cookies["__Host-session"]
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie and "HttpOnly" in cookie
    assert logged_in(client, **HTTPS)


def test_session_cookie_over_plain_http_is_unchanged(app, org):
    cookies = _set_cookies(log_in(app.test_client()))
    assert "__Host-session" not in cookies and "session" in cookies


def test_language_cookie_is_secure_over_https_and_outside_development(app, org, monkeypatch):
    client = app.test_client()
    token = csrf_token_from(client.get("/login", **HTTPS).get_data(as_text=True))
    response = client.post("/language", data={"lang": "en", "next": "/", "csrf_token": token}, **HTTPS)
    assert "Secure" in _set_cookies(response)["lang"]
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)  # production over http on 127.0.0.1
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/language", data={"lang": "en", "next": "/", "csrf_token": token})
    assert "Secure" in _set_cookies(response)["lang"]


def test_htmx_401_sends_the_login_back_to_the_page(app, org, live_path="/units/2/ledger?plan=1"):
    client = app.test_client()
    response = client.get("/ledger/rows/1/edit", headers={"HX-Request": "true",
                                                          "HX-Current-URL": f"http://localhost{live_path}"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/units/2/ledger?plan%3D1"
    foreign = client.get("/", headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"})
    assert foreign.headers["HX-Redirect"] == "/login"


def test_empty_login_fields_get_a_message_beside_the_field(app, org):
    import lxml.html
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    tree = lxml.html.fromstring(response.get_data(as_text=True))
    assert tree.xpath("//label[input[@name='username']]/span[@class='field-error']/text()") == ["请输入登录名。"]
    assert tree.xpath("//label[input[@name='password']]/span[@class='field-error']/text()") == ["请输入密码。"]
    assert tree.xpath("//input[@name='username']/@aria-invalid") == ["true"]


# ---- the per-request floor: one SELECT for the session and its user, a touch at most once a minute ----------

def last_seen(app) -> datetime:
    with app.app_context():
        return db.session.execute(select(UserSession.last_seen_at)).scalar_one()


def session_statements(app, client, path="/reminders/bell") -> list[str]:
    with recorded_statements(app) as seen:
        assert client.get(path, headers={"HX-Request": "true"}).status_code == 200
    return seen


def test_the_session_is_touched_at_most_once_a_minute(app, org, clock):
    client = app.test_client()
    log_in(client)
    logged_in_at = clock.now
    clock.advance(seconds=59)
    seen = session_statements(app, client)
    assert not any(statement.startswith("UPDATE user_session") for statement in seen), seen
    assert last_seen(app) == logged_in_at  # no write within the minute
    clock.advance(seconds=1)
    seen = session_statements(app, client)
    assert [statement for statement in seen if statement.startswith("UPDATE")] == [
        next(statement for statement in seen if statement.startswith("UPDATE user_session"))]
    assert last_seen(app) == clock.now


def test_idle_timeout_holds_to_the_minute_without_a_write_per_request(app, org, clock):
    """Requests every 30 s keep the session alive (one touch a minute); then 2 h of silence after the last touch ends
    it, even though the last request came up to a minute after that touch."""
    client = app.test_client()
    log_in(client)
    for _ in range(6):
        clock.advance(seconds=30)
        assert logged_in(client)
    touched = last_seen(app)
    assert clock.now - touched < sessions.TOUCH_INTERVAL
    clock.now = touched + timedelta(hours=2) - timedelta(seconds=1)
    assert logged_in(client)  # touched again now: the idle clock restarts
    clock.advance(hours=2, seconds=1)
    assert not logged_in(client)


def test_the_session_and_the_user_are_one_select(app, org):
    client = app.test_client()
    log_in(client)
    seen = session_statements(app, client)
    loads = [statement for statement in seen if "user_session" in statement or "user_account" in statement]
    assert len(loads) == 1 and "JOIN user_session" in loads[0], seen


def test_a_deactivated_user_is_refused_at_once_even_within_the_touch_interval(app, org, clock):
    from webapp.models import User
    client = app.test_client()
    log_in(client)
    assert logged_in(client)  # the session was just touched: no write is due for a minute
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == "staff1")
                                  .execution_options(unscoped=True)).scalar_one()
        user.active = False  # even without the epoch bump the admin page makes
        db.session.commit()
    clock.advance(seconds=5)
    assert not logged_in(client)
    assert client.get("/reminders/bell", headers={"HX-Request": "true"}).status_code == 401


def test_a_password_reset_ends_the_session_at_once(app, org, clock):
    from webapp.models import User
    client = app.test_client()
    log_in(client)
    assert logged_in(client)
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == "staff1")
                                  .execution_options(unscoped=True)).scalar_one()
        user.session_epoch += 1
        db.session.commit()
    clock.advance(seconds=1)
    assert not logged_in(client)


# ---- the logged-in user: read with Core, handed over as the ORM user a query would have returned ------------

def _request_as(app, client, path="/"):
    """A request context carrying `client`'s session cookie (the login is resolved on first use)."""
    return app.test_request_context(path, headers={"Cookie": f"session={client.get_cookie('session').value}"})


def test_the_logged_in_user_is_a_clean_orm_user_of_the_request_session(app, org):
    from flask_login import current_user
    from sqlalchemy import inspect

    from webapp.models import Unit, User
    client = app.test_client()
    log_in(client)
    with _request_as(app, client), recorded_statements(app) as seen:
        user = current_user._get_current_object()
        assert type(user) is User and user.username == "staff1" and user.id == org.users["staff1"]
        state = inspect(user)
        assert state.persistent and state.session is db.session() and not state.modified and not state.unloaded
        assert user.unit.id == org.units["faculty1"] and type(user.unit) is Unit and inspect(user.unit).persistent
        assert user.unit.path and user.locale == "zh_Hans_CN" and user.active and user.session_epoch == 0
        assert db.session.get(User, user.id) is user  # in the identity map: no second load
        assert not db.session.dirty and not db.session.new
        db.session.remove()
    assert len(seen) == 1 and "JOIN user_session" in seen[0], seen


def test_the_logged_in_user_can_be_changed_and_related_like_any_loaded_user(app, org):
    """Services assign the user to relationships (who edited, who decided) and change it (the language): that
    works on the user as loaded, and flushes only what changed."""
    from flask_login import current_user

    from webapp.auth.services import set_locale
    from webapp.models import User
    client = app.test_client()
    log_in(client)
    with _request_as(app, client), recorded_statements(app) as seen:
        set_locale(current_user._get_current_object(), "en")
        db.session.remove()
    assert [statement.split(" SET ")[0] for statement in seen if not statement.startswith("SELECT")] == [
        "UPDATE user_account"], seen
    with app.app_context():
        assert db.session.get(User, org.users["staff1"]).locale == "en"


def test_a_user_already_in_the_session_is_the_one_handed_over(app, org):
    """As a query would: the object the session already holds, not a second copy of the same row."""
    from flask_login import current_user

    from webapp.models import User
    client = app.test_client()
    log_in(client)
    with _request_as(app, client):
        held = db.session.get(User, org.users["staff1"])
        assert current_user._get_current_object() is held
        db.session.remove()


# ---- the signed cookie: a cookie verified once is not verified again, with the same answer ------------------

def _open(app, cookie: str):
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}) as context:
        return dict(app.session_interface.open_session(app, context.request))


def test_a_cookie_opened_again_gives_the_same_session_and_expires_as_before(app, org, monkeypatch):
    import time as real_time
    client = app.test_client()
    log_in(client)
    cookie = client.get_cookie("session").value
    first = _open(app, cookie)
    assert first[sessions.SESSION_KEY] and first == _open(app, cookie)  # the second time from what was kept
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    now = real_time.time()
    monkeypatch.setattr(real_time, "time", lambda: now + lifetime + 2)  # itsdangerous reads the same clock
    assert _open(app, cookie) == {}  # too old, though it was kept
    monkeypatch.setattr(real_time, "time", lambda: now)
    assert _open(app, cookie) == first  # verified from scratch again


def test_a_kept_cookie_is_refused_once_the_key_changes_and_a_changed_one_always(app, org, monkeypatch):
    client = app.test_client()
    log_in(client)
    cookie = client.get_cookie("session").value
    assert _open(app, cookie)
    payload, _dot, signature = cookie.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert _open(app, forged) == {}
    monkeypatch.setattr(app, "secret_key", "another key")
    assert _open(app, cookie) == {}


def test_a_session_with_flashed_messages_is_not_kept(app, org):
    """flash() appends to the session's list in place: such a session is decoded anew for every request."""
    client = app.test_client()
    log_in(client)
    with client.session_transaction() as cookie_session:
        cookie_session["_flashes"] = [("info", "保存成功")]
    cookie = client.get_cookie("session").value
    assert _open(app, cookie)["_flashes"] == [("info", "保存成功")]
    serializer, opened = app.session_interface._signing(app)
    assert cookie not in opened
    assert "保存成功" in client.get("/").get_data(as_text=True)  # shown once, then gone
    assert "保存成功" not in client.get("/").get_data(as_text=True)


def test_the_session_row_read_through_the_cursor_is_what_sqlalchemy_reads(app, org):
    """The session-and-user SELECT goes through the DB-API cursor: the same values, of the same types (datetimes,
    booleans), as a Core execute of the same statement on either database."""
    client = app.test_client()
    log_in(client)
    with _request_as(app, client):
        token_hash = sessions._hash(_open(app, client.get_cookie("session").value)[sessions.SESSION_KEY])
        through_cursor = sessions._session_row(token_hash)
        through_core = tuple(db.session.connection().execute(sessions._SESSION_USER,
                                                              {"token_hash": token_hash}).one())
        assert sessions._session_row("no such session") is None
        db.session.remove()
    assert through_cursor == through_core
    assert [type(value) for value in through_cursor] == [type(value) for value in through_core]
    assert any(type(value) is bool for value in through_cursor) and type(through_cursor[1]) is datetime
