"""Server-side sessions (OWASP ASVS level 2, V3): the signed cookie only names a random token.

A session is valid while its `user_session` row exists, it was used within the idle timeout and it
is younger than the absolute lifetime. Logging out deletes the row, so a copied cookie is refused
from then on, from any client. Only the token's SHA-256 is stored: a database dump opens no session.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import Unit, User, UserSession
from ..models.base import utcnow

SESSION_KEY = "_sid"
# Verified session cookies kept per process (see open_session): plenty for every browser of a campus.
_OPENED_KEPT = 4096
_PLAIN = (str, int, bool, float, type(None))
# last_seen_at is written at most this often per session: an idle timeout in hours needs no write per request.
TOUCH_INTERVAL = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _limits() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return timedelta(seconds=config["SESSION_IDLE_SECONDS"]), timedelta(seconds=config["SESSION_ABSOLUTE_SECONDS"])


def _expired_criteria(now: datetime):
    idle, absolute = _limits()
    return or_(UserSession.last_seen_at < now - idle, UserSession.created_at < now - absolute)


def start_session(user: User) -> str:
    """A new server-side session for `user`; returns the token to keep in the (signed) cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # Expired rows are useless: removing them here keeps the table as small as the number of live sessions.
    db.session.execute(delete(UserSession).where(_expired_criteria(now)))
    db.session.add(UserSession(token_hash=_hash(token), user_id=user.id, created_at=now, last_seen_at=now))
    db.session.commit()
    return token


def login_session(user: User) -> None:
    """Put a fresh server-side session for `user` into the cookie (the caller has cleared the old one)."""
    session[SESSION_KEY] = start_session(user)


class SessionTimes(NamedTuple):
    """What the request keeps of its session row: which one, and when it began and was last used."""
    id: int
    created_at: datetime
    last_seen_at: datetime


# One statement per request for the session, its user and the user's unit, on the session's connection. It is
# compiled once per dialect and sent through the DB-API cursor, its values passed through the columns' own result
# processors (an ORM SELECT with its joined load cost ~8x as much, a Core execute ~3x: both rebuild an execution
# context per call). user_session and the login user are no unit-owned rows the scope could filter (the scope is
# set from this very user afterwards); no ORM hook sees a statement on the connection.
_USER_COLUMNS = tuple((prop.key, prop.columns[0]) for prop in User.__mapper__.column_attrs)
_UNIT_COLUMNS = tuple((prop.key, prop.columns[0]) for prop in Unit.__mapper__.column_attrs)
_USER_TABLE, _UNIT_TABLE, _SESSION_TABLE = User.__table__, Unit.__table__, UserSession.__table__
_SESSION_USER = (
    select(_SESSION_TABLE.c.id, _SESSION_TABLE.c.created_at, _SESSION_TABLE.c.last_seen_at,
           *(column for _key, column in _USER_COLUMNS), *(column for _key, column in _UNIT_COLUMNS))
    .select_from(_USER_TABLE.join(_SESSION_TABLE, _SESSION_TABLE.c.user_id == _USER_TABLE.c.id)
                 .join(_UNIT_TABLE, _UNIT_TABLE.c.id == _USER_TABLE.c.unit_id))
    .where(_SESSION_TABLE.c.token_hash == bindparam("token_hash")))
_USER_AT = slice(3, 3 + len(_USER_COLUMNS))
_USER_KEYS = tuple(key for key, _column in _USER_COLUMNS)
_UNIT_KEYS = tuple(key for key, _column in _UNIT_COLUMNS)
_USER_ID_AT = _USER_KEYS.index("id")
_UNIT_AT = slice(_USER_AT.stop, None)


class _Compiled(NamedTuple):
    sql: str
    positional: bool
    processors: tuple  # per column: the type's result processor for this dialect, or None


_COMPILED: dict[tuple, _Compiled] = {}


