"""CSRF as Flask-WTF does it (a secret in the session, a signed form of it in every page and form, checked on
every state change), without an HMAC per page and per POST for the token this process issued.

With WTF_CSRF_TIME_LIMIT = None (config.py) a token's timestamp is never checked, so any signed form of the
session's secret is as valid as a fresh one; itsdangerous does not mask the secret either, so one signed form
shows no more than a new one each time. The first one signed in this process is kept per (signing key, secret)
and shown again; a POST carrying exactly that string is valid for exactly the reason Flask-WTF would find (its
signature over this session's secret), so it is compared instead of verified again. Anything else (a token from
another worker, an older page, a forgery) goes through Flask-WTF's own validation.
"""
from __future__ import annotations

import hmac

from flask import current_app, g, request, session
from flask_wtf import CSRFProtect
from flask_wtf.csrf import same_origin
from itsdangerous import BadData, URLSafeTimedSerializer

_SIGNED: dict[tuple, str] = {}  # (signing key, session secret) -> the signed form this process shows
_SIGNED_KEPT = 4096  # plenty for every browser of a campus; cleared, not evicted one by one, when full


def _signing_key(config):
    return config.get("WTF_CSRF_SECRET_KEY", current_app.secret_key)  # as Flask-WTF chooses it


def _issued(config, field: str) -> str | None:
    """The signed form of this session's secret this process shows, if it has signed one."""
    secret = session.get(field)
    if not isinstance(secret, str) or not secret:
        return None
    return _SIGNED.get((_signing_key(config), secret))


def prepare_csrf_token() -> None:
    """Before a request: put the kept signed form of the session's secret where Flask-WTF's generate_csrf looks
    before signing (signing it now if this process has not yet). Nothing happens with a time limit configured
    (a token's age would matter) or before the session has a secret (generate_csrf makes one when asked)."""
    config = current_app.config
    if config["WTF_CSRF_TIME_LIMIT"] is not None:
        return
    field = config["WTF_CSRF_FIELD_NAME"]
    secret = session.get(field)
    if not isinstance(secret, str) or not secret or field in g:
        return
    key = (_signing_key(config), secret)
    signed = _SIGNED.get(key)
    if signed is None:
        signed = URLSafeTimedSerializer(key[0], salt="wtf-csrf-token").dumps(secret)
        _keep(key, signed)
    setattr(g, field, signed)


def forget_csrf_token() -> None:
    """After `session.clear()`: the token put in `g` for the old session's secret must not be shown by a page
    rendered later in the same request (its POST would be refused); generate_csrf makes a new secret and token."""
    g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)


def keep_issued_csrf_token(response):
    """After a request: a token Flask-WTF signed in it (the session's first, e.g. the first page after logging in)
    is kept as the one to show again, once verified to be this session's secret (a session cleared afterwards in
    the same request, at login or logout, keeps nothing)."""
    config = current_app.config
    field = config["WTF_CSRF_FIELD_NAME"]
    token = g.get(field)
    if token is None or config["WTF_CSRF_TIME_LIMIT"] is not None:
        return response
    secret = session.get(field)
    if not isinstance(secret, str) or not secret:
        return response
    key = (_signing_key(config), secret)
    if key not in _SIGNED:
        try:
            signed_secret = URLSafeTimedSerializer(key[0], salt="wtf-csrf-token").loads(token)
        except BadData:
            return response
        if signed_secret == secret:
            _keep(key, token)
    return response


def _keep(key: tuple, signed: str) -> None:
    if len(_SIGNED) >= _SIGNED_KEPT:
        _SIGNED.clear()
    _SIGNED[key] = signed


class SessionCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRFProtect with the method asked first (a GET is never checked; Flask-WTF looked up the view's
    exemption before finding that out) and the token this process issued for the session compared, not verified
    again. Every other token is Flask-WTF's to validate; the HTTPS referrer check is Flask-WTF's in both cases."""

    def protect(self, apply_exemptions=False):
        config = current_app.config
        if request.method not in config["WTF_CSRF_METHODS"]:
            return
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        if not self._issued_token_sent(config):
            return super().protect()
        if request.is_secure and config["WTF_CSRF_SSL_STRICT"]:  # as CSRFProtect.protect (Flask-WTF 1.3) does it
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True
        return None

    def _issued_token_sent(self, config) -> bool:
        if config["WTF_CSRF_TIME_LIMIT"] is not None:
            return False
        issued = _issued(config, config["WTF_CSRF_FIELD_NAME"])
        token = self._get_csrf_token() if issued is not None else None
        return isinstance(token, str) and hmac.compare_digest(token.encode(), issued.encode())
