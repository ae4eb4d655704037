"""The per-request floor (issue 14b): what every request pays around its route stays small and changes nothing
users see: WTForms' own messages in Chinese from the app's catalogue, the security headers, the input guard."""
from __future__ import annotations

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length


class _Sample(FlaskForm):
    class Meta:
        csrf = False

    count = IntegerField()
    day = DateField()
    choice = SelectField(choices=[SelectChoice("a", "A")])
    name = StringField(validators=[InputRequired(), Length(max=3)])


@pytest.mark.parametrize("locale, expected", [
    ("zh_Hans_CN", {"count": "不是有效的整数。", "day": "不是有效的日期。", "choice": "不是有效的选择。",
                    "name": "最多 3 个字符。"}),
    ("en", {"count": "Not a valid integer value.", "day": "Not a valid date value.", "choice": "Not a valid choice.",
            "name": "Field cannot be longer than 3 characters."}),
])
def test_wtforms_messages_come_from_the_app_catalogue(app, locale, expected):
    with app.test_request_context("/", method="POST", headers={"Cookie": f"lang={locale}"}):
        form = _Sample(formdata=MultiDict({"count": "x", "day": "2026-13-40", "choice": "b", "name": "长长长长"}))
        assert not form.validate()
        assert {name: errors[0] for name, errors in form.errors.items()} == expected
        from flask import request
        assert not hasattr(request, "wtforms_translations")  # WTForms' own catalogue was never read


def test_a_required_field_says_so_in_chinese(app):
    with app.test_request_context("/", method="POST"):
        form = _Sample(formdata=MultiDict({"count": "1", "day": "2026-03-02", "choice": "a"}))
        assert not form.validate()
        assert form.errors == {"name": ["此项为必填项。"]}


def test_i18n_of_wtforms_is_off_app_wide(app):
    assert app.config["WTF_I18N_ENABLED"] is False


def test_the_catalogue_kept_per_request_follows_force_locale(app):
    from flask_babel import force_locale, gettext
    with app.test_request_context("/"):
        assert gettext("This field is required.") == "此项为必填项。"
        with force_locale("en"):
            assert gettext("This field is required.") == "This field is required."
        assert gettext("This field is required.") == "此项为必填项。"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):  # a new request chooses anew
        assert gettext("This field is required.") == "This field is required."


def test_a_lazy_load_carries_each_scope_criterion_once_and_stays_scoped(app, org):
    """with_loader_criteria travel with objects into their lazy loads; the scope hook does not add them a second
    time (that doubled every subtree subquery), and a load of something outside the scope still finds nothing."""
    from flask import g
    from sqlalchemy import event, select

    from tests.ledger_factories import make_plan, rows_of
    from webapp import permissions
    from webapp.extensions import db
    from webapp.models import LedgerRow, User
    with app.app_context():
        ids = make_plan(org.units["general"], [org.units["faculty1"], org.units["foreign_branch"]], sections=1,
                        tasks_per_section=1)
    row_id, foreign_row_id = rows_of(ids, org.units["faculty1"])[0], rows_of(ids, org.units["foreign_branch"])[0]
    seen: list[str] = []
    with app.test_request_context("/"):
        user = db.session.get(User, org.users["staff1"])
        g._login_user = user
        permissions.activate_scope(user)
        row = db.session.execute(select(LedgerRow).where(LedgerRow.id == row_id)).scalar_one()
        assert db.session.execute(select(LedgerRow).where(LedgerRow.id == foreign_row_id)).scalar() is None
        engine = db.engine

        def note(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", note)
        try:
            assert row.task is not None
        finally:
            event.remove(engine, "before_cursor_execute", note)
    task_load = next(statement for statement in seen if statement.lstrip().startswith("SELECT plan_task."))
    assert task_load.count("plan_task.plan_id IN") == 1, task_load  # was 2: the criterion twice
    assert task_load.count("LIKE") <= 4, task_load  # was 18


def test_security_and_cache_headers_once_each(app, client):
    from webapp import CSP
    page = client.get("/login")
    static = client.get("/static/css/app.css")
    for response in (page, static):
        assert response.headers.getlist("Content-Security-Policy") == [CSP]
        assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]
        assert response.headers.getlist("X-Frame-Options") == ["DENY"]
        assert response.headers.getlist("Referrer-Policy") == ["same-origin"]
        assert "HX-Request" in response.headers["Vary"]
    assert page.headers.getlist("Cache-Control") == ["no-store"]
    assert "no-store" not in static.headers.get("Cache-Control", "")
    with app.test_request_context("/"):
        from flask import Response
        answer = app.process_response(Response("x", headers={"Cache-Control": "private, max-age=60",
                                                             "Vary": "Accept-Encoding"}))
    assert answer.headers.getlist("Cache-Control") == ["private, max-age=60"]  # a route's own choice stays
    assert answer.headers["Vary"].startswith("Accept-Encoding, HX-Request")


# ---- the CSRF token: signed once per session secret in a process, checked on every POST as before -------------

def _page_token(client, path="/"):
    from tests.conftest import csrf_token_from
    return csrf_token_from(client.get(path).get_data(as_text=True))


def _later(monkeypatch, seconds: int) -> None:
    import time
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + seconds)  # itsdangerous's timestamps come from here


def test_a_session_shows_one_signed_csrf_token_that_still_guards_every_post(app, client, org, login_as, monkeypatch):
    login_as("staff1")
    first = _page_token(client)  # Flask-WTF's own (it makes the session's secret), kept after the request
    _later(monkeypatch, 10)  # Flask-WTF alone would sign with another timestamp now
    assert _page_token(client, "/account") == first
    end_others = "/account/sessions/end-others"
    payload, _dot, signature = first.rpartition(".")
    broken = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert client.post(end_others, data={"csrf_token": broken}).status_code == 400
    assert client.post(end_others, data={}).status_code == 400
    assert client.post(end_others, data={"csrf_token": first}).status_code == 302


