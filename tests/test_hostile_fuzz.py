"""No input makes the server answer 5xx: every route × every parameter × hostile values × every role.

Routes come from the URL map, so a route added later is fuzzed without touching this file. Its
parameters are what the authorization policy fills in (tests/authz_policy.py) plus what its view
reads: `request.args/form/files.get("…")` in the view and its area's modules, and the fields of the
forms the view builds. Each hostile value goes to all parameters of a route at once, and each
parameter also gets one hostile value while the others are plausible (so validation reaches it).
"""
from __future__ import annotations

import collections
import functools
import inspect
import io
import re
import sys
from urllib.parse import urlencode

import pytest
from flask import url_for
from wtforms.fields.core import UnboundField

from .authz_policy import POLICY, Decision
from .hostile_world import ROLES, build_world, csrf_for, log_in

HX = {"HX-Request": "true"}
FILE = object()  # a file part where text is expected
BAD_UTF8 = object()  # %FF%FE: percent-encoding that is not UTF-8
HOSTILE = {
    "file": FILE,
    "list": ["1", "x"],
    "nul": "a\x00b",
    "control": "a\x07\x1b[31mb",
    "huge": "99999999999999999999",
    "negative": "-99999999999999999999",
    "first day": "0001-01-01",
    "last day": "9999-12-31",
    "long": "长" * 100_000,  # in a query string: LONG_ASCII (the test client's quoting of 900 KB is slow)
    "invalid utf-8": BAD_UTF8,
}
LONG_ASCII = "x" * 100_000
# Names views commonly read, sent to every route as well (cheap, and they catch a parameter read in a helper).
COMMON = ("q", "page", "unit", "from", "to", "month", "year", "status", "kind", "next", "field", "version")
_READS = re.compile(r"""(?:args|form|files)\.(?:get|getlist)\(\s*["'](\w+)["']""")
_FORM_CLASSES = re.compile(r"\b([A-Z]\w*Form)\(")


def _form_fields(module, source: str) -> set[str]:
    names = set()
    for class_name in _FORM_CLASSES.findall(source):
        form_class = getattr(module, class_name, None)
        if inspect.isclass(form_class):
            names |= {name for name, value in inspect.getmembers(form_class) if isinstance(value, UnboundField)}
    return names


@functools.cache
def _area_sources(module) -> str:
    """The source of the view's module and the other modules of its area (queries read args too)."""
    package = module.__name__.rsplit(".", 1)[0]
    return "\n".join(inspect.getsource(m) for name, m in sorted(sys.modules.items())
                     if m is not None and (name == module.__name__ or name.startswith(package + "."))
                     and getattr(m, "__file__", None))


@functools.cache
def parameters(app, endpoint: str) -> tuple[list[str], list[str]]:
    """(what the route surely reads: its policy's fields, its view's reads and form fields; what it might read:
    its area's reads and common names). The first get a request each, all get the all-at-once requests."""
    view = inspect.unwrap(app.view_functions[endpoint])
    module = sys.modules[view.__module__]
    view_source = inspect.getsource(view)
    decision = POLICY.get(endpoint)
    focused = set(_READS.findall(view_source)) | _form_fields(module, view_source)
    if decision:
        any_ids = collections.defaultdict(lambda: 1)
        focused |= set(decision.query) | set(decision.form(any_ids, any_ids) if decision.form else {})
    every = focused | set(_READS.findall(_area_sources(module))) | set(COMMON)
    return sorted(focused - {"csrf_token"}), sorted(every - {"csrf_token"})


def _plausible_form(decision: Decision | None, ids: dict) -> dict:
    if not decision or not decision.form:
        return {}
    return {key: value for key, value in decision.form(ids, ids).items() if isinstance(value, str)}


def _url(app, endpoint: str, rule, ids: dict) -> str:
    decision = POLICY.get(endpoint, Decision(frozenset()))
    values = {arg: ids.get(decision.params.get(arg, ""), 1) for arg in rule.arguments}
    values.update({arg: ids.get(name, name) for arg, name in decision.query.items() if arg not in values})
    with app.test_request_context():
        return url_for(endpoint, **values)