def _compiled(dialect) -> _Compiled:
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    compiled = _COMPILED.get(key)
    if compiled is None:
        statement = _SESSION_USER.compile(dialect=dialect)
        assert list(statement.construct_params({"token_hash": ""})) == ["token_hash"], statement.params
        compiled = _COMPILED[key] = _Compiled(
            str(statement), dialect.positional,
            tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                  for column in _SESSION_USER.selected_columns))
    return compiled


def _session_row(token_hash: str) -> tuple | None:
    """The row of _SESSION_USER for this token hash, with the values SQLAlchemy would give (datetimes, booleans).
    Listeners of the engine's cursor events (the statement counts of tests and bench) see the statement as usual.
    A driver error propagates as the driver's own exception (the request fails with a 500, as it would anyway; the
    pool drops a broken connection when it is returned, and PostgreSQL's pre-ping tests it before the next use)."""
    connection = db.session.connection()
    compiled = _compiled(connection.dialect)
    parameters = (token_hash,) if compiled.positional else {"token_hash": token_hash}
    cursor = connection.connection.cursor()
    try:
        for listener in connection.dispatch.before_cursor_execute:
            listener(connection, cursor, compiled.sql, parameters, None, False)
        cursor.execute(compiled.sql, parameters)
        row = cursor.fetchone()
        for listener in connection.dispatch.after_cursor_execute:
            listener(connection, cursor, compiled.sql, parameters, None, False)
    finally:
        cursor.close()
    if row is None:
        return None
    return tuple(value if process is None or value is None else process(value)
                 for value, process in zip(row, compiled.processors))


def _as_loaded(model, keys, values):
    """The object the ORM would have loaded from these column values, persistent and clean in the request's
    session, without another statement (`make_transient_to_detached`, then `add`); the one already in the session
    if it is there (as a query would return it)."""
    session = db.session()
    mapper = model.__mapper__
    values = dict(zip(keys, values))
    existing = session.identity_map.get(mapper.identity_key_from_primary_key((values["id"],)))
    if existing is not None:
        return existing
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)  # as the loader does: committed values, no attribute events
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def _user_with_unit(found) -> User:
    user = _as_loaded(User, _USER_KEYS, found[_USER_AT])
    if "unit" not in user.__dict__:
        # Set after both are in the session, as the joined load does: no cascade walks from one to the other.
        set_committed_value(user, "unit", _as_loaded(Unit, _UNIT_KEYS, found[_UNIT_AT]))
    return user


