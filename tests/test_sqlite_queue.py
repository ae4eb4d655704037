"""SQLite writers queue on a file lock: held from a transaction's first write to its commit or rollback."""
import fcntl
import itertools
import os
import sqlite3

import pytest

from webapp.extensions import db
from webapp.sqlite_queue import QueuedWriteConnection, lock_path_for


def lock_is_free(path: str) -> bool:
    """Try the lock from a fresh file description (as another worker would), without waiting."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@pytest.fixture
def database(tmp_path):
    path = str(tmp_path / "queue.db")
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
    setup.execute("INSERT INTO item (name) VALUES ('a')")
    setup.commit()
    setup.close()
    return path


def test_a_write_holds_the_lock_until_commit(database):
    connection = sqlite3.connect(database, factory=QueuedWriteConnection)
    lock = lock_path_for(database)
    connection.execute("SELECT name FROM item").fetchall()
    assert lock_is_free(lock)  # reads never queue
    connection.execute("UPDATE item SET name = 'b'")
    assert not lock_is_free(lock)
    connection.commit()
    assert lock_is_free(lock)
    connection.close()


def test_rollback_and_close_release_the_lock(database):
    connection = sqlite3.connect(database, factory=QueuedWriteConnection)
    lock = lock_path_for(database)
    cursor = connection.cursor()
    cursor.executemany("INSERT INTO item (name) VALUES (?)", [("c",), ("d",)])
    assert not lock_is_free(lock)
    connection.rollback()
    assert lock_is_free(lock)
    connection.execute("DELETE FROM item")
    assert not lock_is_free(lock)
    connection.close()
    assert lock_is_free(lock)
    assert sqlite3.connect(database).execute("SELECT count(*) FROM item").fetchone() == (1,)


def test_in_memory_databases_have_no_lock_file():
    assert lock_path_for(":memory:") is None
    connection = sqlite3.connect(":memory:", factory=QueuedWriteConnection)
    connection.execute("CREATE TABLE t (x)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()


def test_the_app_uses_queued_connections_on_sqlite(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the write queue only applies to SQLite (this run is on PostgreSQL)")
        with db.engine.connect() as conn:
            assert isinstance(conn.connection.dbapi_connection, QueuedWriteConnection)
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_checkpoints_run_after_the_lock_is_released(database, monkeypatch):
    """SQLite's automatic checkpoint (two fsyncs) ran inside a commit, holding every other writer; here every
    CHECKPOINT_EVERY-th write commit of the process checkpoints once the lock is free."""
    from webapp import sqlite_queue
    monkeypatch.setattr(sqlite_queue, "CHECKPOINT_EVERY", 3)
    monkeypatch.setattr(sqlite_queue, "_write_commits", itertools.count(1))
    connection = sqlite3.connect(database, factory=QueuedWriteConnection)
    connection.execute("PRAGMA journal_mode = WAL")
    assert connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    lock = lock_path_for(database)
    seen = []
    real = QueuedWriteConnection.checkpoint
    monkeypatch.setattr(QueuedWriteConnection, "checkpoint",
                        lambda self: (seen.append(lock_is_free(lock)), real(self)))
    for name in "xyz":
        connection.execute("INSERT INTO item (name) VALUES (?)", (name,))
        connection.commit()
    connection.execute("SELECT count(*) FROM item").fetchall()
    connection.commit()  # a commit without a write is no turn
    assert seen == [True]  # one checkpoint, after the third write's commit, with the lock free
    connection.close()
