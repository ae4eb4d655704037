"""Under /api/v1/, a URL that names no operation is a JSON 404 and a method an operation does not have a JSON 405
(with Allow), in Chinese and in the API's error format (the OpenAPI document's Error schema), never the site's
HTML page; with a token, a cookie session or nobody, and before any CSRF check."""
from __future__ import annotations

import re

import pytest

from tests.api_contract import _validator_for
from tests.api_helpers import bearer, make_token

CJK = re.compile(r"[\u4e00-\u9fff]")


def _error(app, response) -> dict:
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    body = response.get_json()
    from webapp.api.routes import spec_document
    with app.test_request_context("/"):
        document = spec_document()
    errors = list(_validator_for(document, {"$ref": "#/components/schemas/Error"}).iter_errors(body))
    assert not errors, errors
    assert CJK.search(body["error"]["message"])
    return body["error"]


@pytest.mark.parametrize("who", ["nobody", "token", "cookie"])
@pytest.mark.parametrize("method, path", [("GET", "/api/v1/no-such-thing"), ("GET", "/api/v1/units/1/nothing"),
                                          ("POST", "/api/v1/no-such-thing"), ("DELETE", "/api/v1/x/y/z"),
                                          ("GET", "/api/v1")])
def test_an_unknown_api_url_is_a_json_404(app, client, org, login_as, who, method, path):
    headers = {}
    if who == "token":
        headers = bearer(make_token(app, org.users["staff1"]))
    elif who == "cookie":
        login_as("staff1")
    response = client.open(path, method=method, headers=headers)
    assert response.status_code == 404
    assert _error(app, response)["code"] == "not_found"


@pytest.mark.parametrize("who", ["nobody", "token", "cookie"])
def test_a_wrong_method_on_an_api_url_is_a_json_405_with_allow(app, client, org, login_as, who):
    headers = {}
    if who == "token":
        headers = bearer(make_token(app, org.users["staff1"]))
    elif who == "cookie":
        login_as("staff1")
    response = client.delete("/api/v1/units", headers=headers)  # a POST without a CSRF token would be one too
    assert response.status_code == 405
    assert _error(app, response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
    assert client.put("/api/v1/me", headers=headers).status_code == 405


def test_the_site_keeps_its_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"
    response = client.get("/api-v1-lookalike")
    assert response.status_code == 404 and response.mimetype == "text/html"
