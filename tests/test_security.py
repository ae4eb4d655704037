"""Security headers, CSRF and the page frame."""
import pytest

from .conftest import PASSWORD


@pytest.mark.parametrize("path", ["/login", "/", "/static/css/app.css"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(client, login_as):
    login_as("admin")
    for path in ("/", "/login"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "<style" not in html
        for tag in html.split("<script")[1:]:
            assert "src=" in tag.split(">")[0]


def test_session_cookie_flags(app, org):
    client = app.test_client()
    from .test_auth import post_login
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        response = post_login(client, "admin", PASSWORD)
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_production_config_marks_cookies_secure(monkeypatch, tmp_path):
    from webapp.config import load_config
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("TAIZHANG_ENV", raising=False)
    assert load_config(str(tmp_path))["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("TAIZHANG_ENV", "development")
    assert load_config(str(tmp_path))["SESSION_COOKIE_SECURE"] is False


def test_login_post_without_csrf_token_is_refused(app, org):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_without_csrf_token_is_refused(client, login_as):
    login_as("admin")
    response = client.post("/logout", data={})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_htmx_header_token_is_accepted(client, login_as, csrf):
    login_as("admin")
    token = csrf(path="/")
    response = client.post("/logout", headers={"X-CSRFToken": token})
    assert response.status_code == 302


def test_page_frame_carries_csrf_for_htmx_and_pinned_htmx(client, login_as):
    login_as("staff1")
    html = client.get("/").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "/static/vendor/htmx-2.0.11.min.js" in html
    assert 'name="viewport"' in html


def test_htmx_is_the_pinned_2_0_release(app):
    from pathlib import Path
    source = (Path(app.static_folder) / "vendor" / "htmx-2.0.11.min.js").read_text()
    assert 'version:"2.0.11"' in source.replace(" ", "")


def test_csp_holds_no_unsafe_inline_styles(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp


def test_unknown_page_is_404_in_chinese(client, login_as):
    login_as("staff1")
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "页面或记录不存在" in response.get_data(as_text=True)