def session_user(user_id: int) -> User | None:
    """The user of the live session the cookie names, if it is `user_id`'s, in one SELECT; the session is touched
    (at most once per TOUCH_INTERVAL). None if the session is missing, foreign or expired (an expired row is
    deleted). Whether the user may still use it (active, epoch) is the caller's decision. The user is an ORM `User`
    in the request's session with its unit loaded, as a query would have returned it."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        return None
    found = _session_row(_hash(token))
    if found is None:
        return None
    times = SessionTimes(*found[:3])
    user_values = found[_USER_AT]
    if user_values[_USER_ID_AT] != user_id:
        return None
    now = utcnow()
    idle, absolute = _limits()
    if times.last_seen_at < now - idle or times.created_at < now - absolute:
        db.session.execute(delete(UserSession).where(UserSession.id == times.id))
        db.session.commit()
        return None
    g.user_session = times  # for the page's script: when this session would end if left alone
    # The idle timeout is in hours: last_seen_at is written when it is a minute old, not on every request, so a
    # session idles out at most TOUCH_INTERVAL early and a busy user costs one UPDATE a minute.
    if now - times.last_seen_at >= TOUCH_INTERVAL:
        db.session.execute(update(UserSession).where(UserSession.id == times.id).values(last_seen_at=now))
        db.session.commit()
    return _user_with_unit(found)


def seconds_left() -> int:
    """How long the current session lives at most (its absolute end; idling ends it sooner)."""
    record = g.get("user_session")
    if record is None:
        return 0
    _idle, absolute = _limits()
    return max(0, int((record.created_at + absolute - utcnow()).total_seconds()))


def end_current_session() -> None:
    token = session.get(SESSION_KEY)
    if isinstance(token, str) and token:
        db.session.execute(delete(UserSession).where(UserSession.token_hash == _hash(token)))
        db.session.commit()


def end_other_sessions(user: User) -> int:
    """Delete every session of `user` except the one this request came with; returns how many ended."""
    token = session.get(SESSION_KEY)
    keep = _hash(token) if isinstance(token, str) else ""
    result = db.session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                                          UserSession.token_hash != keep))
    db.session.commit()
    return result.rowcount


def live_sessions(user: User) -> list[UserSession]:
    now = utcnow()
    return list(db.session.execute(
        select(UserSession).where(UserSession.user_id == user.id, ~_expired_criteria(now))
        .order_by(UserSession.last_seen_at.desc())).scalars())


def is_current(record: UserSession) -> bool:
    token = session.get(SESSION_KEY)
    return isinstance(token, str) and record.token_hash == _hash(token)


# ---- the cookie ------------------------------------------------------------------------------------

def _https() -> bool:
    return has_request_context() and request.is_secure


def cookie_secure() -> bool:
    """Cookies are Secure over HTTPS, and outside development (browsers treat http://127.0.0.1 as secure)."""
    return _https() or bool(current_app.config["SESSION_COOKIE_SECURE"])


class HostPrefixedSessionInterface(SecureCookieSessionInterface):
    """Over HTTPS the session cookie is `__Host-session`: Secure, Path=/ and no Domain, so neither a sibling
    subdomain nor a plain-http page can set or overwrite it. Over plain http it stays `session`."""

    def get_signing_serializer(self, app):
        return self._signing(app)[0]

    def _signing(self, app) -> tuple:
        """The serializer and the cookies it opened, for the app's current keys. Flask builds a new serializer for
        every request; it depends on the keys only, so keep one per key set (new keys: nothing opened yet)."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = getattr(self, "_serializer", None)
        if cached is None or cached[0] != keys:
            cached = self._serializer = (keys, (super().get_signing_serializer(app), {}))
        return cached[1]

    def open_session(self, app, request):
        """Flask's, except that a cookie this process has verified before is not verified and decoded again: the
        same string signed with the same keys, so the same answer (its age is still checked against the lifetime).
        Sessions holding anything but plain values (a list of flashed messages) are decoded every time, since the
        request may change them in place."""
        serializer, opened = self._signing(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = opened.get(value)
        if known is not None:
            data, signed_at = known
            if 0 <= int(time.time()) - signed_at <= max_age:  # itsdangerous's own test of the age
                return self.session_class(data)
            opened.pop(value, None)
            return self.session_class()
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(type(item) in _PLAIN for item in data.values()):
            if len(opened) >= _OPENED_KEPT:
                opened.clear()
            opened[value] = (data, int(signed_at.timestamp()))
        return self.session_class(data)

    def save_session(self, app, session, response):
        """Flask's, with a short way for the usual answer, a session read but not changed: only `Vary: Cookie`
        (Flask works out the cookie's name, domain, path and flags first, and re-parses the Vary header)."""
        if session.modified or (session and session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return super().save_session(app, session, response)
        if session.accessed:
            headers = response.headers
            vary = headers.get("Vary")
            if not vary:
                headers["Vary"] = "Cookie"
            elif "cookie" not in {item.strip().lower() for item in vary.split(",")}:
                headers["Vary"] = f"{vary}, Cookie"
        return None

    def get_cookie_name(self, app) -> str:
        name = super().get_cookie_name(app)
        return f"__Host-{name}" if _https() else name

    def get_cookie_secure(self, app) -> bool:
        return True if _https() else super().get_cookie_secure(app)

    def get_cookie_domain(self, app) -> str | None:
        return None if _https() else super().get_cookie_domain(app)

    def get_cookie_path(self, app) -> str:
        return "/" if _https() else super().get_cookie_path(app)

