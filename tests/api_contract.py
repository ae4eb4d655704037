"""Every API answer in the whole suite is checked against the generated OpenAPI document.

The hook listens to Flask's request_finished signal: an answer under /api/v1/ whose status the document does not
list for that operation, whose JSON body does not match the documented schema, or that lacks an ETag raises,
which fails the test that caused it (the test app propagates exceptions)."""
from __future__ import annotations

import json

import pytest
from flask import request, request_finished
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CHECKED: list[str] = []


class ContractBroken(AssertionError):
    pass


def _validator_for(document: dict, schema: dict) -> Draft202012Validator:
    registry = Registry().with_resource("urn:taizhang:openapi", Resource.from_contents(
        document, default_specification=DRAFT202012))
    return Draft202012Validator({**schema, "$id": "urn:taizhang:openapi"} if "$ref" not in schema else
                                {"$ref": "urn:taizhang:openapi" + schema["$ref"]}, registry=registry)


def check_answer(document: dict, rule: str, method: str, response) -> None:
    from webapp.api.spec import _CONVERTER
    path = _CONVERTER.sub(r"{\2}", rule)
    where = f"{method} {path} → {response.status_code}"
    operation = document["paths"].get(path, {}).get(method.lower())
    if operation is None:
        raise ContractBroken(f"{where}: the operation is not in the OpenAPI document")
    described = operation["responses"].get(str(response.status_code))
    if described is None:
        raise ContractBroken(f"{where}: status not documented")
    if "ETag" not in response.headers:
        raise ContractBroken(f"{where}: no ETag")
    content = described.get("content", {}).get("application/json")
    if content is None:
        return
    body = json.loads(response.get_data(as_text=True))
    errors = sorted(_validator_for(document, content["schema"]).iter_errors(body), key=str)
    if errors:
        raise ContractBroken(f"{where}: {errors[0].message} at {list(errors[0].absolute_path)}")
    CHECKED.append(where)


def _on_finished(sender, response, **_extra):
    if request.blueprint != "api" or request.url_rule is None:
        return
    from webapp.api.routes import spec_document
    response.direct_passthrough = False
    check_answer(spec_document(), request.url_rule.rule, request.method, response)


@pytest.fixture(scope="session", autouse=True)
def api_answers_follow_the_document():
    request_finished.connect(_on_finished)
    yield CHECKED
    request_finished.disconnect(_on_finished)
