"""Fixtures: one migrated database per test session, emptied after every test.

The database is SQLite in a temporary folder unless TEST_DATABASE_URL names another
(CI runs the suite a second time against PostgreSQL that way). Under pytest-xdist (`make test` runs
`-n auto`) every worker is its own process with its own app, SQLite file, live server and browser;
on PostgreSQL each worker gets its own database beside the one named (`<name>_gw0`, …).
"""
from __future__ import annotations

import os
import re
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from webapp import create_app
from webapp.auth.sessions import SESSION_KEY, start_session
from webapp.extensions import db
from webapp.models import Unit, User
from webapp.org import add_unit, add_user

from .api_contract import api_answers_follow_the_document  # noqa: F401  (every API answer checked against its document)

PASSWORD = "test-pass-2023"
WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", … under pytest-xdist; None in a plain run


def per_worker_database(url: str) -> str:
    """`url` itself in a plain run; under pytest-xdist a new empty database `<name>_<worker>` on the same server
    (the role needs CREATEDB, as scripts/pg-temp gives it), so workers never share tables."""
    if not WORKER:
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    base = make_url(url)
    name = f"{base.database}_{WORKER}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _database_url(tmp: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    return per_worker_database(url) if url else f"sqlite:///{tmp / 'test.db'}"


@pytest.fixture(scope="session")
def app():
    tmp = Path(tempfile.mkdtemp(prefix="taizhang-test-"))
    os.environ["TAIZHANG_INSTANCE"] = str(tmp / "instance")
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": _database_url(tmp),
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        # Still scrypt, with a small work factor so fixtures with many users stay fast.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    })
    with app.app_context():
        from flask_migrate import downgrade, upgrade
        if db.engine.dialect.name == "postgresql":
            downgrade(revision="base")  # a reused CI database starts from empty too
        upgrade()
    yield app


@pytest.fixture(autouse=True)
def _clean_database(request):
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from webapp.activities import rollups
    rollups.cache.clear()  # the next test's database starts over (its stamps too)
    from webapp.reports import ledger_rollups, queries
    ledger_rollups.cache.clear()
    queries.clear_subtrees()
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            with db.engine.begin() as conn:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Org:
    """A small college plus a second, foreign one: units and one user per role, keyed by name."""

    def __init__(self):
        self.units: dict[str, Unit] = {}
        self.users: dict[str, User] = {}

    def unit(self, key: str) -> Unit:
        return db.session.get(Unit, self.units[key])

    def user(self, key: str) -> User:
        return db.session.get(User, self.users[key])


@pytest.fixture
def org(app):
    """college → faculty1, student1 → class1, class2; student2 → class3; and a foreign college."""
    result = Org()
    with app.app_context():
        general = add_unit("计算机学院党总支", "general")
        units = {"general": general}
        units["faculty1"] = add_unit("教工第一党支部", "branch", general, "faculty")
        units["student1"] = add_unit("学生第一党支部", "branch", general, "student")
        units["student2"] = add_unit("学生第二党支部", "branch", general, "student")
        units["class1"] = add_unit("2023级计算机1班", "class", units["student1"])
        units["class2"] = add_unit("2023级计算机2班", "class", units["student1"])
        units["class3"] = add_unit("2023级网络工程1班", "class", units["student2"])
        units["foreign"] = add_unit("外国语学院党总支", "general")
        units["foreign_branch"] = add_unit("外语学生党支部", "branch", units["foreign"], "student")
        users = {
            "admin": ("admin", "general"), "secretary": ("secretary", "general"),
            "staff1": ("staff", "faculty1"), "staff2": ("staff", "student1"), "staff3": ("staff", "student2"),
            "monitor1": ("monitor", "class1"), "monitor3": ("monitor", "class3"),
            "foreign_admin": ("admin", "foreign"), "foreign_staff": ("staff", "foreign_branch"),
        }
        for name, (role, unit_key) in users.items():
            user = add_user(name, f"用户{name}", role, units[unit_key], PASSWORD)
            result.users[name] = user.id
        db.session.commit()
        result.units = {key: unit.id for key, unit in units.items()}
    return result


@pytest.fixture
def login_as(app, client, org):
    """Log the test client in as one of the org's users (by key) without the cost of a password check."""
    def _login(key: str, target=None):
        target = target or client
        with app.app_context():
            user = db.session.get(User, org.users[key])
            session_id, token = user.get_id(), start_session(user)  # a live server-side session, as login makes
        with target.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
            session[SESSION_KEY] = token
        return target
    return _login


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


@pytest.fixture
def csrf(client):
    """A CSRF token valid for the test client's session (fetch a page first, then post with it)."""
    def _token(target=None, path="/login"):
        return csrf_token_from((target or client).get(path).get_data(as_text=True))
    return _token


# ---- live server and browser ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def live_server(app):
    """The app on a free port at 127.0.0.1, sharing the test database."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(items):
    """Every test that opens Chromium is a browser test (`-m "not browser"` leaves them all out)."""
    for item in items:
        if {"browser", "page"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    # No skip: a missing Chromium is a set-up error that must fail loudly (README: apt install chromium).
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}: apt-get install chromium fonts-wqy-microhei"
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@contextmanager
def open_page(browser, **context_options):
    """A page in a fresh browser context; `page.js_errors` collects uncaught errors and console errors."""
    context = browser.new_context(locale="zh-CN", **{"viewport": {"width": 1280, "height": 900}, **context_options})
    page = context.new_page()
    page.set_default_timeout(10000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser):
    with open_page(browser) as page:
        yield page


def browser_login(page, base_url: str, username: str, password: str = PASSWORD):
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL database: TEST_POSTGRES_URL if given (CI), else a throwaway cluster (needs apt postgresql)."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        yield per_worker_database(url)
        return
    import socket
    import subprocess
    root = Path(tempfile.mkdtemp(prefix="taizhang-pg-"))
    root.chmod(0o755)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = Path(__file__).resolve().parent.parent / "scripts" / "pg-temp"
    result = subprocess.run([str(script), "start", str(root / "pg"), str(port)], capture_output=True, text=True)
    assert result.returncode == 0, f"could not start PostgreSQL: {result.stderr.strip()}"
    yield result.stdout.strip()
    subprocess.run([str(script), "stop", str(root / "pg")], capture_output=True)
