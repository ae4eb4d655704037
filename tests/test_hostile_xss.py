"""Stored XSS: a corpus of payloads in every free-text field, rendered in Chromium and in the exports.

Every page that shows the payloads is opened as a role that sees them; a page fails when a dialog
opens, `window.__xss` is set, the CSP reports a violation, an element the payloads would create
exists, or the payload is not readable as text. Editor fragments are checked on the server (their
inputs carry the payload exactly), and so are the Excel exports: payloads stay plain strings and
nothing that starts like a formula becomes one.
"""
from __future__ import annotations

import io
import itertools
import zipfile
from datetime import date

import lxml.html
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Activity, ActivityKind, AuditEntry, LedgerRow, Plan, Unit, User

from .conftest import browser_login
from .hostile_world import PDF, build_world, csrf_for, log_in

PAYLOADS = [
    "<script>window.__xss=1;alert(1)</script>",
    '"><img src=x onerror="window.__xss=1;alert(1)">',
    "javascript:window.__xss=1;alert(1)",
    "<svg/onload=window.__xss=1;alert(1)>",
    "{{7*191*1000}}",  # a template engine would print 1337000, a number no page shows otherwise
    "'';!--\"<XSS>=&{()}",
    "</textarea><script>window.__xss=1</script>",
    "支部会议<script>window.__xss=1</script>记录",
    '<a href="javascript:alert(1)" data-xss>点我</a>',
    "<iframe srcdoc='<script>parent.__xss=1</script>'>",
    '<b hx-get="/logout" hx-trigger="load" data-xss>x</b>',
]
# Text that spreadsheets would run: in the general branch's own ledger row, exported beside the rest.
FORMULAS = {"lead": '=HYPERLINK("http://evil.example","x")', "members": "@SUM(1)", "progress": "=1+1",
            "remarks": "+cmd|' /C calc'!A0"}
# Elements or attributes that exist only if a payload was parsed as HTML.
INJECTED = ("img[src='x'], svg[onload], [onerror], [data-xss], xss, iframe[srcdoc], main script:not([src]), "
            "a[href^='javascript']")
FILE_NAMES = ["{{7*191*1000}}.pdf", "<img src=x onerror=alert(1)>.pdf", "支部'><svg onload=alert(1)>.pdf"]


def _store_payloads(org) -> dict:
    """Write a payload into every free-text field of our college's objects; returns where each went."""
    world = build_world(org)
    ids = world.our.ids
    corpus = itertools.cycle(PAYLOADS)
    placed: dict[str, str] = {}

    def put(obj, attribute: str, key: str) -> None:
        placed[key] = next(corpus)
        setattr(obj, attribute, placed[key])

    for plan_id in (ids["plan"], ids["published_plan"]):
        plan = db.session.get(Plan, plan_id)
        put(plan, "title", f"plan{plan_id}.title")
        for section in plan.sections:
            put(section, "title", f"section{section.id}.title")
        for task in plan.tasks:
            for attribute in ("title", "body", "lead", "members", "deadline_text"):
                put(task, attribute, f"task{task.id}.{attribute}")
            for requirement in task.requirements:
                put(requirement, "text", f"requirement{requirement.id}.text")
    row = db.session.get(LedgerRow, ids["row"])
    for attribute in ("lead", "members", "progress", "remarks"):
        put(row, attribute, f"row.{attribute}")
    general_row = db.session.execute(select(LedgerRow).where(LedgerRow.unit_id == ids["general"])).scalar_one()
    for attribute, formula in FORMULAS.items():
        setattr(general_row, attribute, formula)
    kind = ActivityKind(unit_id=ids["general"], name=PAYLOADS[2], cadence="month", count=1, level="class", position=99)
    db.session.add(kind)
    db.session.flush()
    placed["kind.name"] = kind.name
    for activity_id in (ids["activity"], ids["submitted_activity"]):
        activity = db.session.get(Activity, activity_id)
        activity.kind_id = kind.id
        for attribute in ("topic", "place", "host", "summary", "review_comment"):
            put(activity, attribute, f"activity{activity_id}.{attribute}")
    for key in ("general", "unit"):
        put(db.session.get(Unit, ids[key]), "name", f"unit.{key}")
    for key in ("admin", "monitor1"):
        put(db.session.get(User, org.users[key]), "display_name", f"user.{key}")
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.entity == "ledger_row")).scalars().first()
    put(entry, "after", "audit.after")
    db.session.commit()
    placed.update({"ids": ids})
    return placed


