"""Shared column helpers."""
from datetime import datetime


def utcnow() -> datetime:
    # Stored naive in UTC so SQLite and PostgreSQL compare the same way; read through the one clock.
    from ..clock import utcnow_naive
    return utcnow_naive()
