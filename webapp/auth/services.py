"""Authentication with a login throttle whose counts live in the database (shared by all workers)."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import LoginFailure, User
from ..models.base import utcnow


def _window_start():
    return utcnow() - timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])


def is_throttled(username: str, address: str) -> bool:
    failures = db.session.execute(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.username == username, LoginFailure.address == address,
            LoginFailure.at >= _window_start())).scalar_one()
    return failures >= current_app.config["LOGIN_MAX_FAILURES"]


def authenticate(username: str, password: str, address: str) -> User | None:
    """The user if the name and password match an active account; records failures otherwise."""
    user = db.session.execute(
        select(User).where(User.username == username).execution_options(unscoped=True)).scalar_one_or_none()
    if user is not None and user.active and user.check_password(password):
        db.session.execute(delete(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.address == address))
        db.session.commit()
        return user
    db.session.add(LoginFailure(username=username, address=address))
    # Old failures are useless once the window has passed; trimming here keeps the table small.
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < _window_start() - timedelta(days=1)))
    db.session.commit()
    return None


def set_locale(user: User, locale: str) -> None:
    """The user's own language preference (a setting, not a record of work: no audit entry)."""
    user.locale = locale
    db.session.commit()
