"""Authentication with a login throttle whose counts live in the database (shared by all workers and servers).

Every password check is reserved first: one INSERT that adds an attempt only while fewer than the limit
exist for the name and address in the window, committed before the hash is checked. However many
requests arrive at once, at most LOGIN_MAX_FAILURES of them get a reservation, so at most that many
passwords are checked. A reservation stays as the failure record unless the password was right.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, delete, func, insert, literal, select, text
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import LoginFailure, User
from ..models.base import utcnow


def _window_start():
    return utcnow() - timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])


def _serialise_per_name(username: str, address: str) -> None:
    """On PostgreSQL, concurrent reservations for one name and address queue on an advisory lock (released at
    commit), so the count they read is the one they insert after. SQLite's write lock does this by itself."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"{username}\x00{address}".encode()).digest()[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def reserve_attempt(username: str, address: str) -> bool:
    """Record one login attempt if the throttle allows it; False when throttled (nothing recorded)."""
    now = utcnow()
    _serialise_per_name(username, address)
    recent = (select(func.count(LoginFailure.id))
              .where(LoginFailure.username == username, LoginFailure.address == address,
                     LoginFailure.at >= now - timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"]))
              .scalar_subquery())
    statement = insert(LoginFailure).from_select(
        ["username", "address", "at"],
        select(literal(username), literal(address), literal(now))
        .where(recent < bindparam("limit", current_app.config["LOGIN_MAX_FAILURES"]))).returning(LoginFailure.id)
    # RETURNING, not rowcount: an ORM-enabled INSERT … SELECT reports no rowcount on psycopg.
    inserted = db.session.execute(statement).scalar_one_or_none() is not None
    db.session.commit()
    return inserted


def is_throttled(username: str, address: str) -> bool:
    failures = db.session.execute(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.username == username, LoginFailure.address == address,
            LoginFailure.at >= _window_start())).scalar_one()
    return failures >= current_app.config["LOGIN_MAX_FAILURES"]


@lru_cache(maxsize=8)
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not a password anyone has", method=method)


def _check(user: User | None, password: str) -> bool:
    """The password check, as costly for an unknown or inactive name as for a known one (no timing oracle)."""
    if user is None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        check_password_hash(_dummy_hash(method), password)
        return False
    return user.check_password(password) and user.active


def authenticate(username: str, password: str, address: str) -> User | None:
    """The user if the name and password match an active account. The caller reserved the attempt."""
    user = db.session.execute(
        select(User).where(User.username == username).execution_options(unscoped=True)).scalar_one_or_none()
    if _check(user, password):
        db.session.execute(delete(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.address == address))
        db.session.commit()
        return user
    # The reservation is the failure record. Old ones are useless once the window has passed.
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < _window_start() - timedelta(days=1)))
    db.session.commit()
    return None


def set_locale(user: User, locale: str) -> None:
    """The user's own language preference (a setting, not a record of work: no audit entry)."""
    user.locale = locale
    db.session.commit()
