"""The JSON API: tokens, scope, CSRF, throttling, resources, pagination, ETags, errors, the lost-update check."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.activities_factories import kind_id, make_activity
from tests.activities_factories import make_plan as make_requirement_plan
from tests.api_helpers import bearer, expire_token, make_token
from tests.ledger_factories import make_plan, post_row, rows_of
from webapp.api import tokens
from webapp.extensions import db
from webapp.clock import frozen_clock, local_today
from webapp.models import Activity, ApiToken, AuditEntry, LedgerRow

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def ledger(app, org):
    with app.app_context():
        return make_plan(org.units["general"], [org.units[k] for k in ("faculty1", "student1", "class1")])


@pytest.fixture
def staff_token(app, org):
    return make_token(app, org.users["staff1"])


def stored_row(app, row_id):
    with app.app_context():
        row = db.session.get(LedgerRow, row_id)
        db.session.expunge(row)
        return row


def error_of(response) -> dict:
    body = response.get_json()
    assert set(body["error"]) == {"code", "message", "field"}
    return body["error"]


# ---- tokens on the account page ---------------------------------------------------------------------

def test_token_is_created_on_the_account_page_shown_once_and_stored_hashed(app, client, login_as, csrf, org):
    login_as("staff1")
    token = csrf(path="/account/tokens")
    response = client.post("/account/tokens", data={"name": "党建平台", "access": "read_write", "days": "30",
                                                    "csrf_token": token})
    assert response.status_code == 201
    secret = re.search(r'value="(tzk_[^"]+)"', response.get_data(as_text=True)).group(1)
    with app.app_context():
        stored = db.session.execute(select(ApiToken)).scalar_one()
        assert stored.token_hash == tokens.hash_secret(secret) and secret not in (stored.token_hash, stored.prefix)
        assert stored.can_write and timedelta(days=29) < stored.expires_at - stored.created_at <= timedelta(days=30)
        assert db.session.execute(select(AuditEntry).where(AuditEntry.entity == "api_token",
                                                           AuditEntry.action == "create")).scalar_one()
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in listing and stored.prefix in listing and "从未使用" in listing
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert "从未使用" not in client.get("/account/tokens").get_data(as_text=True)  # last use shown


def test_token_expiry_is_at_most_a_year_and_a_name_is_needed(client, login_as, csrf, app):
    login_as("staff1")
    token = csrf(path="/account/tokens")
    for data in ({"name": "x", "access": "read_only", "days": "400"}, {"name": "", "access": "read_only", "days": "30"},
                 {"name": "x", "access": "admin", "days": "30"}):
        response = client.post("/account/tokens", data={**data, "csrf_token": token})
        assert response.status_code == 422 and CJK.search(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.execute(select(ApiToken)).first() is None


def test_revoked_and_expired_tokens_are_refused(app, client, login_as, csrf, org):
    revoked, expired = make_token(app, org.users["staff1"]), make_token(app, org.users["staff1"])
    login_as("staff1")
    with app.app_context():
        token_id = db.session.execute(select(ApiToken.id).where(
            ApiToken.token_hash == tokens.hash_secret(revoked))).scalar_one()
    assert client.post("/account/tokens/revoke", data={"token_id": token_id, "csrf_token": csrf(path="/account/tokens")}).status_code == 302
    expire_token(app, expired)
    fresh = app.test_client()
    for secret, code in ((revoked, "token_revoked"), (expired, "token_expired"), ("tzk_made-up", "token_invalid"),
                         ("not-even-a-token", "token_invalid")):
        response = fresh.get("/api/v1/me", headers=bearer(secret))
        assert response.status_code == 401 and error_of(response)["code"] == code
        assert CJK.search(error_of(response)["message"])
    with app.app_context():
        assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "revoke")).scalar_one()


def test_someone_elses_token_cannot_be_revoked(app, client, login_as, csrf, org):
    secret = make_token(app, org.users["staff2"])
    with app.app_context():
        token_id = db.session.execute(select(ApiToken.id)).scalar_one()
    login_as("admin")
    client.post("/account/tokens/revoke", data={"token_id": token_id, "csrf_token": csrf(path="/account/tokens")})
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200


def test_a_token_acts_as_its_user_without_a_cookie_session(app, org, staff_token):
    client = app.test_client()
    response = client.get("/api/v1/me", headers=bearer(staff_token))
    assert response.get_json()["username"] == "staff1" and response.get_json()["token_access"] == "read_write"
    assert "Set-Cookie" not in response.headers
    assert client.get_cookie("session") is None
    # Tokens open the API only, not the site's pages.
    assert client.get("/", headers=bearer(staff_token)).status_code == 302


def test_a_token_wins_over_a_cookie_session_of_someone_else(app, client, login_as, org, staff_token):
    login_as("admin")
    assert client.get("/api/v1/me", headers=bearer(staff_token)).get_json()["username"] == "staff1"
    assert client.get("/api/v1/me").get_json()["username"] == "admin"


def test_anonymous_gets_a_json_401(client):
    response = client.get("/api/v1/units")
    assert response.status_code == 401 and error_of(response)["code"] == "login_required"


# ---- read-only tokens, CSRF --------------------------------------------------------------------------

def test_read_only_tokens_cannot_write(app, client, org, ledger):
    secret = make_token(app, org.users["staff1"], write=False)
    row = rows_of(ledger, org.units["faculty1"])[0]
    assert client.get(f"/api/v1/ledger-rows/{row}", headers=bearer(secret)).status_code == 200
    response = client.patch(f"/api/v1/ledger-rows/{row}", json={"progress": "只读"}, headers=bearer(secret, **{"If-Match": '"1"'}))
    assert response.status_code == 403 and error_of(response)["code"] == "read_only_token"
    response = client.post("/api/v1/activities", json={"kind_id": 1, "held_on": "2026-01-01", "topic": "x"},
                           headers=bearer(secret))
    assert response.status_code == 403
    assert stored_row(app, row).progress == "" and stored_row(app, row).version == 1


def test_cookie_sessions_need_the_csrf_header_and_tokens_do_not(app, client, login_as, csrf, org, ledger, staff_token):
    row = rows_of(ledger, org.units["faculty1"])[0]
    login_as("staff1")
    response = client.patch(f"/api/v1/ledger-rows/{row}", json={"progress": "无令牌"}, headers={"If-Match": '"1"'})
    assert response.status_code == 400 and error_of(response)["code"] == "csrf"
    assert stored_row(app, row).version == 1
    token = csrf(path="/")
    response = client.patch(f"/api/v1/ledger-rows/{row}", json={"progress": "带令牌"},
                            headers={"If-Match": '"1"', "X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["progress"] == "带令牌"
    response = app.test_client().patch(f"/api/v1/ledger-rows/{row}", json={"progress": "令牌写入"},
                                       headers=bearer(staff_token, **{"If-Match": '"2"'}))
    assert response.status_code == 200 and response.get_json()["version"] == 3
    with app.app_context():
        writes = db.session.execute(select(AuditEntry).where(AuditEntry.entity == "api_token",
                                                             AuditEntry.action == "write")).scalars().all()
        assert len(writes) == 1 and writes[0].after == f"PATCH /api/v1/ledger-rows/{row}"


# ---- throttling --------------------------------------------------------------------------------------

def test_tokens_are_throttled_per_token_with_a_frozen_clock(app, org, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 3)
    monkeypatch.setitem(app.config, "API_RATE_WINDOW_SECONDS", 60)
    start = datetime(2027, 1, 15, 8, 0, 10, tzinfo=timezone.utc)  # 10 s into a minute: a window starts at :00
    client = app.test_client()

    def me(secret, seconds_later=0):
        with frozen_clock(start + timedelta(seconds=seconds_later)):
            return client.get("/api/v1/me", headers=bearer(secret))

    with frozen_clock(start):
        first, second = make_token(app, org.users["staff1"]), make_token(app, org.users["staff1"])
    assert [me(first).status_code for _ in range(3)] == [200, 200, 200]
    throttled = me(first)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "50"
    assert error_of(throttled)["code"] == "throttled" and CJK.search(error_of(throttled)["message"])
    assert me(second).status_code == 200  # per token
    assert me(first, 49).headers["Retry-After"] == "1"
    assert me(first, 50).status_code == 200  # the next window
    with app.app_context():  # the count lives in the database, where every worker sees it
        assert db.session.execute(select(ApiToken.window_count).where(
            ApiToken.token_hash == tokens.hash_secret(first))).scalar_one() == 1


# ---- resources ---------------------------------------------------------------------------------------

def test_plans_units_and_ledger_rows(app, client, org, ledger, staff_token):
    headers = bearer(staff_token)
    plans = client.get("/api/v1/plans", headers=headers).get_json()
    assert [p["id"] for p in plans["items"]] == [ledger["plan"]] and plans["next_cursor"] is None
    tasks = [t["id"] for s in plans["items"][0]["sections"] for t in s["tasks"]]
    assert tasks == ledger["tasks"]
    units = client.get("/api/v1/units", headers=headers).get_json()["items"]
    assert [u["id"] for u in units] == [org.units["faculty1"]]  # staff1's subtree
    rows = client.get(f"/api/v1/units/{org.units['faculty1']}/ledger-rows", headers=headers).get_json()["items"]
    assert [r["id"] for r in rows] == rows_of(ledger, org.units["faculty1"])
    assert client.get(f"/api/v1/units/{org.units['student1']}/ledger-rows", headers=headers).status_code == 404
    assert client.get(f"/api/v1/ledger-rows/{rows_of(ledger, org.units['class1'])[0]}", headers=headers).status_code == 404


def test_ledger_filters_and_cursor_pagination(app, client, org, ledger, staff_token):
    rows = rows_of(ledger, org.units["faculty1"])
    with app.app_context():
        db.session.get(LedgerRow, rows[1]).status = "in_progress"
        db.session.get(LedgerRow, rows[3]).progress = "召开专题会议"
        db.session.commit()
    url, headers = f"/api/v1/units/{org.units['faculty1']}/ledger-rows", bearer(staff_token)
    assert [r["id"] for r in client.get(url + "?status=in_progress", headers=headers).get_json()["items"]] == [rows[1]]
    assert [r["id"] for r in client.get(url + "?q=专题会议", headers=headers).get_json()["items"]] == [rows[3]]
    section = ledger["sections"][1]
    assert [r["id"] for r in client.get(f"{url}?section={section}", headers=headers).get_json()["items"]] == rows[2:]
    seen, cursor = [], None
    while True:
        page = client.get(url + "?limit=1" + (f"&cursor={cursor}" if cursor else ""), headers=headers).get_json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == rows
    for bad in ("?limit=501", "?limit=0", "?cursor=%%%", "?status=bogus", "?colour=red"):
        response = client.get(url + bad, headers=headers)
        assert response.status_code == 400, bad
    assert error_of(client.get(url + "?colour=red", headers=headers)) == {
        "code": "unknown_field", "field": "colour", "message": "未知字段：colour。"}


def test_every_answer_has_an_etag_and_a_matching_if_none_match_gets_304(client, org, ledger, staff_token):
    row = rows_of(ledger, org.units["faculty1"])[0]
    answer = client.get(f"/api/v1/ledger-rows/{row}", headers=bearer(staff_token))
    assert answer.headers["ETag"] == '"1"'
    again = client.get(f"/api/v1/ledger-rows/{row}", headers=bearer(staff_token, **{"If-None-Match": '"1"'}))
    assert again.status_code == 304
    for path in ("/api/v1/units", "/api/v1/plans", "/api/v1/me", "/api/v1/ledger-rows/999999"):
        assert client.get(path, headers=bearer(staff_token)).headers.get("ETag")


# ---- PATCH a ledger row ------------------------------------------------------------------------------

def patch(client, row, secret, if_match, **fields):
    return client.patch(f"/api/v1/ledger-rows/{row}", data=json.dumps(fields), content_type="application/json",
                        headers=bearer(secret, **({"If-Match": f'"{if_match}"'} if if_match is not None else {})))


def test_patch_changes_only_the_sent_fields_with_the_editors_validation_and_audit(app, client, org, ledger, staff_token):
    row = rows_of(ledger, org.units["faculty1"])[0]
    response = patch(client, row, staff_token, 1, progress="  已召开支部大会  ", lead="王书记")
    assert response.status_code == 200 and response.headers["ETag"] == '"2"'
    body = response.get_json()
    assert (body["progress"], body["lead"], body["members"], body["version"]) == ("已召开支部大会", "王书记", "", 2)
    with app.app_context():
        fields = {e.field for e in db.session.execute(select(AuditEntry).where(
            AuditEntry.entity == "ledger_row", AuditEntry.entity_id == row)).scalars()}
        assert fields == {"progress", "lead"}
    invalid = patch(client, row, staff_token, 2, status="done")
    assert invalid.status_code == 422 and error_of(invalid)["field"] == "completed_on"
    assert error_of(invalid)["message"] == "标记为已完成时请填写完成日期。"
    with app.app_context():
        future = (local_today() + timedelta(days=2)).isoformat()
    assert error_of(patch(client, row, staff_token, 2, status="done", completed_on=future))["field"] == "completed_on"
    unknown = patch(client, row, staff_token, 2, progress="x", version=5)
    assert unknown.status_code == 400 and error_of(unknown)["field"] == "version"
    assert patch(client, row, staff_token, 2, progress=5).status_code == 400
    assert patch(client, row, staff_token, None, progress="x").status_code == 428
    assert stored_row(app, row).version == 2


def test_a_stale_if_match_gets_412_with_the_current_row_and_changes_nothing(app, client, org, ledger, staff_token):
    row = rows_of(ledger, org.units["faculty1"])[0]
    assert patch(client, row, staff_token, 1, progress="第一次").status_code == 200
    stale = patch(client, row, staff_token, 1, progress="第二次")
    assert stale.status_code == 412 and stale.headers["ETag"] == '"2"'
    assert error_of(stale)["code"] == "stale" and stale.get_json()["current"]["progress"] == "第一次"
    assert stored_row(app, row).progress == "第一次" and stored_row(app, row).version == 2


def test_lost_update_check_holds_for_api_writes_mixed_with_inline_edits(app, client, login_as, csrf, org, ledger,
                                                                        staff_token):
    row = rows_of(ledger, org.units["faculty1"])[0]
    browser = login_as("staff2", app.test_client())  # staff2 cannot edit faculty1: use the admin's browser
    browser = login_as("admin", app.test_client())
    token = csrf(browser, path="/")
    # Both read version 1; the inline editor saves first, the API's save on version 1 must not overwrite it.
    assert post_row(browser, row, token, progress="网页上的修改", version="1").status_code == 200
    api = patch(client, row, staff_token, 1, progress="接口的修改")
    assert api.status_code == 412 and api.get_json()["current"]["progress"] == "网页上的修改"
    # And the other way round: the API saves version 2, the editor's stale save on 2 gets its 409.
    assert patch(client, row, staff_token, 2, progress="接口再次修改").status_code == 200
    assert post_row(browser, row, token, progress="网页过期的修改", version="2").status_code == 409
    assert stored_row(app, row).progress == "接口再次修改" and stored_row(app, row).version == 3


def test_patch_needs_the_right_to_edit_the_row(app, client, org, ledger):
    secretary = make_token(app, org.users["secretary"])
    row = rows_of(ledger, org.units["faculty1"])[0]
    assert patch(client, row, secretary, 1, progress="x").status_code == 403
    foreign = make_token(app, org.users["foreign_admin"])
    assert patch(client, row, foreign, 1, progress="x").status_code == 404
    assert stored_row(app, row).version == 1


# ---- activities --------------------------------------------------------------------------------------

def test_activities_create_submit_review_as_the_role_may(app, client, org):
    monitor, staff = make_token(app, org.users["monitor1"]), make_token(app, org.users["staff2"])
    with app.app_context():
        kind = kind_id("主题班会")
        today = local_today()
    held_on = max(date(today.year, 1, 1), today - timedelta(days=1)).isoformat()
    body = {"kind_id": kind, "held_on": held_on, "topic": "主题班会：诚信", "present": 30, "expected": 32}
    created = client.post("/api/v1/activities", json=body, headers=bearer(monitor))
    assert created.status_code == 201 and created.get_json()["status"] == "draft"
    activity_id = created.get_json()["id"]
    assert created.headers["Location"].endswith(f"/api/v1/activities/{activity_id}")
    assert client.post(f"/api/v1/activities/{activity_id}/review", json={"decision": "approve"},
                       headers=bearer(monitor)).status_code == 403
    assert client.post(f"/api/v1/activities/{activity_id}/submit", headers=bearer(monitor)).get_json()["status"] == "submitted"
    assert client.post(f"/api/v1/activities/{activity_id}/submit", headers=bearer(monitor)).status_code in (403, 409)
    missing = client.post(f"/api/v1/activities/{activity_id}/review", json={"decision": "return"}, headers=bearer(staff))
    assert missing.status_code == 422 and error_of(missing)["field"] == "comment"
    returned = client.post(f"/api/v1/activities/{activity_id}/review", json={"decision": "return", "comment": "请补充照片"},
                           headers=bearer(staff))
    assert returned.get_json()["status"] == "returned" and returned.get_json()["review_comment"] == "请补充照片"
    listed = client.get("/api/v1/activities?status=returned", headers=bearer(monitor)).get_json()["items"]
    assert [a["id"] for a in listed] == [activity_id]
    invalid = client.post("/api/v1/activities", json={**body, "present": 40}, headers=bearer(monitor))
    assert invalid.status_code == 422 and error_of(invalid)["field"] == "present" and CJK.search(error_of(invalid)["message"])
    future = client.post("/api/v1/activities", json={**body, "held_on": (today + timedelta(days=3)).isoformat()},
                         headers=bearer(monitor))
    assert future.status_code == 422 and error_of(future)["field"] == "held_on"
    other_class = client.post("/api/v1/activities", json={**body, "unit_id": org.units["class2"]}, headers=bearer(monitor))
    assert other_class.status_code == 404  # outside the monitor's scope: not there at all
    secretary = make_token(app, org.users["secretary"])
    assert client.post("/api/v1/activities", json=body, headers=bearer(secretary)).status_code == 403
    with app.app_context():
        assert db.session.execute(select(Activity)).scalars().all().__len__() == 1
        actions = [e.action for e in db.session.execute(select(AuditEntry).where(
            AuditEntry.entity == "activity").order_by(AuditEntry.id)).scalars()]
        assert actions[:2] == ["create", "submit"] and "return" in actions
        writes = [e.after for e in db.session.execute(select(AuditEntry).where(
            AuditEntry.entity == "api_token", AuditEntry.action == "write").order_by(AuditEntry.id)).scalars()]
        assert writes == ["POST /api/v1/activities", f"POST /api/v1/activities/{activity_id}/submit",
                          f"POST /api/v1/activities/{activity_id}/review"]


def test_activity_list_pages_newest_first(app, client, org):
    with app.app_context():
        ids = [make_activity(org.units["class1"], "主题班会", date(2025, 3, day)) for day in (1, 5, 5, 9)]
    secret = make_token(app, org.users["staff2"])
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/activities?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                          headers=bearer(secret)).get_json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [ids[3], ids[2], ids[1], ids[0]]


# ---- compliance and the overview ---------------------------------------------------------------------

def test_compliance_rows_are_the_cli_rows_for_any_period_range(app, client, org, runner):
    year = 2025
    with app.app_context():
        make_requirement_plan(org.units["general"], year, [{"kind": "主题班会", "cadence": "month", "level": "class"}])
        make_requirement_plan(org.units["general"], year + 1, [{"kind": "主题班会", "cadence": "quarter", "level": "class"}])
        make_activity(org.units["class1"], "主题班会", date(year, 3, 10))
    cli = []
    for y in (year, year + 1):
        cli += json.loads(runner.invoke(args=["compliance", "--year", str(y), "--as-of", "2026-06-30", "--json"]).output)
    ours = [row for row in cli if row["unit_id"] in {org.units[k] for k in ("class1", "class2", "class3")}]
    secret = make_token(app, org.users["admin"])
    api = client.get(f"/api/v1/compliance?from={year}-01-01&to={year + 1}-12-31&as_of=2026-06-30&limit=500",
                     headers=bearer(secret)).get_json()
    key = lambda row: json.dumps(row, sort_keys=True, ensure_ascii=False)  # noqa: E731
    assert sorted(map(key, api["items"])) == sorted(map(key, ours)) and len(ours) == 3 * 12 + 3 * 4
    march = client.get(f"/api/v1/compliance?from={year}-03-01&to={year}-03-31&unit={org.units['student1']}&as_of=2026-06-30",
                       headers=bearer(secret)).get_json()["items"]
    assert {(r["unit_id"], r["period"], r["done"], r["state"]) for r in march} == {
        (org.units["class1"], f"{year}-03", 1, "met"), (org.units["class2"], f"{year}-03", 0, "missing")}
    monitor = make_token(app, org.users["monitor1"])
    mine = client.get(f"/api/v1/compliance?year={year}", headers=bearer(monitor)).get_json()["items"]
    assert {r["unit_id"] for r in mine} == {org.units["class1"]}
    for odd in ("from=2020-01-01&to=2035-01-01", "from=9999-12-31", "to=0001-01-01", "from=2026-02-30", "year=99999"):
        assert client.get(f"/api/v1/compliance?{odd}", headers=bearer(secret)).status_code == 400, odd


def test_overview_figures_per_unit(app, client, org, ledger):
    secret = make_token(app, org.users["secretary"])
    with app.app_context():
        db.session.get(LedgerRow, rows_of(ledger, org.units["faculty1"])[0]).status = "done"
        db.session.commit()
    body = client.get("/api/v1/overview?year=2023", headers=bearer(secret)).get_json()
    by_unit = {row["unit_id"]: row for row in body["rows"]}
    assert by_unit[org.units["faculty1"]]["tasks_done"] == 1 and by_unit[org.units["faculty1"]]["tasks_assigned"] == 4
    assert body["total"]["tasks_assigned"] == 12
    assert client.get("/api/v1/overview", headers=bearer(make_token(app, org.users["monitor1"]))).status_code == 403


# ---- the document and the reference page --------------------------------------------------------------

def test_openapi_document_is_3_1_and_describes_every_api_route(app, client, org, staff_token):
    from jsonschema import Draft202012Validator
    document = client.get("/api/v1/openapi.json", headers=bearer(staff_token)).get_json()
    assert document["openapi"] == "3.1.0"
    routes = {(rule.rule, method.lower()) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(re.sub(r"\{(\w+)\}", lambda m: f"<int:{m.group(1)}>", path), method)
                  for path, operations in document["paths"].items() for method in operations}
    assert documented == routes
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
    patch_op = document["paths"]["/api/v1/ledger-rows/{row_id}"]["patch"]
    assert {"200", "400", "401", "403", "404", "412", "422", "428", "429"} <= set(patch_op["responses"])


def test_reference_page_is_behind_login_and_served_from_vendored_files(app, client, login_as):
    assert client.get("/api/docs").status_code == 302
    login_as("monitor1")
    html = client.get("/api/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in html and "http" not in re.sub(
        r'href="[^"]*"|content="[^"]*"', "", re.search(r"<head>.*</head>", html, re.S).group(0)).replace("http-equiv", "")
    assert "<script>" not in html
    assert client.get("/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200  # the page's fetch, with the cookie


def test_every_api_answer_is_checked_against_the_document(api_answers_follow_the_document, client, staff_token):
    # The hook (tests/api_contract.py) raises on any mismatch; here: it really runs. An answer of this test's own,
    # since under pytest-xdist no other API test need have run in this process before it.
    checked = len(api_answers_follow_the_document)
    assert client.get("/api/v1/me", headers=bearer(staff_token)).status_code == 200
    assert api_answers_follow_the_document[checked:] == ["GET /api/v1/me → 200"]


def test_unknown_body_fields_are_refused_everywhere(app, client, org, ledger, staff_token):
    row = rows_of(ledger, org.units["faculty1"])[0]
    with app.app_context():
        activity = make_activity(org.units["faculty1"], "主题班会", date(2025, 3, 1), status="draft")
    refused = client.post(f"/api/v1/activities/{activity}/submit", json={"force": True}, headers=bearer(staff_token))
    assert refused.status_code == 400 and error_of(refused)["field"] == "force"
    wrong_type = client.patch(f"/api/v1/ledger-rows/{row}", data="[1]", content_type="application/json",
                              headers=bearer(staff_token, **{"If-Match": '"1"'}))
    assert wrong_type.status_code == 400
    not_json = client.patch(f"/api/v1/ledger-rows/{row}", data="progress=x", headers=bearer(staff_token, **{"If-Match": "1"}))
    assert not_json.status_code == 400 and CJK.search(error_of(not_json)["message"])
    with app.app_context():
        assert db.session.get(Activity, activity).status == "draft" and db.session.get(LedgerRow, row).version == 1


def test_a_body_past_the_size_limit_is_a_json_413(app, client, org, ledger, staff_token, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    row = rows_of(ledger, org.units["faculty1"])[0]
    response = patch(client, row, staff_token, 1, progress="长" * 2000)
    assert response.status_code == 413 and error_of(response)["code"] == "too_large"
    assert stored_row(app, row).version == 1


# ---- field-level merge (the inline editor's contract) --------------------------------------------------

def test_a_stale_if_match_is_merged_when_other_fields_changed(app, client, login_as, csrf, org, ledger, staff_token):
    row = rows_of(ledger, org.units["faculty1"])[0]
    browser = login_as("admin", app.test_client())
    assert post_row(browser, row, csrf(browser, path="/"), lead="网页负责人", version="1").status_code == 200
    merged = patch(client, row, staff_token, 1, progress="接口推进")  # based on version 1, another field
    assert merged.status_code == 200 and merged.headers["ETag"] == '"3"'
    body = merged.get_json()
    assert (body["lead"], body["progress"], body["version"]) == ("网页负责人", "接口推进", 3)
    same = patch(client, row, staff_token, 1, lead="接口负责人")  # still version 1, now the same field
    assert same.status_code == 412 and error_of(same)["field"] == "lead" and same.headers["ETag"] == '"3"'
    assert same.get_json()["current"]["lead"] == "网页负责人" and same.get_json()["current"]["version"] == 3
    stored = stored_row(app, row)
    assert (stored.lead, stored.progress, stored.version) == ("网页负责人", "接口推进", 3)
    with app.app_context():
        changes = [(e.field, e.after) for e in db.session.execute(select(AuditEntry).where(
            AuditEntry.entity == "ledger_row", AuditEntry.entity_id == row).order_by(AuditEntry.id)).scalars()]
        assert changes == [("lead", "网页负责人"), ("progress", "接口推进")]


def test_the_inline_editor_merges_over_an_api_write_of_another_field(app, client, login_as, csrf, org, ledger,
                                                                     staff_token):
    row = rows_of(ledger, org.units["faculty1"])[0]
    assert patch(client, row, staff_token, 1, remarks="接口备注").status_code == 200
    browser = login_as("admin", app.test_client())
    assert post_row(browser, row, csrf(browser, path="/"), members="网页成员", version="1").status_code == 200
    stored = stored_row(app, row)
    assert (stored.remarks, stored.members, stored.version) == ("接口备注", "网页成员", 3)


def test_token_entries_read_well_in_the_change_log(app, client, login_as, org, ledger, staff_token):
    row = rows_of(ledger, org.units["faculty1"])[0]
    assert patch(app.test_client(), row, staff_token, 1, progress="接口推进").status_code == 200
    login_as("admin")
    response = client.get("/ledger/changes")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "API 令牌" in text and "通过 API 修改" in text and "创建" in text


def test_deeply_nested_json_is_a_400_not_a_500(app, client, org, ledger, staff_token):
    """json.loads raises RecursionError (not ValueError) on deep nesting: a body or a cursor built that way is
    malformed input like any other."""
    import base64
    row = rows_of(ledger, org.units["faculty1"])[0]
    response = client.patch(f"/api/v1/ledger-rows/{row}", data="[" * 100_000, content_type="application/json",
                            headers=bearer(staff_token, **{"If-Match": '"1"'}))
    assert response.status_code == 400, response.status_code
    cursor = base64.urlsafe_b64encode(b"[" * 3000).decode().rstrip("=")
    response = client.get(f"/api/v1/plans?cursor={cursor}", headers=bearer(staff_token))
    assert response.status_code == 400, response.status_code
    assert stored_row(app, row).version == 1
