"""Recording the SQL a piece of a test sends (for the fixed-statement tests)."""
from contextlib import contextmanager

from sqlalchemy import event

from webapp.extensions import db


@contextmanager
def recorded_statements(app):
    """Every statement sent to the app's engine inside the block, whitespace collapsed to single spaces."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
