"""Tokens and requests for the API tests."""
from __future__ import annotations

from datetime import timedelta

from webapp.api import tokens
from webapp.extensions import db
from webapp.models import ApiToken, User


def make_token(app, user_id: int, write: bool = True, days: int = 30) -> str:
    with app.app_context():
        _token, secret = tokens.create_token(db.session.get(User, user_id), "测试系统", write, days)
        db.session.remove()
    return secret


def expire_token(app, secret: str) -> None:
    with app.app_context():
        token = db.session.execute(db.select(ApiToken).where(ApiToken.token_hash == tokens.hash_secret(secret))).scalar_one()
        token.expires_at = tokens.utcnow() - timedelta(seconds=1)
        db.session.commit()
        db.session.remove()


def bearer(secret: str, **headers) -> dict:
    return {"Authorization": f"Bearer {secret}", **headers}