def _send(client, method: str, url: str, fields: dict, token: str, htmx: bool):
    """fields: name → str, list, FILE or BAD_UTF8."""
    headers = {"X-CSRFToken": token, **(HX if htmx else {})}
    bad = [name for name, value in fields.items() if value is BAD_UTF8]
    plain = {name: value for name, value in fields.items() if value is not BAD_UTF8}
    if method == "GET":
        plain = {name: LONG_ASCII if value is HOSTILE["long"] else value for name, value in plain.items()}
        query = urlencode({k: v for k, v in plain.items() if v is not FILE}, doseq=True)
        query = "&".join(filter(None, [query] + [f"{name}=%FF%FE" for name in bad]))
        return client.get(url + ("&" if "?" in url else "?") + query, headers=headers)
    if bad:
        body = "&".join(filter(None, [urlencode({k: v for k, v in plain.items() if v is not FILE}, doseq=True)]
                                + [f"{name}=%FF%FE" for name in bad]))
        return client.post(url, data=body.encode(), content_type="application/x-www-form-urlencoded", headers=headers)
    data = {name: (io.BytesIO(b"plain text"), "u.txt") if value is FILE else value for name, value in plain.items()}
    return client.post(url, data=data, headers=headers)


def _order(app, rules) -> list[str]:
    """Reading routes first, then changes, then the ones that remove their object or end the session."""
    def key(endpoint):
        decision = POLICY.get(endpoint, Decision(frozenset()))
        return (decision.ends_session, decision.last, "GET" not in rules[endpoint].methods, endpoint)
    return sorted(rules, key=key)


@pytest.mark.parametrize("role", ["anonymous", "monitor", "staff", "secretary", "admin"])
def test_no_input_makes_a_server_error(app, org, role):
    with app.app_context():
        world = build_world(org)
        client = app.test_client() if role == "anonymous" else log_in(app, org, ROLES[role][0])
    ids = world.our.ids
    token = csrf_for(client, "/login" if role == "anonymous" else "/")
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    failures, sent = [], 0
    for endpoint in _order(app, rules):
        rule, decision = rules[endpoint], POLICY.get(endpoint)
        allowed = decision is None or (role if role != "anonymous" else "anonymous") in decision.roles
        url = _url(app, endpoint, rule, ids)
        focused, names = parameters(app, endpoint)
        for method in [m for m in ("GET", "POST") if m in rule.methods]:
            base = _plausible_form(decision, ids) if method == "POST" else {}
            # All parameters at once: long ones as ASCII, and in a query string 5,000 characters each (past what any
            # server accepts in a request line); the 100,000 Chinese characters go to one parameter at a time.
            long_for_all = LONG_ASCII if method == "POST" else LONG_ASCII[:5000]
            cases = [(f"all {label}", {name: long_for_all if label == "long" else value for name in names})
                     for label, value in HOSTILE.items()]
            if not allowed:  # refused before any parameter is read: one case of each kind of trouble is enough
                cases = cases[:1] + cases[-2:]
            else:
                kinds = list(HOSTILE.items())
                for index, name in enumerate(focused):
                    label, value = kinds[index % len(kinds)]
                    cases.append((f"{name}={label}", {**base, name: value}))
            for index, (label, fields) in enumerate(cases):
                sent += 1
                try:  # the test app propagates exceptions: a crash is a 500, noted, and the run goes on
                    response = _send(client, method, url, fields, token, htmx=index % 2 == 1)
                except Exception as error:  # noqa: BLE001
                    failures.append(f"{method} {url} ({endpoint}) {label}: {type(error).__name__}: {error}"[:300])
                    continue
                if response.status_code >= 500:
                    failures.append(f"{method} {url} ({endpoint}) {label}: {response.status_code}")
    print(f"route fuzz as {role}: {sent} requests, {len(rules)} routes")
    assert sent > 100
    assert not failures, f"{len(failures)} of {sent} requests as {role} answered 5xx:\n" + "\n".join(failures)
