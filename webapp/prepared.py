"""Core statements compiled once per dialect and run on the session's own DB-API cursor (the inline edit's path).

SQLAlchemy's execute path costs ~0.03–0.05 ms a statement above the driver (execution context, cache lookup, result
object); the inline edit runs three statements per request. A `Prepared` statement is an ordinary Core statement
whose values are all bound parameters (no literals); it is compiled once per dialect with SQLAlchemy's compiler
(so the SQL is the same text SQLAlchemy would send), and each run converts the values with the types' own bind and
result processors (dates as text on SQLite), fires the engine's `before_cursor_execute`/`after_cursor_execute`
listeners (statement counters, the fixed-statement tests) and turns driver errors into SQLAlchemy's exceptions as
`Connection.execute` does. It runs in the session's transaction, on the connection the session already holds, so
the session's commit or rollback covers it like any other statement.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from .extensions import db


class _Compiled:
    __slots__ = ("sql", "names", "positional", "binds", "results", "constants")

    def __init__(self, statement, dialect, column_keys, for_executemany):
        # for_executemany: no implicit RETURNING of the new key (PostgreSQL would add it to a one-row INSERT).
        compiled = statement.compile(dialect=dialect, column_keys=column_keys, for_executemany=for_executemany)
        # A default the execution context would compute (a Python-side default or onupdate of a column left out of
        # `column_keys`) has no value here: refuse at compile time rather than write NULL.
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None) \
                or getattr(compiled, "postfetch", None):
            raise ValueError(f"{statement!r} needs values the execution context would compute; name every column")
        self.sql = compiled.string
        self.positional = compiled.positional
        self.names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        # The dialect's own implementation of each type (SQLite's DATE is text), as SQLAlchemy's execute would use.
        processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                      for name, bind in compiled.binds.items()}
        self.binds = tuple((name, processors[name]) for name in self.names)
        # Values the statement itself carries (a literal argument of a SQL function is a bound parameter too).
        self.constants = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                   for column in statement.exported_columns]
        self.results = tuple(results) if any(results) else None

    def parameters(self, values: dict[str, Any]):
        if self.constants:
            values = {**self.constants, **values}
        if self.positional:
            return tuple(processor(values[name]) if processor else values[name] for name, processor in self.binds)
        return {name: processor(values[name]) if processor else values[name] for name, processor in self.binds}

    def rows(self, fetched: Iterable[Sequence]) -> list[tuple]:
        results = self.results
        if results is None:
            return [tuple(row) for row in fetched]
        return [tuple(value if processor is None or value is None else processor(value)
                      for value, processor in zip(row, results)) for row in fetched]


class Prepared:
    """`Prepared(statement).all(values)` → list of tuples; `Prepared(insert, keys, many=True).many(rows)` for an
    INSERT of several rows in one statement (executemany)."""

    def __init__(self, statement, column_keys: Sequence[str] | None = None, many: bool = False):
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self.for_executemany = many
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.statement, dialect, self.column_keys,
                                                                 self.for_executemany)
        return compiled

    def all(self, values: dict[str, Any]) -> list[tuple]:
        """Run the statement with `values` (every bound parameter by name); the rows it returns, processed."""
        connection = db.session.connection()
        compiled = self._for(connection.dialect)
        return _run(connection, compiled, compiled.parameters(values), False, compiled.rows)

    def many(self, values: list[dict[str, Any]]) -> None:
        """One executemany of the statement (an INSERT of several rows; one row is a plain execute)."""
        connection = db.session.connection()
        compiled = self._for(connection.dialect)
        if len(values) == 1:
            _run(connection, compiled, compiled.parameters(values[0]), False, None)
        else:
            _run(connection, compiled, [compiled.parameters(each) for each in values], True, None)


def _run(connection, compiled: _Compiled, parameters, many: bool, rows):
    sql = compiled.sql
    cursor = connection.connection.dbapi_connection.cursor()
    events = connection._has_events or connection.engine._has_events
    try:
        if events:
            for listener in connection.dispatch.before_cursor_execute:
                sql, parameters = listener(connection, cursor, sql, parameters, None, many)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        if events:
            connection.dispatch.after_cursor_execute(connection, cursor, sql, parameters, None, many)
        found = rows(cursor.fetchall()) if rows is not None and cursor.description is not None else []
        cursor.close()
        return found
    except BaseException as error:
        cursor.close()
        if isinstance(error, connection.dialect.loaded_dbapi.Error):
            # As Connection.execute: SQLAlchemy's exception class, and a connection the server dropped invalidated.
            connection._handle_dbapi_exception(error, sql, parameters, None, None)
        raise


def commit_first() -> None:
    """Commit the session's transaction on its DB-API connection, then let the session do its bookkeeping (its own
    commit then finds nothing to commit; objects are not expired). SQLite's write lock (sqlite_queue.py) is released
    by the driver's commit, so the next writer waits for the commit itself, not for ~0.06 ms of ORM work after it.
    The session's commit is prepared first, exactly as its commit would: its before-commit hooks (the dashboards'
    ledger-figure stamps are written there) and the flush of anything pending, all in this transaction."""
    session = db.session()
    connection = session.connection()  # before preparing: a prepared transaction takes no more statements
    session.get_transaction()._prepare_impl()  # what Session.commit() runs first (and then skips, once prepared)
    try:
        connection.connection.dbapi_connection.commit()
    except connection.dialect.loaded_dbapi.Error as error:
        connection._handle_dbapi_exception(error, "COMMIT", None, None, None)
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
