"""The authorization matrix of the JSON API, from the URL map: every token role × own and foreign objects.

Every `api.` route of tests/authz_policy.py is sent as each role of both colleges with a read-write token, a
read-only token and the cookie session (with its CSRF header), with our own, the other college's and smuggled
ids. Offences are collected into one message: a wrong status, a 500, or a marker of the other college in the
answer (0 leaks). Afterwards the other college's rows are exactly as before.
"""
from __future__ import annotations

import pytest
from flask import url_for

from webapp.api import tokens
from webapp.extensions import db
from webapp.models import User

from .authz_policy import POLICY, Decision
from .hostile_world import (FOREIGN_MARK, OUR_MARK, ROLES, SIDES, answer_text, build_world, college_fingerprint,
                            csrf_for, log_in, marks_in, other)

API = {endpoint: decision for endpoint, decision in POLICY.items() if decision.api}
ACCESS = ("read_write", "read_only", "cookie")


def test_every_api_route_is_in_the_policy(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert routes == set(API)
    for endpoint, decision in API.items():
        rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
        assert decision.api in rule.methods, endpoint


def _url(app, endpoint: str, decision: Decision, path_ids: dict, query_ids: dict) -> str:
    with app.test_request_context():
        values = {arg: path_ids[name] for arg, name in decision.params.items()}
        values.update({arg: query_ids[name] for arg, name in decision.query.items()})
        return url_for(endpoint, **values)


def _variants(decision: Decision, own: dict, foreign: dict, allowed: bool):
    yield "own", own, {}
    if not allowed:
        return
    if decision.params or decision.query:
        yield "foreign", foreign, {}
    for field, name in decision.smuggle.items():
        yield f"smuggled {field}", own, {field: foreign[name]}


def _expected(decision: Decision, role: str, access: str, variant: str):
    writes = decision.api != "GET"
    if role not in decision.roles:
        return (lambda r: r.status_code == 403), "403"
    if access == "read_only" and writes:
        return (lambda r: r.status_code == 403 and r.get_json()["error"]["code"] == "read_only_token"), "403 read-only"
    if variant == "foreign":
        return (lambda r: r.status_code in decision.foreign), f"one of {sorted(decision.foreign)}"
    if variant.startswith("smuggled"):
        return (lambda r: r.status_code in (403, 404, 422)), "403, 404 or 422"
    return (lambda r: r.status_code < 400 or r.status_code in (409, 412, 422)), "success (or 409, 412, 422)"


@pytest.mark.parametrize("access", ACCESS)
@pytest.mark.parametrize("matrix_role", list(ROLES))
def test_api_authorization_matrix(app, org, matrix_role, access, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 10_000)
    key, side, role = ROLES[matrix_role]
    with app.app_context():
        world = build_world(org)
        other_general = org.units[SIDES[other(side)][0]]
        before = college_fingerprint(other_general)
        if access == "cookie":
            client = log_in(app, org, key)
            headers = {"X-CSRFToken": csrf_for(client)}
        else:
            client = app.test_client()
            _token, secret = tokens.create_token(db.session.get(User, org.users[key]), "matrix",
                                                 access == "read_write", 30)
            headers = {"Authorization": f"Bearer {secret}"}
        db.session.remove()
    own, foreign = world.side(side).ids, world.side(other(side)).ids
    forbidden = FOREIGN_MARK if side == "our" else OUR_MARK
    failures = []
    for endpoint, decision in sorted(API.items()):
        for variant, ids, smuggled in _variants(decision, own, foreign, role in decision.roles):
            url = _url(app, endpoint, decision, ids, ids)
            body = {**(decision.body(ids, foreign if ids is own else own) if decision.body else {}), **smuggled}
            send = {"If-Match": '"1"'} if decision.api == "PATCH" else {}
            where = f"{decision.api} {url} ({endpoint}, {variant}, {access})"
            try:
                response = client.open(url, method=decision.api, json=body if decision.api != "GET" else None,
                                       headers={**headers, **send})
            except Exception as error:  # noqa: BLE001
                failures.append(f"{where}: 500 ({type(error).__name__}: {error})")
                continue
            accept, meaning = _expected(decision, role, access, variant)
            if response.status_code >= 500 or not accept(response):
                failures.append(f"{where}: {response.status_code}, expected {meaning}")
            if response.status_code >= 400 and (response.get_json(silent=True) or {}).get("error") is None:
                failures.append(f"{where}: {response.status_code} without a JSON error")
            text = answer_text(response)
            if forbidden in text:
                failures.append(f"{where}: shows {marks_in(text, forbidden)}")
    with app.app_context():
        assert college_fingerprint(other_general) == before, f"{matrix_role} ({access}) changed the other college's data"
    assert not failures, f"{len(failures)} offences as {matrix_role} ({access}):\n" + "\n".join(failures)


def test_api_without_login_or_with_a_bad_token_is_401_everywhere(app, org):
    with app.app_context():
        world = build_world(org)
    client = app.test_client()
    failures = []
    for endpoint, decision in sorted(API.items()):
        url = _url(app, endpoint, decision, world.our.ids, world.our.ids)
        for headers in ({}, {"Authorization": "Bearer tzk_forged"}):
            response = client.open(url, method=decision.api, json={} if decision.api != "GET" else None, headers=headers)
            if response.status_code != 401 or OUR_MARK in answer_text(response):
                failures.append(f"{decision.api} {url} {headers}: {response.status_code}")
    assert not failures, "\n".join(failures)
