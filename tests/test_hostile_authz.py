"""The authorization matrix: every route × every role × own and foreign objects, from the URL map.

Each role's run builds the two-college world (tests/hostile_world.py), sends every route of
tests/authz_policy.py with own, foreign and mixed ids (GET, and POST with and without HX-Request),
and collects every offence into one message: a wrong status, a 500, or a marker of the other
college in an answer. Afterwards the other college's rows are exactly as before.
"""
from __future__ import annotations

import pytest
from flask import url_for

from webapp.extensions import db
from webapp.models import LedgerRow

from .authz_policy import POLICY, PUBLIC, Decision
from .hostile_world import (FOREIGN_MARK, OUR_MARK, ROLES, SIDES, answer_text, build_world, college_fingerprint,
                            csrf_for, database_fingerprint, log_in, marks_in, other)

HX = {"HX-Request": "true"}


def test_every_route_has_a_decision(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    assert endpoints - set(POLICY) == set(), "routes without an authorization decision in tests/authz_policy.py"
    assert set(POLICY) - endpoints == set(), "decisions for routes that no longer exist"


def _rules(app) -> dict[str, object]:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}


def _order(app) -> list[str]:
    """Reading routes first, then changes, then the ones that end the session or remove their object."""
    rules = _rules(app)
    # JSON API routes answer JSON (401, not a redirect): tests/test_api_authz.py runs them.
    return sorted((e for e in POLICY if not POLICY[e].api), key=lambda e: (POLICY[e].ends_session, POLICY[e].last,
                                         "POST" in rules[e].methods and "GET" not in rules[e].methods, e))


def _variants(decision: Decision, own: dict, foreign: dict, allowed: bool):
    """(label, ids for the path, ids for the query string, form smuggling) to send."""
    yield "own", own, own, {}
    if not allowed:
        return
    if decision.params or decision.query:
        yield "foreign", foreign, foreign, {}
    if len(decision.params) > 1:  # the first object ours, the one inside it theirs (e.g. our plan, their task)
        first = next(iter(decision.params.values()))
        yield "mixed", {**foreign, first: own[first]}, own, {}
    for form_field, name in decision.smuggle.items():
        yield f"smuggled {form_field}", own, own, {form_field: str(foreign[name])}


def _url(app, endpoint: str, decision: Decision, path_ids: dict, query_ids: dict) -> str:
    with app.test_request_context():
        values = {arg: path_ids[name] for arg, name in decision.params.items()}
        values.update({arg: query_ids.get(name, name) for arg, name in decision.query.items()})
        return url_for(endpoint, **values)


def _expected(role: str, decision: Decision, variant: str, htmx: bool, app_role: str | None, again: bool):
    """A predicate on the response, and what it means (for the failure message)."""
    if app_role is None and "anonymous" not in decision.roles:
        if htmx:
            return (lambda r: r.status_code == 401), "401"
        return (lambda r: r.status_code == 302 and r.headers["Location"].startswith("/login")), "302 to /login"
    if app_role is not None and app_role not in decision.roles:
        return (lambda r: r.status_code == 403), "403"
    if variant in ("foreign", "mixed"):
        return (lambda r: r.status_code in decision.foreign), f"one of {sorted(decision.foreign)}"
    if variant == "own" and decision.roles != PUBLIC:
        accepted = {409, 422} | (decision.again if again else set())
        return (lambda r: r.status_code < 400 or r.status_code in accepted), f"success (or {sorted(accepted)})"
    return (lambda r: r.status_code < 500), "no server error"


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_authorization_matrix(app, org, role):
    with app.app_context():
        world = build_world(org)
        if role == "anonymous":
            side, app_role, client = "our", None, app.test_client()
        else:
            key, side, app_role = ROLES[role]
            client = log_in(app, org, key)
        other_general = org.units[SIDES[other(side)][0]]
        before = college_fingerprint(other_general)
        db.session.remove()
    own, foreign = world.side(side).ids, world.side(other(side)).ids
    # Our users must never read the foreign marker and vice versa; anonymous visitors neither.
    forbidden_marks = [FOREIGN_MARK if side == "our" else OUR_MARK] + ([OUR_MARK] if role == "anonymous" else [])
    token = csrf_for(client, "/login" if role == "anonymous" else "/")
    rules = _rules(app)
    failures = []
    for endpoint in _order(app):
        decision, rule = POLICY[endpoint], rules[endpoint]
        allowed = app_role in decision.roles if app_role else "anonymous" in decision.roles
        for variant, path_ids, query_ids, smuggled in _variants(decision, own, foreign, allowed):
            url = _url(app, endpoint, decision, path_ids, query_ids)
            methods = [m for m in ("GET", "POST") if m in rule.methods]
            for method in methods:
                if method == "GET" and smuggled:
                    continue
                for htmx in (False, True):
                    where = f"{method} {url} ({endpoint}, {variant}{', htmx' if htmx else ''})"
                    headers = HX if htmx else {}
                    try:  # the test app propagates exceptions: a crash is a 500, noted, and the run goes on
                        if method == "POST":
                            form = decision.form(path_ids, foreign if path_ids is own else own) if decision.form else {}
                            form.update(smuggled)
                            response = client.post(url, data=form, headers={"X-CSRFToken": token, **headers})
                        else:
                            response = client.get(url, headers=headers)
                    except Exception as error:  # noqa: BLE001
                        failures.append(f"{where}: 500 ({type(error).__name__}: {error})")
                        continue
                    accept, meaning = _expected(role, decision, variant, htmx, app_role, again=method == "POST" and htmx)
                    if response.status_code == 500 or not accept(response):
                        failures.append(f"{where}: {response.status_code}, expected {meaning}")
                    text = answer_text(response)
                    for mark in forbidden_marks:
                        if mark in text:
                            failures.append(f"{where}: shows {marks_in(text, mark)}")
    with app.app_context():
        assert college_fingerprint(other_general) == before, f"{role} changed the other college's data"
    assert not failures, f"{len(failures)} offences as {role}:\n" + "\n".join(failures)


