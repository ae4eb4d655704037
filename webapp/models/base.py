"""Shared column helpers."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    # Stored naive in UTC so SQLite and PostgreSQL compare the same way.
    return datetime.now(timezone.utc).replace(tzinfo=None)