def test_a_new_login_brings_a_new_csrf_token_and_the_old_one_is_refused(app, org):
    from tests.test_sessions import log_in
    client = app.test_client()
    log_in(client)
    old = _page_token(client)
    log_in(client)  # a login starts a fresh session: a new CSRF secret
    new = _page_token(client)
    assert new != old
    end_others = "/account/sessions/end-others"
    assert client.post(end_others, data={"csrf_token": old}).status_code == 400
    assert client.post(end_others, data={"csrf_token": new}).status_code == 302


def test_with_a_time_limit_every_token_is_signed_anew(app, client, org, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 3600)
    login_as("staff1")
    _page_token(client)
    first = _page_token(client)
    _later(monkeypatch, 10)
    assert _page_token(client) != first


def test_a_session_read_but_not_changed_varies_on_cookie_and_sets_none(app, client, org, login_as):
    login_as("staff1")
    client.get("/")  # the session gets its CSRF secret (a change: the cookie is set again)
    answer = client.get("/")
    assert answer.headers["Vary"] == "HX-Request, Cookie" and "Set-Cookie" not in answer.headers
    with app.test_request_context("/"):  # a changed session: Flask's own way, the cookie set
        from flask import Response, session
        session["x"] = "1"
        response = app.process_response(Response("x", headers={"Vary": "Accept-Encoding"}))
    assert response.headers["Vary"] == "Accept-Encoding, HX-Request, Cookie" and "session=" in response.headers["Set-Cookie"]


def test_any_valid_signed_token_of_the_session_passes_and_no_other(app, org, monkeypatch):
    """The token this process issued is compared; one signed elsewhere (another worker, an older page) is
    verified by Flask-WTF as before; another session's token, a broken one or a non-ASCII one is refused."""
    import time

    from itsdangerous import URLSafeTimedSerializer

    from tests.test_sessions import log_in
    mine, theirs = app.test_client(), app.test_client()
    log_in(mine)
    log_in(theirs, "staff2")
    their_token, issued = _page_token(theirs), _page_token(mine)
    with mine.session_transaction() as cookie_session:
        secret = cookie_session["csrf_token"]
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 600)
    elsewhere = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(secret)
    monkeypatch.setattr(time, "time", lambda: now)
    assert elsewhere != issued
    end_others = "/account/sessions/end-others"
    payload, _dot, signature = issued.rpartition(".")  # (a signature's last character carries padding bits)
    broken = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    for refused in (their_token, broken, "令牌" + issued, ""):
        assert mine.post(end_others, data={"csrf_token": refused}).status_code == 400, refused
    assert mine.post(end_others, data={"csrf_token": elsewhere}).status_code == 302
    assert mine.post(end_others, headers={"X-CSRFToken": issued}).status_code == 302


def test_over_https_the_issued_token_still_needs_a_same_site_referrer(app, org):
    from tests.test_sessions import HTTPS, log_in
    client = app.test_client()
    log_in(client, **HTTPS)
    token = _page_token(client, "https://taizhang.example/account")
    end_others = "https://taizhang.example/account/sessions/end-others"
    assert client.post(end_others, data={"csrf_token": token}).status_code == 400  # no referrer
    assert client.post(end_others, data={"csrf_token": token},
                       headers={"Referer": "https://evil.example/"}).status_code == 400
    assert client.post(end_others, data={"csrf_token": token},
                       headers={"Referer": "https://taizhang.example/account"}).status_code == 302


@pytest.mark.parametrize("lang, title", [("zh_Hans_CN", "登录已过期"), ("en", "Your session has ended")])
def test_the_relogin_dialog_is_what_rendering_its_template_gives(app, org, login_as, client, lang, title):
    """The dialog is rendered once per language and its per-page slots filled in: the same HTML as a render."""
    from flask import render_template
    from flask_login import current_user

    from webapp.auth.routes import relogin_dialog, relogin_slots
    from webapp.extensions import db
    login_as("staff1")
    cookie = client.get_cookie("session").value
    for path in ("/", "/reminders/"):
        with app.test_request_context(path, headers={"Cookie": f"session={cookie}"}):
            current_user.locale = lang  # the user's own choice decides the language (not saved)
            dialog = str(relogin_dialog())
            assert title in dialog and dialog == render_template("auth/_relogin.html", slots=relogin_slots())
            db.session.remove()
    page = client.get("/reminders/").get_data(as_text=True)
    assert 'value="staff1"' in page and 'href="/login?next=/reminders/"' in page and "RELOGIN-SLOT" not in page


def test_a_page_rendered_after_the_session_is_cleared_carries_a_token_of_the_new_session(app, org):
    """The token put in `g` for the old session's secret is forgotten with the session (login and logout clear it
    and redirect today; a page rendered in the same request must still get a token its POST can use)."""
    from flask import g, session
    from flask_wtf.csrf import generate_csrf, validate_csrf
    from webapp.csrf import forget_csrf_token, prepare_csrf_token
    with app.test_request_context("/"):
        app.preprocess_request()
        generate_csrf()
        session["csrf_token"] = session["csrf_token"]  # the old session's secret, its token in g
        prepare_csrf_token()
        old = g.csrf_token
        session.clear()
        forget_csrf_token()
        new = generate_csrf()
        assert new != old
        validate_csrf(new)  # raises if the token does not belong to the session's (new) secret
