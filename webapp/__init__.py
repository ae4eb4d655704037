"""Application factory."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any, Mapping

from babel import Locale
from flask import Flask, has_request_context, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import load_config
from .extensions import babel, csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Defaults from the environment, then the optional `config` mapping (tests pass theirs)."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"),
                instance_path=os.environ.get("TAIZHANG_INSTANCE", str(ROOT / "instance")))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "translations"))
    _queue_sqlite_writers(app)
    _no_silent_cuts()
    if app.config.get("TRUST_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)

    from .params import BoundedIntConverter, install_form_guards
    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    install_form_guards()  # file parts only for file fields, bounded numbers and dates, in every form

    from . import permissions  # noqa: F401  (registers the scope hook and the unauthorized handler)
    from .activities import counters  # noqa: F401  (keeps activity_counter in step with every flush)
    from .auth import load_user  # noqa: F401
    from .auth.sessions import HostPrefixedSessionInterface
    app.session_interface = HostPrefixedSessionInterface()
    _register_blueprints(app)
    _register_request_hooks(app)
    # After the scope hook: a refused token renders an error page for a logged-in user, which needs the scope.
    csrf.init_app(app)
    from . import clock, delivery
    clock.register(app)
    delivery.init_app(app)
    from . import templating
    templating.init_app(app)  # `_()` and `url_for` in templates at a fraction of their generic cost

    from .cli import register_cli
    register_cli(app)
    return app


def _queue_sqlite_writers(app: Flask) -> None:
    """SQLite write transactions wait for each other on a file lock (see sqlite_queue.py)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from .sqlite_queue import QueuedWriteConnection
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = {"factory": QueuedWriteConnection, **options.get("connect_args", {})}
    # A file has no server that could drop the connection: no "SELECT 1" before every request's first statement.
    options["pool_pre_ping"] = False
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _no_silent_cuts() -> None:
    """WTForms writes a Length validator's max as maxlength, and browsers then cut pasted text without a word.
    Inputs carry no maxlength; the server answers text over the limit with a message beside the field."""
    from wtforms.widgets import core
    for widget in vars(core).values():
        attrs = getattr(widget, "validation_attrs", None)
        if isinstance(widget, type) and isinstance(attrs, list) and "maxlength" in attrs:
            widget.validation_attrs = [name for name in attrs if name != "maxlength"]


def _select_locale() -> Locale:
    from flask import current_app
    config = current_app.config
    languages = config["LANGUAGES"]
    user = current_user._get_current_object()  # None outside a request (e-mails choose theirs with force_locale)
    if user is not None and user.is_authenticated and user.locale in languages:
        name = user.locale
    else:
        chosen = request.cookies.get("lang") if has_request_context() else None
        name = chosen if chosen in languages else config["BABEL_DEFAULT_LOCALE"]
    # Flask-Babel parses the name in every request; a Locale is immutable once parsed: parse each name once.
    locale = _LOCALES.get(name)
    if locale is None:
        locale = _LOCALES[name] = Locale.parse(name)
    return locale


_LOCALES: dict[str, Locale] = {}


def _register_blueprints(app: Flask) -> None:
    from .activities.routes import bp as activities_bp
    from .admin.routes import bp as admin_bp
    from .api.account import bp as api_account_bp
    from .api.routes import bp as api_bp
    from .auth.routes import bp as auth_bp
    from .errors.handlers import bp as errors_bp
    from .ledger.routes import bp as ledger_bp
    from .main.routes import bp as main_bp
    from .plans.routes import bp as plans_bp
    from .prereview.routes import bp as prereview_bp
    from .reminders.routes import bp as reminders_bp
    from .reports.routes import bp as reports_bp

    for bp in (auth_bp, main_bp, admin_bp, plans_bp, ledger_bp, activities_bp, reports_bp, reminders_bp, errors_bp):
        app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_account_bp)
    app.register_blueprint(prereview_bp)


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


SECURITY_HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "same-origin"))
_SECURITY_NAMES = frozenset(name.lower() for name, _value in SECURITY_HEADERS)


def _register_request_hooks(app: Flask) -> None:
    from .api.errors import is_api_path
    from .csrf import keep_issued_csrf_token, prepare_csrf_token
    from .htmx import add_vary_header
    from .params import refuse_malformed_input
    from .permissions import activate_scope, authenticate_bearer

    def _scope_for_user():
        if request.routing_exception is not None and is_api_path(request.path):
            # An unknown API URL or method: its JSON 404/405 at once, before a session, a token or a CSRF check.
            raise request.routing_exception
        authenticate_bearer()  # an API request with a token acts as the token's user (no cookie session)
        user = current_user._get_current_object()  # the login resolved here, once; the proxy not asked again
        if user.is_authenticated:
            activate_scope(user)

    # Before every other hook, CSRFProtect's included: the scope (so any error page, e.g. a 400 below or a CSRF
    # refusal, renders scoped), then the input guard (invalid UTF-8 and control characters are a 400; NUL:
    # PostgreSQL cannot even compare it), which must see the raw body before the form is parsed.
    # Then the session's signed CSRF token, if this process has signed it before (no HMAC per page).
    app.before_request_funcs.setdefault(None, [])[:0] = [_scope_for_user, refuse_malformed_input, prepare_csrf_token]

    app.after_request(keep_issued_csrf_token)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        present = {name.lower() for name, _value in headers.items()}
        # One set of the names present answers every question below (Headers.get scans the whole list per call).
        headers.extend(SECURITY_HEADERS if present.isdisjoint(_SECURITY_NAMES) else
                       [(name, value) for name, value in SECURITY_HEADERS if name.lower() not in present])
        if "cache-control" not in present and request.endpoint != "static":
            headers.add("Cache-Control", "no-store")
        if "vary" not in present:
            headers.add("Vary", "HX-Request")
            return response
        return add_vary_header(response)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL and a busy timeout so concurrent gunicorn workers wait instead of failing."""
    if isinstance(dbapi_connection, sqlite3.Connection):  # also our QueuedWriteConnection subclass
        from flask import current_app, has_app_context
        timeout = current_app.config["SQLITE_BUSY_TIMEOUT_MS"] if has_app_context() else 15000
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
