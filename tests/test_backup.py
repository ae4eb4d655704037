"""`flask backup` / `flask restore`: a consistent copy of a live SQLite site, and a careful restore."""
from __future__ import annotations

import sqlite3
import tarfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from webapp import create_app
from webapp.extensions import db
from webapp.models import StoredFile, Unit
from webapp.org import add_unit


def _site(tmp: Path, name: str, monkeypatch):
    """An app with its own SQLite file and instance folder, migrated."""
    monkeypatch.setenv("TAIZHANG_INSTANCE", str(tmp / f"{name}-instance"))
    site = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / name}.db"})
    with site.app_context():
        from flask_migrate import upgrade
        upgrade()
    return site


def _seed(site) -> None:
    with site.app_context():
        college = add_unit("计算机学院党总支", "general")
        db.session.add(StoredFile(unit_id=college.id, filename="会议记录.pdf", content_type="application/pdf",
                                  size=6, sha256="0" * 64, data=b"%PDF-1"))
        db.session.commit()
        db.session.remove()


class Writer(threading.Thread):
    """Keeps inserting units (one commit each) until told to stop; bounded by `limit`."""

    def __init__(self, site, limit: int = 5000):
        super().__init__(daemon=True)
        self.site, self.limit, self.committed = site, limit, 0
        self.stop = threading.Event()
        self.started_writing = threading.Event()

    def run(self) -> None:
        with self.site.app_context():
            for number in range(self.limit):
                if self.stop.is_set():
                    break
                with db.engine.begin() as connection:
                    connection.execute(insert(Unit.__table__).values(
                        name=f"支部{number}", kind="branch", category="student", path=f"/w{number}/"))
                self.committed += 1
                if self.committed == 20:
                    self.started_writing.set()
            self.started_writing.set()


def _units(site) -> int:
    with site.app_context():
        count = db.session.execute(select(func.count(Unit.id))).scalar_one()
        db.session.remove()
        return count


@pytest.mark.parametrize("target_name", ["backup-dir", "backup.tar.gz"])
def test_backup_during_writes_restores_into_a_new_site(tmp_path, monkeypatch, target_name):
    live = _site(tmp_path, "live", monkeypatch)
    _seed(live)
    Path(live.instance_path, "secret_key").write_text("live-secret")
    writer = Writer(live)
    writer.start()
    assert writer.started_writing.wait(30)
    result = live.test_cli_runner().invoke(args=["backup", str(tmp_path / target_name)])
    committed_at_backup = writer.committed
    writer.stop.set()
    writer.join(30)
    assert result.exit_code == 0, result.output
    assert "完整性检查通过" in result.output

    fresh = _site(tmp_path, "fresh", monkeypatch)
    result = fresh.test_cli_runner().invoke(args=["restore", str(tmp_path / target_name)])
    assert result.exit_code == 0, result.output

    restored_file = Path(fresh.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    connection = sqlite3.connect(restored_file)
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    connection.close()
    # The copy holds the seeded college, its file, and a prefix of the writer's units (at least 20).
    restored_units = _units(fresh)
    assert 1 + 20 <= restored_units <= 1 + committed_at_backup + 1
    with fresh.app_context():
        stored = db.session.execute(select(StoredFile)).scalar_one()
        assert (stored.filename, stored.data) == ("会议记录.pdf", b"%PDF-1")
        db.session.remove()
    assert Path(fresh.instance_path, "secret_key").read_text() == "live-secret"


def test_restore_refuses_a_site_with_data_unless_forced(tmp_path, monkeypatch):
    source = _site(tmp_path, "source", monkeypatch)
    _seed(source)
    assert source.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0

    busy = _site(tmp_path, "busy", monkeypatch)
    with busy.app_context():
        add_unit("另一个学院党总支", "general")
        add_unit("第三个学院党总支", "general")
        db.session.commit()
        db.session.remove()
    refused = busy.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")])
    assert refused.exit_code != 0
    assert "--force" in refused.output
    assert _units(busy) == 2

    forced = busy.test_cli_runner().invoke(args=["restore", "--force", str(tmp_path / "b")])
    assert forced.exit_code == 0, forced.output
    assert _units(busy) == 1


def test_restore_refuses_a_damaged_backup(tmp_path, monkeypatch):
    source = _site(tmp_path, "source", monkeypatch)
    _seed(source)
    archive = tmp_path / "b.tar.gz"
    assert source.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code == 0
    # Rebuild the archive with the database's middle overwritten: a truncated or corrupted copy.
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as handle:
        handle.extractall(unpacked, filter="data")
    database = unpacked / "taizhang.db"
    data = bytearray(database.read_bytes())
    data[4096:8192] = b"\xff" * 4096
    database.write_bytes(bytes(data))
    (unpacked / "manifest.json").unlink()  # so the integrity check, not the checksum, has to catch it
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(damaged, "w:gz") as handle:
        for item in unpacked.iterdir():
            handle.add(item, arcname=item.name)

    fresh = _site(tmp_path, "fresh", monkeypatch)
    result = fresh.test_cli_runner().invoke(args=["restore", str(damaged)])
    assert result.exit_code != 0
    assert "完整性" in result.output or "malformed" in result.output
    assert _units(fresh) == 0


def test_backup_refuses_postgresql_and_points_to_pg_dump(tmp_path, monkeypatch):
    monkeypatch.setenv("TAIZHANG_INSTANCE", str(tmp_path / "pg-instance"))
    site = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u:p@127.0.0.1:1/none"})
    result = site.test_cli_runner().invoke(args=["backup", str(tmp_path / "b")])
    assert result.exit_code != 0
    assert "pg_dump" in result.output
    assert not (tmp_path / "b").exists()
