"""JSON errors: {"error": {"code", "message", "field"}}, messages in the user's language (Chinese by default)."""
from __future__ import annotations

from typing import Any, NoReturn

from flask import jsonify, make_response
from flask_babel import lazy_gettext as _l

# What each message key says; codes are stable identifiers for programs, messages are for people.
MESSAGES = {
    "invalid_cursor": _l("The cursor is not valid: use next_cursor from the previous page."),
    "json_required": _l("Send the body as JSON (Content-Type: application/json)."),
    "json_invalid": _l("The body is not valid JSON."),
    "unknown_field": _l("Unknown field: %(name)s."),
    "invalid_value": _l("Invalid value for %(name)s."),
    "login_required": _l("Log in or send a personal access token (Authorization: Bearer …)."),
    "token_invalid": _l("The access token is not valid."),
    "token_expired": _l("The access token has expired."),
    "token_revoked": _l("The access token has been revoked."),
    "token_inactive": _l("The account of this access token is deactivated."),
    "read_only_token": _l("This access token is read-only."),
    "forbidden": _l("You do not have permission to do this."),
    "not_found": _l("The record was not found."),
    "method_not_allowed": _l("This method is not allowed here."),
    "throttled": _l("Too many requests with this access token. Try again in %(seconds)s seconds."),
    "csrf": _l("The request was sent without its security token (X-CSRFToken)."),
    "if_match_required": _l("Send If-Match with the row's version (its ETag)."),
    "stale": _l("Someone else changed the same field first; the row as it is now is attached."),
    "wrong_state": _l("The activity's status does not allow this."),
    "bad_request": _l("The request could not be understood."),
    "too_large": _l("The request is too large."),
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message_key: str, field: str | None = None,
                 headers: dict | None = None, extra: dict | None = None, **params: Any):
        super().__init__(code)
        self.status, self.code, self.field = status, code, field
        self.message = str(MESSAGES[message_key] % params) if params else str(MESSAGES[message_key])
        self.headers = headers or {}
        self.extra = extra or {}


class FieldError(ApiError):
    """A value the site's own validation refused: its message as the form shows it."""

    def __init__(self, field: str, message: str, status: int = 422):
        Exception.__init__(self, "invalid")
        self.status, self.code, self.field, self.message = status, "invalid", field, message
        self.headers, self.extra = {}, {}


def refuse_fields(messages: dict, where: str) -> NoReturn:
    """A marshmallow load failed: name the first offending field (an unknown field is its own code)."""
    name, problem = next(iter(sorted(messages.items(), key=lambda item: str(item[0]))))
    text = " ".join(map(str, problem)) if isinstance(problem, list) else str(problem)
    if "Unknown field" in text or "unknown" == text:
        raise ApiError(400, "unknown_field", "unknown_field", field=str(name), name=str(name)) from None
    raise ApiError(400, "invalid_value", "invalid_value", field=str(name), name=str(name)) from None


def error_response(error: ApiError):
    body = {"error": {"code": error.code, "message": error.message, "field": error.field}, **error.extra}
    response = make_response(jsonify(body), error.status)
    response.headers.update(error.headers)
    return response


HTTP_CODES = {400: ("bad_request", "bad_request"), 401: ("login_required", "login_required"),
              403: ("forbidden", "forbidden"), 404: ("not_found", "not_found"),
              405: ("method_not_allowed", "method_not_allowed"), 409: ("wrong_state", "wrong_state"),
              413: ("too_large", "too_large")}


def http_error(status: int) -> ApiError:
    code, key = HTTP_CODES.get(status, ("bad_request", "bad_request"))
    return ApiError(status, code, key)


PREFIX = "/api/v1"


def is_api_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def routing_error_response(error):
    """A URL under /api/v1/ that names no operation (404) or a method it does not have (405): the API's JSON error,
    with Allow on a 405, not the site's HTML page."""
    answer = http_error(error.code)
    answer.headers = {name: value for name, value in error.get_headers() if name == "Allow"}
    return error_response(answer)
