"""Operations declared once, in code: the decorator registers the Flask route, parses and checks the query
string and the JSON body with marshmallow schemas, serialises the answer with its schema, and records the
operation so that `build_spec()` describes exactly what runs (OpenAPI 3.1 through apispec)."""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify, make_response, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .errors import ApiError, refuse_fields

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
ERROR_STATUSES = {400: "Bad request or unknown field", 401: "Not logged in, or the token is invalid",
                  403: "The role or token may not do this", 404: "Missing or outside the user's scope",
                  429: "Too many requests with this token"}


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    field = fields.String(required=True, allow_none=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBody, required=True)


class PageQuery(Schema):
    """Cursor pagination: `cursor` is opaque (from `next_cursor`), `limit` at most 500."""
    class Meta:
        unknown = RAISE

    cursor = fields.String(load_default=None, metadata={"description": "next_cursor of the previous page"})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


@dataclass
class Page:
    items: list
    next_cursor: str | None


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    query: type[Schema] | None
    body: type[Schema] | None
    response: type[Schema] | None
    status: int
    paginated: bool
    errors: tuple[int, ...]
    description: str = ""


OPERATIONS: list[Operation] = []
_PAGE_SCHEMAS: dict[type, type] = {}


def page_schema(item: type[Schema]) -> type[Schema]:
    if item not in _PAGE_SCHEMAS:
        name = item.__name__.removesuffix("Schema") + "Page"
        _PAGE_SCHEMAS[item] = type(name, (Schema,), {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(required=True, allow_none=True,
                                         metadata={"description": "null on the last page"})})
    return _PAGE_SCHEMAS[item]


_CONFLICT_SCHEMAS: dict[type, type] = {}


def conflict_schema(item: type[Schema]) -> type[Schema]:
    """An error that carries the object as it is now (a stale If-Match)."""
    if item not in _CONFLICT_SCHEMAS:
        name = item.__name__.removesuffix("Schema") + "Conflict"
        _CONFLICT_SCHEMAS[item] = type(name, (Schema,), {
            "error": fields.Nested(ErrorBody, required=True), "current": fields.Nested(item, required=True)})
    return _CONFLICT_SCHEMAS[item]


# ---- cursors: the sort key of the last item, base64 JSON (opaque to clients) -----------------------

