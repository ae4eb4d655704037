"""Creating units and users: shared by the admin area, the CLI and the demo data."""
from __future__ import annotations

from .extensions import db
from .models import Unit, User


def add_unit(name: str, kind: str, parent: Unit | None = None, category: str | None = None) -> Unit:
    """Insert a unit and give it its materialised path (which needs the new id)."""
    unit = Unit(name=name, kind=kind, parent=parent, category=category if kind == "branch" else None)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


def add_user(username: str, display_name: str, role: str, unit: Unit, password: str,
             locale: str = "zh_Hans_CN") -> User:
    user = User(username=username, display_name=display_name, role=role, unit=unit, locale=locale)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user