@pytest.fixture
def stored(app, org):
    with app.app_context():
        placed = _store_payloads(org)
    ids = placed["ids"]
    # File names go through the upload routes, as a user would send them.
    client = log_in(app, org, "monitor1")
    token = csrf_for(client)
    for name in FILE_NAMES:
        response = client.post(f"/ledger/rows/{ids['row']}/files", data={"file": (io.BytesIO(PDF), name)},
                               headers={"HX-Request": "true", "X-CSRFToken": token})
        assert response.status_code == 200, response.get_data(as_text=True)[-600:]
    return placed


# ---- in the browser ---------------------------------------------------------------------------------

WATCH = """
window.__xss = 0;
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def _pages(ids: dict) -> dict[str, list[str]]:
    row, unit, activity = ids["row"], ids["unit"], ids["activity"]
    cell = f"/activities/compliance/cell?unit={unit}&requirement={ids['published_requirement']}&period={ids['period']}"
    return {
        "admin": ["/", "/admin/units", "/admin/users", "/activities/kinds", "/plans/", f"/plans/{ids['plan']}",
                  f"/plans/{ids['published_plan']}", "/ledger/changes", "/overview", f"/activities/{activity}",
                  "/activities/compliance"],
        "secretary": ["/", f"/units/{unit}/ledger", f"/ledger/rows/{row}/history", f"/units/{unit}/obligations",
                      "/activities/", cell],
        "monitor1": ["/", f"/units/{unit}/ledger", f"/activities/{activity}/edit",
                     f"/activities/{ids['submitted_activity']}"],
    }


# What each page must show as text (keys of the placed payloads).
VISIBLE = {
    "/admin/units": ["unit.general", "unit.unit"], "/admin/users": ["user.monitor1"],
    "/activities/kinds": ["kind.name"], "ledger": ["row.progress", "row.lead", "row.remarks"],
    "history": ["audit.after"], "activity": ["activity.topic", "activity.place", "activity.summary"],
}


def _visible_keys(path: str, ids: dict) -> list[str]:
    if path.endswith("/ledger"):
        return VISIBLE["ledger"]
    if path.endswith("/history"):
        return VISIBLE["history"]
    if path == f"/activities/{ids['activity']}":
        return [key.replace("activity.", f"activity{ids['activity']}.") for key in VISIBLE["activity"]]
    if path == f"/plans/{ids['plan']}":
        return [f"task{ids['task']}.title", f"task{ids['task']}.body", f"section{ids['section']}.title"]
    return VISIBLE.get(path, [])


@pytest.mark.parametrize("user", ["admin", "secretary", "monitor1"])
def test_payloads_render_as_text_in_the_browser(live_server, page, stored, user):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(WATCH)
    browser_login(page, live_server, user)
    failures = []
    for path in _pages(stored["ids"])[user]:
        response = page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
        state = page.evaluate(f"""() => ({{xss: window.__xss, csp: window.__csp,
            injected: [...document.querySelectorAll({INJECTED!r})].map(e => e.outerHTML.slice(0, 80)),
            text: document.body.innerText}})""")
        if response.status != 200:
            failures.append(f"{path}: {response.status}")
        if state["xss"] or state["csp"] or state["injected"]:
            failures.append(f"{path}: xss={state['xss']} csp={state['csp']} injected={state['injected']}")
        if "1337000" in state["text"]:
            failures.append(f"{path}: shows 1337000 (a template expression was evaluated)")
        for key in _visible_keys(path, stored["ids"]):
            if stored[key] not in state["text"]:
                failures.append(f"{path}: {key} = {stored[key]!r} is not readable as text")
    if user == "monitor1":
        failures += _file_names_readable(page, live_server, stored["ids"])
    assert not dialogs, f"dialogs opened: {dialogs}"
    assert not failures, "\n".join(failures)


def _file_names_readable(page, live_server: str, ids: dict) -> list[str]:
    """Open the row's evidence list (the ledger's own editor) and read the cleaned file names."""
    page.goto(f"{live_server}/units/{ids['unit']}/ledger")
    page.focus(f"#row-{ids['row']} td[data-field='files']")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#row-{ids['row']} input[type=file]")
    text = page.locator(f"#row-{ids['row']}").inner_text()
    injected = page.evaluate(f"() => document.querySelectorAll({INJECTED!r}).length")
    expected = ["{{7_191_1000}}.pdf", "img src=x onerror=alert(1).pdf"]  # as clean_filename leaves them
    return [f"evidence list: {name!r} not shown in {text!r}" for name in expected if name not in text] + \
        ([f"evidence list: {injected} injected elements"] if injected else [])


# ---- editors (fragments) on the server: the inputs hold the payload exactly ---------------------------

def _field_value(html: str, name: str) -> str:
    tree = lxml.html.fragment_fromstring(html, create_parent="div")
    found = tree.xpath(f"//*[@name='{name}']")
    assert found, f"no field {name}"
    element = found[0]
    if element.tag == "textarea":  # an HTML parser drops the newline that opens a textarea; lxml keeps it
        return (element.text or "").removeprefix("\n")
    return element.get("value", "")


def test_editors_hold_the_payload_as_their_value(app, org, stored):
    ids = stored["ids"]
    admin, monitor = log_in(app, org, "admin"), log_in(app, org, "monitor1")
    hx = {"HX-Request": "true"}
    checks = [
        (monitor, f"/ledger/rows/{ids['row']}/edit?field=progress", "progress", "row.progress"),
        (monitor, f"/ledger/rows/{ids['row']}/edit?field=lead", "lead", "row.lead"),
        (monitor, f"/activities/{ids['activity']}/edit", "summary", f"activity{ids['activity']}.summary"),
        (monitor, f"/activities/{ids['activity']}/edit", "topic", f"activity{ids['activity']}.topic"),
        (admin, f"/plans/{ids['plan']}/tasks/{ids['task']}/edit", "body", f"task{ids['task']}.body"),
        (admin, f"/plans/{ids['plan']}/tasks/{ids['task']}/edit", "title", f"task{ids['task']}.title"),
        (admin, f"/plans/{ids['plan']}/sections/{ids['section']}/edit", "title", f"section{ids['section']}.title"),
        (admin, f"/admin/units/{ids['unit']}/edit", "name", "unit.unit"),
        (admin, f"/admin/users/{org.users['monitor1']}/edit", "display_name", "user.monitor1"),
        (admin, f"/activities/kinds/{ids['kind']}/edit", "name", None),
    ]
    for client, path, name, key in checks:
        response = client.get(path, headers=hx)
        assert response.status_code == 200, path
        if key:
            assert _field_value(response.get_data(as_text=True), name) == stored[key], path


# ---- Excel exports ----------------------------------------------------------------------------------

def test_exports_keep_payloads_as_plain_text_and_never_formulas(app, org, stored):
    ids = stored["ids"]
    client = log_in(app, org, "admin")
    year = date.today().year
    exports = [f"/units/{ids['unit']}/ledger.xlsx", f"/units/{ids['general']}/ledgers.xlsx",
               f"/reports/activities.xlsx?unit={ids['unit']}", f"/reports/compliance.xlsx?year={year}"]
    expected_anywhere = {stored[key] for key in ("row.progress", "row.lead", "row.members", "row.remarks",
                                                 f"activity{ids['activity']}.topic")} | set(FORMULAS.values())
    seen: set[str] = set()
    for path in exports:
        response = client.get(path)
        assert response.status_code == 200, path
        data = response.get_data()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = [archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/")]
        assert not any(b"<f>" in sheet or b"<f " in sheet for sheet in sheets), f"{path} contains a formula"
        workbook = load_workbook(io.BytesIO(data))
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        assert cell.data_type == "s", (path, cell.coordinate, cell.value)
                        if cell.value.startswith(("=", "+", "-", "@")):
                            assert cell.quotePrefix, (path, cell.coordinate, cell.value)
                        seen.add(cell.value)
    missing = {text for text in expected_anywhere if text not in seen}
    assert not missing, f"payloads not exported as plain strings: {missing}"
