"""Who may use the admin routes: every route × every role, anonymous users, foreign admins, CSRF.

The route list comes from the admin blueprint itself, so a route added later is covered without
touching this file; `test_every_admin_route_is_covered` checks that against the real app's url_map.
"""
from __future__ import annotations

import pytest
from flask import Flask

from webapp.admin.routes import bp as admin_bp

from .admin_factories import AdminClient, snapshot

# Values a POST might carry; enough to change something if a guard were missing.
HOSTILE_FORM = {"name": "被篡改", "kind": "class", "category": "", "parent_id": "", "display_name": "被篡改",
                "role": "admin", "unit_id": "", "locale": "en", "active": "0", "password": "hacked-password",
                "username": "intruder"}


def _admin_routes() -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every admin route, read off a bare app with only the blueprint."""
    app = Flask(__name__)
    app.register_blueprint(admin_bp)
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            routes += [(rule.endpoint, method, rule.rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(routes)


ROUTES = _admin_routes()
OBJECT_ROUTES = [route for route in ROUTES if "<" in route[2]]


def _ids(route) -> str:
    return f"{route[1]} {route[0]}"


def url_for_route(rule: str, org, owner: str = "ours") -> str:
    """Fill <unit_id>/<user_id> with an object of ours (the college) or of the foreign college."""
    unit, user = ("class1", "monitor1") if owner == "ours" else ("foreign_branch", "foreign_staff")
    return (rule.replace("<int:unit_id>", str(org.units[unit]))
                .replace("<int:user_id>", str(org.users[user])))


def hostile_form(org) -> dict:
    return {**HOSTILE_FORM, "parent_id": org.units["general"], "unit_id": org.units["general"]}


def test_every_admin_route_is_covered(app):
    in_app = sorted((rule.endpoint, method, rule.rule) for rule in app.url_map.iter_rules()
                    if rule.endpoint.startswith("admin.") for method in rule.methods - {"HEAD", "OPTIONS"})
    assert in_app == ROUTES and len(ROUTES) >= 14


@pytest.mark.parametrize("role", ["secretary", "staff1", "monitor1"])
@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_other_roles_get_403(app, client, login_as, csrf, org, role, route):
    endpoint, method, rule = route
    login_as(role)
    user = AdminClient(client, csrf(path="/"))
    with app.app_context():
        before = snapshot()
    url = url_for_route(rule, org)
    response = user.get(url) if method == "GET" else user.post(url, hostile_form(org))
    assert response.status_code == 403
    with app.app_context():
        assert snapshot() == before


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_anonymous_page_request_is_sent_to_login(app, client, csrf, org, route):
    _endpoint, method, rule = route
    url = url_for_route(rule, org)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={**hostile_form(org), "csrf_token": csrf()})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_anonymous_htmx_request_gets_401_with_hx_redirect(app, client, csrf, org, route):
    _endpoint, method, rule = route
    anonymous = AdminClient(client, csrf())
    url = url_for_route(rule, org)
    with app.app_context():
        before = snapshot()
    response = anonymous.get(url) if method == "GET" else anonymous.post(url, hostile_form(org))
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"
    with app.app_context():
        assert snapshot() == before


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=_ids)
def test_foreign_admin_gets_404_for_our_objects(app, client, login_as, csrf, org, route):
    _endpoint, method, rule = route
    login_as("foreign_admin")
    foreign = AdminClient(client, csrf(path="/"))
    form = {**hostile_form(org), "parent_id": org.units["foreign"], "unit_id": org.units["foreign"]}
    with app.app_context():
        before = snapshot()
    url = url_for_route(rule, org)
    response = foreign.get(url) if method == "GET" else foreign.post(url, form)
    assert response.status_code == 404
    with app.app_context():
        assert snapshot() == before
    # The same route works on the foreign admin's own objects, so the 404 is the scope, not a broken URL.
    own = url_for_route(rule, org, owner="theirs")
    assert (foreign.get(own) if method == "GET" else foreign.post(own, {**form, "active": "1"})).status_code < 500


def test_foreign_admin_cannot_attach_to_our_units(app, client, login_as, csrf, org):
    login_as("foreign_admin")
    foreign = AdminClient(client, csrf(path="/"))
    with app.app_context():
        before = snapshot()
    unit = {"name": "x", "kind": "class", "parent_id": org.units["class1"]}
    user = {"username": "x1", "display_name": "x", "role": "staff", "locale": "en", "unit_id": org.units["class1"],
            "password": "long-enough-1"}
    assert foreign.post("/admin/units", unit).status_code == 422
    assert foreign.post("/admin/users", user).status_code == 422
    with app.app_context():
        assert snapshot() == before
    listing = foreign.get("/admin/users").get_data(as_text=True) + foreign.get("/admin/units").get_data(as_text=True)
    assert "用户monitor1" not in listing and "2023级计算机1班" not in listing


@pytest.mark.parametrize("route", [r for r in ROUTES if r[1] == "POST"], ids=_ids)
def test_post_without_csrf_token_is_refused(app, client, login_as, org, route):
    _endpoint, _method, rule = route
    login_as("admin")
    with app.app_context():
        before = snapshot()
    response = client.post(url_for_route(rule, org), data=hostile_form(org), headers={"HX-Request": "true"})
    assert response.status_code == 400
    with app.app_context():
        assert snapshot() == before
