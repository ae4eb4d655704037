"""Configuration from the environment; nothing secret lives in code."""
import os
import secrets
from pathlib import Path


def _instance_secret(instance_path: str) -> str:
    """A per-installation key kept in instance/, so a dev site survives restarts without a committed secret."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load_config(instance_path: str) -> dict:
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'taizhang.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    development = env.get("FLASK_DEBUG") == "1" or env.get("TAIZHANG_ENV") == "development"
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": env.get("TAIZHANG_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": {"zh_Hans_CN": "简体中文", "en": "English"},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure outside development; browsers treat http://127.0.0.1 as secure, so local runs still work.
        "SESSION_COOKIE_SECURE": not development,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": not development,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_I18N_ENABLED": False,  # WTForms' messages come from the app's own catalogue (params.APP_CATALOGUE)
        # Server-side sessions (webapp/auth/sessions.py): idle timeout and absolute lifetime.
        "SESSION_IDLE_SECONDS": int(env.get("TAIZHANG_SESSION_IDLE_SECONDS", 2 * 3600)),
        "SESSION_ABSOLUTE_SECONDS": int(env.get("TAIZHANG_SESSION_ABSOLUTE_SECONDS", 12 * 3600)),
        "MAX_UPLOAD_BYTES": int(env.get("TAIZHANG_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)),
        "MAX_CONTENT_LENGTH": int(env.get("TAIZHANG_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)) + 1024 * 1024,
        "LOGIN_MAX_FAILURES": int(env.get("TAIZHANG_LOGIN_MAX_FAILURES", 5)),
        "LOGIN_WINDOW_SECONDS": int(env.get("TAIZHANG_LOGIN_WINDOW_SECONDS", 15 * 60)),
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("TAIZHANG_SQLITE_BUSY_TIMEOUT_MS", 15000)),
        # Semesters as (start month, start day, end month, end day); autumn runs into the next year.
        "SEMESTERS": {"spring": (3, 1, 7, 31), "autumn": (9, 1, 1, 31)},
        "TRUST_PROXY": env.get("TAIZHANG_TRUST_PROXY") == "1",
        # The JSON API's throttle: requests per token per window (counted in the database).
        "API_RATE_LIMIT": int(env.get("TAIZHANG_API_RATE_LIMIT", 120)),
        "API_RATE_WINDOW_SECONDS": int(env.get("TAIZHANG_API_RATE_WINDOW_SECONDS", 60)),
        # Reminders (`flask remind`): outgoing mail, links in digests, how early rows and obligations remind.
        "SMTP_URL": env.get("SMTP_URL", ""),
        "SMTP_FROM": env.get("SMTP_FROM", ""),
        "BASE_URL": env.get("TAIZHANG_BASE_URL", ""),
        "REMINDER_DUE_DAYS": int(env.get("TAIZHANG_REMINDER_DUE_DAYS", 7)),
        "REMINDER_OBLIGATION_DAYS": int(env.get("TAIZHANG_REMINDER_OBLIGATION_DAYS", 5)),
    }
