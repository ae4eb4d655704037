"""Personal access tokens: creating, revoking, authenticating and throttling them (every change audited)."""
from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, select, update

from ..audit import record
from ..clock import now_utc
from ..extensions import db
from ..models import ApiToken, User
from ..models.base import utcnow  # noqa: F401  (the account page shows times against it)

ENTITY = "api_token"
PREFIX = "tzk_"
MAX_DAYS = 366  # "at most one year", a leap year included
NAME_MAX = 100


def now_seconds() -> float:
    """The throttle's clock: the app's one clock (tests freeze it with clock.frozen_clock)."""
    return now_utc().timestamp()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def tokens_of(user: User) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    return list(db.session.execute(stmt).scalars())


def create_token(user: User, name: str, can_write: bool, days: int) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it with its secret, which is never stored or shown again."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_secret(secret), prefix=secret[:len(PREFIX) + 4],
                     can_write=can_write, expires_at=utcnow() + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    record(ENTITY, token.id, "create", unit_id=user.unit_id, user_id=user.id,
           after={"name": name, "access": "read_write" if can_write else "read_only",
                  "expires_at": token.expires_at.isoformat(timespec="minutes")})
    db.session.commit()
    return token, secret


def revoke_token(user: User, token_id: int) -> ApiToken | None:
    """Revoke one of the user's own tokens; None when it is not theirs or already revoked."""
    token = db.session.execute(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id,
                                                      ApiToken.revoked_at.is_(None))).scalar_one_or_none()
    if token is None:
        return None
    token.revoked_at = utcnow()
    record(ENTITY, token.id, "revoke", unit_id=user.unit_id, user_id=user.id, before=token.name)
    db.session.commit()
    return token


def record_write(token: ApiToken, user: User, method: str, path: str):
    """A write made with a token: added to the caller's transaction, next to the change's own audit entries."""
    return record(ENTITY, token.id, "write", unit_id=user.unit_id, user_id=user.id, after=f"{method} {path}")


@dataclass(frozen=True)
class TokenCheck:
    token: ApiToken | None
    user: User | None
    problem: str = ""  # "", "invalid", "expired", "revoked", "inactive"


def authenticate(secret: str) -> TokenCheck:
    """The token and its user for a Bearer secret, or what is wrong with it."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return TokenCheck(None, None, "invalid")
    # Tokens are not unit-owned rows: no scope applies to them (and none is set yet).
    token = db.session.execute(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret))).scalar_one_or_none()
    if token is None:
        return TokenCheck(None, None, "invalid")
    if token.revoked_at is not None:
        return TokenCheck(token, None, "revoked")
    if token.expires_at <= utcnow():
        return TokenCheck(token, None, "expired")
    from ..permissions import token_owner
    user = token_owner(token.user_id)
    if user is None or not user.active:
        return TokenCheck(token, None, "inactive")
    return TokenCheck(token, user)


def count_request(token: ApiToken) -> int:
    """Count this request in the token's current window; returns seconds to wait (0: go ahead).

    One UPDATE: the window and the count change together, so workers racing on one token never lose a count.
    """
    limit = current_app.config.get("API_RATE_LIMIT", 120)
    window = current_app.config.get("API_RATE_WINDOW_SECONDS", 60)
    moment = now_seconds()
    start = int(moment // window * window)
    result = db.session.execute(
        update(ApiToken).where(ApiToken.id == token.id)
        .values(window_count=case((ApiToken.window_start == start, ApiToken.window_count + 1), else_=1),
                window_start=start, last_used_at=utcnow())
        .returning(ApiToken.window_count)
        .execution_options(synchronize_session=False))
    count = result.scalar_one()
    db.session.commit()
    if count > limit:
        return max(1, math.ceil(start + window - moment))
    return 0
