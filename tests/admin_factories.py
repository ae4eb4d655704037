"""Helpers for the admin tests: htmx requests with a CSRF token, form data, parsing, DB snapshots."""
from __future__ import annotations

import lxml.html
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEntry, Unit, User


class AdminClient:
    """A logged-in test client that sends htmx requests the way the page does (CSRF in a header)."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers={"HX-Request": "true"}, **kwargs)

    def post(self, path: str, data: dict | None = None):
        return self.client.post(path, data=data or {}, headers={"HX-Request": "true", "X-CSRFToken": self.token})


def admin_client(client, login_as, csrf, key: str = "admin") -> AdminClient:
    login_as(key)
    return AdminClient(client, csrf(path="/"))


def fragment(response):
    return lxml.html.fragment_fromstring(response.get_data(as_text=True), create_parent="div")


def page(response):
    return lxml.html.fromstring(response.get_data(as_text=True))


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def text_of(element, xpath: str) -> str:
    found = element.xpath(xpath)
    assert found, f"nothing matches {xpath!r}"
    return " ".join(found[0].text_content().split())


def row(tree, kind: str, object_id: int):
    """The <tr> of one unit or user (id="unit-3")."""
    found = tree.xpath(f"//tr[@id='{kind}-{object_id}']")
    assert found, f"no row {kind}-{object_id}"
    return found[0]


def row_classes(tree, kind: str, object_id: int) -> set[str]:
    return set((row(tree, kind, object_id).get("class") or "").split())


def cell(row_element, label: str) -> str:
    """The text of the cell under the column labelled `label` (every cell carries data-label)."""
    return text_of(row_element, f".//td[@data-label='{label}']")


def edit_buttons(tree) -> list:
    return tree.xpath(f"//button[{_has_class('cell-edit')}]")


def alert(tree) -> str:
    return text_of(tree, "//*[@role='alert']")


def status_note(tree) -> str:
    return text_of(tree, "//*[@role='status']")


def field(tree, name: str):
    found = tree.xpath(f"//*[@name='{name}']")
    assert found, f"no field {name}"
    return found[0]


def field_error(tree, name: str) -> str:
    """The error shown beside the field named `name` (its <label> holds the input and the message)."""
    errors = field(tree, name).getparent().xpath(f".//*[{_has_class('field-error')}]")
    return errors[0].text_content().strip() if errors else ""


def unit_form(unit: Unit, **changes) -> dict:
    data = {"name": unit.name, "kind": unit.kind, "category": unit.category or "", "parent_id": unit.parent_id or ""}
    data.update(changes)
    return data


def user_form(user: User, **changes) -> dict:
    data = {"display_name": user.display_name, "role": user.role, "unit_id": user.unit_id, "locale": user.locale,
            "active": "y" if user.active else ""}
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def snapshot() -> dict:
    """Every unit and user column plus the audit log, unscoped: compare before/after to prove nothing changed."""
    def rows(model):
        columns = [c for c in model.__table__.columns]
        query = select(*columns).order_by(model.id).execution_options(unscoped=True)
        return [tuple(row) for row in db.session.execute(query)]
    return {"units": rows(Unit), "users": rows(User), "audit": rows(AuditEntry)}


def audit_entries(entity: str, entity_id: int) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
    return list(db.session.execute(query.order_by(AuditEntry.id).execution_options(unscoped=True)).scalars())
