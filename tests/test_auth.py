"""Login, logout, throttling, deactivation and session handling."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from webapp.extensions import db
from webapp.models import LoginFailure, User

from .conftest import PASSWORD, csrf_token_from


def post_login(client, username, password, **extra):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token}, **extra)


def test_login_page_is_chinese(client):
    html = client.get("/login").get_data(as_text=True)
    assert "登录台账系统" in html and 'name="username"' in html and 'name="password"' in html


def test_login_success_lands_on_role_home(client, org):
    response = post_login(client, "staff1", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "本单位台账" in home and "用户staff1" in home


def test_login_follows_safe_next_only(client, org):
    client.get("/login?next=/activities/")
    token = csrf_token_from(client.get("/login?next=/activities/").get_data(as_text=True))
    ok = client.post("/login?next=/activities/", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert ok.headers["Location"] == "/activities/"


def test_login_refuses_offsite_next(app, org):
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=//evil.example/x", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("username,password", [("staff1", "wrong"), ("nobody", PASSWORD)])
def test_failed_login_has_one_generic_message(client, org, username, password):
    response = post_login(client, username, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "用户名或密码错误。" in html
    assert client.get("/").status_code == 302  # still logged out


def test_throttle_after_five_failures_then_window_passes(app, client, org):
    for _ in range(5):
        assert post_login(client, "staff1", "wrong").status_code == 200
    blocked = post_login(client, "staff1", PASSWORD)
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    assert client.get("/").status_code == 302
    # Another name from the same address is not blocked.
    assert post_login(app.test_client(), "staff2", PASSWORD).status_code == 302
    # Once the window has passed, the right password works again.
    with app.app_context():
        db.session.execute(update(LoginFailure).values(at=LoginFailure.at - timedelta(minutes=16)))
        db.session.commit()
    assert post_login(client, "staff1", PASSWORD).status_code == 302


def test_successful_login_resets_failure_count(app, client, org):
    for _ in range(4):
        post_login(client, "staff1", "wrong")
    assert post_login(client, "staff1", PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.query(LoginFailure).filter_by(username="staff1").count() == 0


def test_throttle_counts_live_in_the_database(app, org):
    """Two app instances (think: two gunicorn workers) share the same count."""
    from webapp import create_app
    other = create_app({k: app.config[k] for k in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI")})
    for index in range(5):
        post_login((app if index % 2 else other).test_client(), "staff1", "wrong")
    assert post_login(other.test_client(), "staff1", PASSWORD).status_code == 429


def test_logout_ends_session(client, org):
    post_login(client, "staff1", PASSWORD)
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_logout_needs_post(client, org):
    post_login(client, "staff1", PASSWORD)
    assert client.get("/logout").status_code == 405


def test_deactivated_user_cannot_log_in_and_loses_session(app, client, org):
    assert post_login(client, "staff1", PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.get(User, org.users["staff1"])
        user.active = False
        db.session.commit()
    assert client.get("/").status_code == 302
    response = post_login(app.test_client(), "staff1", PASSWORD)
    assert "用户名或密码错误。" in response.get_data(as_text=True)


def test_session_epoch_bump_ends_old_sessions(app, client, org):
    post_login(client, "staff1", PASSWORD)
    with app.app_context():
        db.session.get(User, org.users["staff1"]).session_epoch += 1
        db.session.commit()
    assert client.get("/").status_code == 302


def test_new_session_on_login_no_fixation(client, org):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "attacker"
    post_login(client, "staff1", PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_passwords_are_hashed_with_scrypt(app, org):
    with app.app_context():
        user = db.session.get(User, org.users["staff1"])
        assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash


def test_unauthenticated_page_redirects_with_next(client):
    response = client.get("/activities/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/activities/")


def test_unauthenticated_htmx_gets_401_with_hx_redirect(client):
    response = client.get("/activities/", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"


def test_language_choice_is_kept_per_user(app, client, org):
    post_login(client, "staff1", PASSWORD)
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": token})
    assert "Our ledger" in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, org.users["staff1"]).locale == "en"