def test_college_fingerprint_sees_a_change_in_that_college_only(app, org):
    with app.app_context():
        world = build_world(org)
        ours, theirs = college_fingerprint(org.units["general"]), college_fingerprint(org.units["foreign"])
        db.session.get(LedgerRow, world.foreign.ids["row"]).progress = "changed"
        db.session.commit()
        assert college_fingerprint(org.units["general"]) == ours
        assert college_fingerprint(org.units["foreign"]) != theirs


# ---- CSRF: every state-changing route refuses a request without a valid token -----------------------

def _post_routes(app) -> list[str]:
    return sorted(endpoint for endpoint, rule in _rules(app).items()
                  if rule.methods & {"POST", "PUT", "PATCH", "DELETE"} and not POLICY[endpoint].api)


@pytest.mark.parametrize("token_source", ["none", "other session"])
def test_state_changes_need_the_sessions_csrf_token(app, org, token_source):
    with app.app_context():
        world = build_world(org)
        client = log_in(app, org, "admin")
        stranger = log_in(app, org, "secretary")
        before = database_fingerprint()
        db.session.remove()
    own, foreign = world.our.ids, world.foreign.ids
    csrf_for(client)  # the session has a token of its own, just not in these requests
    foreign_token = csrf_for(stranger)
    failures = []
    for endpoint in _post_routes(app):
        decision = POLICY[endpoint]
        url = _url(app, endpoint, decision, own, own)
        for htmx in (False, True):
            form = decision.form(own, foreign) if decision.form else {}
            headers = HX if htmx else {}
            if token_source == "other session":
                headers = {**headers, "X-CSRFToken": foreign_token}
            response = client.post(url, data=form, headers=headers)
            if response.status_code != 400:
                failures.append(f"POST {url} ({endpoint}{', htmx' if htmx else ''}): {response.status_code}")
            elif "表单已过期" not in response.get_data(as_text=True):
                failures.append(f"POST {url} ({endpoint}): 400 without the CSRF message")
    assert not failures, "accepted without a valid CSRF token:\n" + "\n".join(failures)
    with app.app_context():
        assert database_fingerprint() == before, "a POST without a valid CSRF token changed the database"


# ---- malformed text: NUL characters (PostgreSQL refuses them outright) ------------------------------

def test_nul_characters_are_refused_before_they_reach_the_database(app, org):
    with app.app_context():
        world = build_world(org)
        before = database_fingerprint()
    client = log_in(app, org, "admin")
    token = csrf_for(client)
    row = world.our.ids["row"]
    answers = [client.get("/admin/users?q=ad%00min"), client.get("/ledger/changes?q=%00"),
               client.post(f"/ledger/rows/{row}", data={"progress": "推进\x00中", "version": "1"},
                           headers={**HX, "X-CSRFToken": token})]
    assert [answer.status_code for answer in answers] == [400, 400, 400]
    with app.app_context():
        assert database_fingerprint() == before
