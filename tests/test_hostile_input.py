"""The generic input guards, one by one (the route fuzz in test_hostile_fuzz.py sweeps them over every route)."""
from __future__ import annotations

import io

import lxml.html
import pytest

from .conftest import csrf_token_from


def login_page_token(client) -> str:
    return csrf_token_from(client.get("/login").get_data(as_text=True))


def test_a_file_part_where_text_is_expected_is_a_400_before_login(app, org):
    client = app.test_client()
    response = client.post("/login", data={"username": (io.BytesIO(b"admin"), "u.txt"), "password": "x",
                                           "csrf_token": login_page_token(client)})
    assert response.status_code == 400


def test_a_file_part_in_a_logged_in_form_is_a_400(client, login_as, org):
    login_as("admin")
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post("/admin/units", data={"name": (io.BytesIO(b"x"), "n.txt"), "kind": "class",
                                                 "parent_id": str(org.units["student1"])},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["q=%FF%FE", "q=%C3%28", "page=1&q=abc%80"])
def test_invalid_utf8_in_the_query_string_is_a_400(client, login_as, query):
    login_as("admin")
    assert client.get(f"/ledger/changes?{query}").status_code == 400


def test_invalid_utf8_in_a_form_body_is_a_400(app, org):
    client = app.test_client()
    body = f"csrf_token={login_page_token(client)}&username=%FF%FE&password=x".encode()
    response = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


@pytest.mark.parametrize("value", ["a\x00b", "a\x07b", "\x1b[31mred", "a\x0bb"])
def test_control_characters_are_a_400(client, login_as, value):
    login_as("admin")
    assert client.get("/admin/users", query_string={"q": value}).status_code == 400


def test_tabs_and_newlines_are_ordinary_text(client, login_as):
    login_as("admin")
    assert client.get("/admin/users", query_string={"q": "a\tb\r\nc"}).status_code == 200


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_extreme_dates_in_the_change_log_filter_are_ignored(client, login_as, day):
    login_as("admin")
    for name in ("from", "to"):
        response = client.get(f"/ledger/changes?{name}={day}")
        assert response.status_code == 200


def test_an_overlong_query_value_is_a_400(client, login_as):
    login_as("admin")
    assert client.get("/admin/users", query_string={"q": "长" * 100_000}).status_code == 400


def test_a_json_body_reaches_no_form(app, org):
    client = app.test_client()
    login_page_token(client)
    for body in ("[1, 2]", '"text"', '{"username": ["a"], "password": 5}'):
        response = client.post("/login", data=body, content_type="application/json")
        assert response.status_code in (200, 400)


@pytest.mark.parametrize("year", ["99999999999999999999", "-99999999999999999999"])
def test_a_huge_number_gets_a_message_beside_the_field(client, login_as, year):
    login_as("admin")
    token = csrf_token_from(client.get("/plans/").get_data(as_text=True))
    response = client.post("/plans/", data={"year": year, "text": "一、学习\n1.开展学习。"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 422
    tree = lxml.html.fromstring(response.get_data(as_text=True))
    assert tree.xpath("//*[contains(@class, 'field-error') or @role='alert']")


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_an_extreme_date_in_a_form_gets_a_message(client, login_as, org, day):
    from .activities_factories import make_plan  # noqa: F401  (kinds come with the world below)
    from .hostile_world import build_world
    with client.application.app_context():
        world = build_world(org)
    login_as("monitor1")
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post("/activities/new", headers={"X-CSRFToken": token},
                           data={"unit": world.our.ids["unit"], "kind": world.our.ids["kind"], "held_on": day,
                                 "topic": "主题班会", "present": "1", "expected": "2", "action": "save"})
    assert response.status_code in (200, 422)
    assert "has-error" in response.get_data(as_text=True)
