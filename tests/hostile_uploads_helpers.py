"""Shared by the hostile upload tests: what an answer's errors say, and "refused, nothing stored"."""
from __future__ import annotations

import lxml.html
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Activity, AuditEntry, LedgerRow, Plan, StoredFile, Task


def counts() -> dict[str, int]:
    return {model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (StoredFile, Plan, Task, Activity, AuditEntry)}


def ledger_texts() -> list[str]:
    return list(db.session.execute(select(LedgerRow.progress).order_by(LedgerRow.id)).scalars())


def messages(response) -> str:
    """The text of every error the page shows (alerts, field errors, error panels)."""
    tree = lxml.html.fromstring(response.get_data(as_text=True) or "<p></p>")
    found = tree.xpath("//*[@role='alert'] | //*[contains(@class, 'field-error')] | //*[contains(@class, 'error-panel')]")
    return " ".join(" ".join(element.text_content().split()) for element in found)


def refused_with(app, send, check) -> None:
    """Send; `check` the answer; nothing was stored or changed."""
    with app.app_context():
        before, texts = counts(), ledger_texts()
    check(send())
    with app.app_context():
        assert counts() == before and ledger_texts() == texts