def encode_cursor(key: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> list | None:
    if not text:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested past json's limit
        key = None
    if not isinstance(key, list) or not all(isinstance(part, (int, str)) for part in key):
        raise ApiError(400, "bad_cursor", "invalid_cursor", field="cursor")
    return key


def paginate(items: list, sort_key: Callable[[Any], tuple], args: dict) -> Page:
    """Keyset pagination over a list already in `sort_key` order (the key must be unique per item)."""
    after = decode_cursor(args.get("cursor"))
    if after is not None:
        after_key = tuple(after)
        items = [item for item in items if tuple(sort_key(item)) > after_key]
    limit = args["limit"]
    chunk = items[:limit]
    more = len(items) > limit
    return Page(chunk, encode_cursor(list(sort_key(chunk[-1]))) if more and chunk else None)


# ---- the decorator ---------------------------------------------------------------------------------

def _load(schema: type[Schema], data: Any, where: str) -> dict:
    try:
        return schema().load(data)
    except ValidationError as error:
        refuse_fields(error.messages, where)
    raise AssertionError("unreachable")


def _query_data(schema: type[Schema]) -> dict:
    data = {}
    for key, values in request.args.lists():
        declared = schema().fields.get(key)
        data[key] = values if isinstance(declared, fields.List) else values[-1]
    return data


def _sent_json() -> Any:
    """The request's JSON, None when it is not valid JSON (also when nested too deeply for json.loads, which
    raises RecursionError, not ValueError, then)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def _json_body() -> Any:
    if not request.is_json:
        raise ApiError(400, "bad_request", "json_required")
    body = _sent_json()
    if body is None:
        raise ApiError(400, "bad_request", "json_invalid")
    return body


def operation(bp: Blueprint, rule: str, method: str, *, summary: str, tag: str, query: type[Schema] | None = None,
              body: type[Schema] | None = None, response: type[Schema] | None = None, status: int = 200,
              paginated: bool = False, errors: tuple[int, ...] = (), description: str = ""):
    """Register `view` for `method rule`. The view gets `args` (query) and `body` (JSON) already checked, and
    returns an object to dump with `response` (or a Page of them), optionally with headers: (obj, headers)."""
    if paginated and query is not None and not issubclass(query, PageQuery):
        raise TypeError("a paginated operation's query schema extends PageQuery")
    query = query or (PageQuery if paginated else None)
    dumped = page_schema(response) if paginated and response else response

    def decorator(view):
        @wraps(view)
        def wrapped(**kwargs):
            if query is not None:
                kwargs["args"] = _load(query, _query_data(query), "query")
            elif request.args:
                refuse_fields({key: ["unknown"] for key in request.args}, "query")
            if body is not None:
                kwargs["body"] = _load(body, _json_body(), "body")
            elif request.get_data() and _sent_json() != {}:
                sent = _sent_json()  # this operation reads no body: any field is unknown
                refuse_fields({key: ["unknown"] for key in sent} if isinstance(sent, dict) else {"body": ["invalid"]},
                              "body")
            result = view(**kwargs)
            headers = {}
            if isinstance(result, tuple):
                result, headers = result
            if isinstance(result, Page):
                payload = {"items": response(many=True).dump(result.items), "next_cursor": result.next_cursor}
            else:
                payload = dumped().dump(result) if dumped else result
            answer = make_response(jsonify(payload), status)
            answer.headers.update(headers)
            return answer

        bp.add_url_rule(rule, view.__name__, wrapped, methods=[method])
        OPERATIONS.append(Operation(rule=bp.url_prefix + rule, method=method.lower(),
                                    endpoint=f"{bp.name}.{view.__name__}", summary=summary, tag=tag, query=query,
                                    body=body, response=dumped, status=status, paginated=paginated, errors=errors,
                                    description=description))
        return wrapped
    return decorator


# ---- the document ----------------------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def _path_parameters(rule: str) -> list[dict]:
    return [{"in": "path", "name": name, "required": True,
             "schema": {"type": "integer", "minimum": 1} if converter == "int" else {"type": "string"}}
            for converter, name in _CONVERTER.findall(rule)]


def build_spec(title: str, version: str, description: str) -> dict:
    spec = APISpec(title=title, version=version, openapi_version="3.1.0", plugins=[MarshmallowPlugin()],
                   info={"description": description})
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                   "description": "Personal access token (account page)"})
    spec.components.security_scheme("cookieAuth", {"type": "apiKey", "in": "cookie", "name": "session",
                                                   "description": "The site's login; writes need X-CSRFToken"})
    spec.components.schema("Error", schema=ErrorSchema)
    etag = {"description": "Entity tag of this answer (for a ledger row: its version)",
            "schema": {"type": "string"}}
    error_headers = {"ETag": etag}
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        path = _CONVERTER.sub(r"{\2}", op.rule)
        parameters = _path_parameters(op.rule)
        if op.query is not None:
            parameters.append({"in": "query", "schema": op.query})
        if op.method == "patch":
            parameters.append({"in": "header", "name": "If-Match", "required": True,
                               "schema": {"type": "string"}, "description": "The row's version, as its ETag gave it"})
        responses: dict[str, Any] = {}
        ok = {"description": "OK", "headers": {"ETag": etag}}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": op.response}}
        responses[str(op.status)] = ok
        if op.method == "get":
            responses["304"] = {"description": "Not modified (If-None-Match)", "headers": {"ETag": etag}}
        errors = set(ERROR_STATUSES) | set(op.errors) | ({413} if op.method != "get" else set())
        for code in sorted(errors):
            described = ERROR_STATUSES.get(code) or {409: "The object's state does not allow this",
                                                     412: "Stale If-Match: the same field changed; the current row",
                                                     413: "The request is too large",
                                                     422: "A value is invalid (message in Chinese, field named)",
                                                     428: "If-Match is required"}[code]
            answer = {"description": described, "headers": dict(error_headers),
                      "content": {"application/json": {"schema": "Error"}}}
            if code == 429:
                answer["headers"]["Retry-After"] = {"description": "Seconds to wait", "schema": {"type": "integer"}}
            if code == 412 and op.response is not None:
                answer["content"] = {"application/json": {"schema": conflict_schema(op.response)}}
            responses[str(code)] = answer
        operation_doc = {"summary": op.summary, "tags": [op.tag], "operationId": op.endpoint.split(".", 1)[1],
                         "parameters": parameters, "responses": responses,
                         "security": [{"bearerAuth": []}, {"cookieAuth": []}]}
        if op.description:
            operation_doc["description"] = op.description
        if op.body is not None:
            operation_doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
        paths.setdefault(path, {})[op.method] = operation_doc
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
