"""Login under attack: throttling across real gunicorn workers, fixation, open redirects, overlong input."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, text

from bench.sessions import fetch

from .conftest import PASSWORD, csrf_token_from

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def post_login(client, username: str, password: str, path: str = "/login"):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post(path, data={"username": username, "password": password, "csrf_token": token})


# ---- throttling holds across gunicorn workers ------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browserless:
    """One cookie jar; every request on a new connection, so the listening workers take turns."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = ""

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        answer = fetch(f"http://127.0.0.1:{self.port}", method, path, cookie=self.cookie, body=form)
        session = re.search(r"(session=[^;]+)", answer.headers.get("set-cookie") or "")
        if session:
            self.cookie = session.group(1)
        return answer.status, answer.text


def _wait_until_serving(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        assert server.poll() is None, f"gunicorn exited: {server.stderr.read().decode()[-2000:]}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start listening")


@contextmanager
def gunicorn_site(tmp_path, database_url: str | None = None, workers: int = 3):
    """A fresh site with one account ("target") served by gunicorn on a free port; yields the port."""
    env = {**os.environ, "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'taizhang.db'}",
           "SECRET_KEY": "hostile-" * 8, "TAIZHANG_INSTANCE": str(tmp_path / "instance"),
           # Plain http on 127.0.0.1 without a browser: the session cookie must not be Secure-only.
           "TAIZHANG_ENV": "development"}
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    for command in (["db", "upgrade"],
                    ["create-user", "--username", "target", "--name", "目标", "--role", "admin",
                     "--new-unit", "计算机学院党总支", "--password", PASSWORD]):
        done = subprocess.run(flask + command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    port = _free_port()
    # cwd=ROOT: gunicorn reads gunicorn.conf.py from there, as `make run` does.
    server = subprocess.Popen([str(BIN / "gunicorn"), "--workers", str(workers), "--threads", "4",
                               "--no-control-socket", "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_serving(port, server)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_throttle_holds_across_gunicorn_workers(tmp_path):
    with gunicorn_site(tmp_path) as port:
        visitor = Browserless(port)
        status, page = visitor.request("GET", "/login")
        assert status == 200
        token = csrf_token_from(page)
        statuses = [visitor.request("POST", "/login", {"username": "target", "password": f"wrong{attempt}",
                                                       "csrf_token": token})[0] for attempt in range(6)]
        assert statuses == [200] * 5 + [429]
        status, page = visitor.request("POST", "/login", {"username": "target", "password": PASSWORD,
                                                          "csrf_token": token})
        assert status == 429 and "登录失败次数过多" in page


def _database(request, tmp_path) -> str | None:
    if request.param == "sqlite":
        return None
    url = request.getfixturevalue("postgres_url").replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as conn:  # an empty database, as a new site has
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def site_database(request, tmp_path):
    return _database(request, tmp_path)


def test_a_burst_of_40_parallel_wrong_passwords_gets_at_most_5_checks(tmp_path, site_database):
    """40 wrong passwords for one name released at once against 3 gunicorn workers × 4 threads: every one
    beyond the 5th is a 429 without a password check; the database holds exactly 5 attempts."""
    with gunicorn_site(tmp_path, site_database) as port:
        visitor = Browserless(port)
        status, page = visitor.request("GET", "/login")
        token, cookie = csrf_token_from(page), visitor.cookie
        start = threading.Barrier(40)

        def attempt(number: int):
            start.wait()
            return fetch(f"http://127.0.0.1:{port}", "POST", "/login", cookie=cookie,
                         body={"username": "target", "password": f"wrong-{number}", "csrf_token": token})

        with ThreadPoolExecutor(max_workers=40) as pool:
            answers = list(pool.map(attempt, range(40)))
        statuses = sorted(answer.status for answer in answers)
        checked = [a for a in answers if a.status == 200 and "用户名或密码错误" in a.text]
        assert statuses == [200] * 5 + [429] * 35, statuses
        assert len(checked) == 5
        assert all("server" not in answer.headers for answer in answers), "the Server header names the software"
        engine = create_engine(site_database or f"sqlite:///{tmp_path / 'taizhang.db'}")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM login_failure")).scalar_one() == 5
        engine.dispose()
        # Still throttled for the right password too, and a different name from the same address is not.
        status, _page = visitor.request("POST", "/login", {"username": "target", "password": PASSWORD,
                                                          "csrf_token": token})
        assert status == 429


# ---- sessions ----------------------------------------------------------------------------------------

def test_session_cookie_changes_on_login_and_the_old_one_does_not_authenticate(app, org):
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("session").value
    assert post_login(client, "admin", PASSWORD).status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    planted = app.test_client()
    planted.set_cookie("session", before)
    response = planted.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# ---- open redirects ----------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/x", "/\\evil.example/x",
                                    "/\\/evil.example", "/\t/evil.example", "/\n/evil.example",
                                    "javascript:alert(1)", "http:/evil.example", " //evil.example"])
def test_login_never_redirects_off_site(app, org, target):
    client = app.test_client()
    response = post_login(client, "admin", PASSWORD, path="/login?" + urlencode({"next": target}))
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_language_switch_never_redirects_off_site(app, org):
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/language", data={"lang": "en", "next": "/\\evil.example", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_login_keeps_a_same_site_next(app, org):
    response = post_login(app.test_client(), "admin", PASSWORD, path="/login?next=/activities/%3Fmonth%3D2025-01")
    assert response.headers["Location"] == "/activities/?month=2025-01"


# ---- overlong and odd input --------------------------------------------------------------------------

@pytest.mark.parametrize("username, password", [("a" * 10_000, "b"), ("admin", "p" * 200_000), ("管" * 65, PASSWORD),
                                                ("admin\x00", PASSWORD), ("' OR 1=1 --", "' OR 1=1 --")])
def test_odd_login_input_is_refused_without_a_server_error(app, org, username, password):
    client = app.test_client()
    response = post_login(client, username, password, path="/login?next=" + "x" * 5000)
    assert response.status_code in (200, 400, 413, 429)
    assert client.get("/").status_code == 302  # not logged in


# ---- timing: an unknown name costs what a wrong password costs ----------------------------------------

def test_unknown_name_takes_as_long_as_a_wrong_password(app, org, monkeypatch):
    """Wrong passwords for a real name (two groups, A and B) and for unknown names, interleaved; the run's own
    noise is the gap between A and B. An unknown name must not stand out from a known one by more than that
    (or a quarter of a check). The real scrypt cost is used, so a missing dummy check shows as a ~90% gap."""
    import statistics
    import time as clock

    from webapp.extensions import db
    from webapp.models import User

    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", "scrypt")  # the production cost, dummy hash included
    with app.app_context():
        user = db.session.get(User, org.users["staff1"])
        user.set_password(PASSWORD)
        db.session.commit()
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    samples: dict[str, list[float]] = {"A": [], "B": [], "unknown": []}
    for round_number in range(9):
        for group in ("A", "unknown", "B"):
            name = "staff1" if group != "unknown" else f"nobody{round_number}"
            # A new address each time: the throttle (5 per name and address) stays out of the way.
            address = f"10.{round_number}.{len(samples[group])}.{'AuB'.index(group[0])}"
            started = clock.perf_counter()
            response = client.post("/login", data={"username": name, "password": "wrong-password",
                                                   "csrf_token": token}, environ_base={"REMOTE_ADDR": address})
            samples[group].append(clock.perf_counter() - started)
            assert response.status_code == 200 and "用户名或密码错误" in response.get_data(as_text=True)
    known = statistics.median(samples["A"] + samples["B"])
    noise = abs(statistics.median(samples["A"]) - statistics.median(samples["B"]))
    bound = max(3 * noise, 0.25 * known)
    gap = abs(statistics.median(samples["unknown"]) - known)
    assert gap <= bound, f"unknown names differ by {gap * 1000:.1f} ms from known ones (bound {bound * 1000:.1f} ms)"
