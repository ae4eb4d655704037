"""Backup and restore of a live SQLite site: `flask --app wsgi backup PATH` / `restore PATH`.

A backup is a directory (or, when PATH ends in .tar.gz, an archive of that directory) holding
`taizhang.db` (an online copy taken with SQLite's backup API, so it is consistent while workers
write), `secret_key` (if the instance has one) and `manifest.json`. Evidence files live in the
stored_file table, so the database copy carries them. PostgreSQL sites use pg_dump/pg_restore.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy.engine import make_url

DB_NAME = "taizhang.db"
SECRET_NAME = "secret_key"
MANIFEST_NAME = "manifest.json"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
PG_HINT = ("PostgreSQL 数据库请用 pg_dump / pg_restore 备份与恢复，例如：\n"
           "  pg_dump --format=custom --file=taizhang.dump \"$DATABASE_URL\"\n"
           "  pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" taizhang.dump\n"
           "另请单独保存 instance/secret_key（或 SECRET_KEY 环境变量）。")


class MaintenanceError(Exception):
    """A backup or restore that must not go ahead; the message is for the operator."""


def sqlite_path(database_uri: str) -> Path:
    """The file behind a sqlite:/// URI; anything else is refused with the PostgreSQL hint."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite":
        raise MaintenanceError(f"当前数据库是 {url.get_backend_name()}，backup/restore 只处理 SQLite。\n{PG_HINT}")
    if not url.database or url.database == ":memory:":
        raise MaintenanceError("内存数据库无法备份。")
    return Path(url.database)


def integrity_problems(db_file: Path) -> list[str]:
    """What PRAGMA integrity_check and foreign_key_check report; empty when the file is sound."""
    connection = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        integrity = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        problems = [] if integrity == ["ok"] else integrity
        problems += [f"foreign key: {row}" for row in connection.execute("PRAGMA foreign_key_check")]
        return problems
    except sqlite3.DatabaseError as error:  # a file too damaged to even read its schema
        return [str(error)]
    finally:
        connection.close()


def _copy_online(source: Path, target: Path, journal_mode: str) -> None:
    """SQLite's backup API: one consistent snapshot even while other processes write (WAL)."""
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(target))
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        src.backup(dst)  # pages=-1: the whole database in one step, under one read transaction
        dst.execute(f"PRAGMA journal_mode = {journal_mode}")
    finally:
        dst.close()
        src.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _table_counts(db_file: Path) -> dict[str, int]:
    connection = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
    finally:
        connection.close()


def is_archive(path: Path) -> bool:
    return path.name.endswith(ARCHIVE_SUFFIXES)


def backup_sqlite(database_uri: str, instance_path: str, destination: Path) -> dict:
    """Write a backup of the live database to `destination` (a new directory or a .tar.gz). Returns the manifest."""
    source = sqlite_path(database_uri)
    if not source.exists():
        raise MaintenanceError(f"数据库文件不存在：{source}")
    if destination.exists() and (destination.is_file() or any(destination.iterdir())):
        raise MaintenanceError(f"目标已存在且不为空：{destination}")
    with tempfile.TemporaryDirectory(prefix="taizhang-backup-") as staging_name:
        staging = Path(staging_name)
        _copy_online(source, staging / DB_NAME, "DELETE")  # a self-contained file, no -wal beside it
        problems = integrity_problems(staging / DB_NAME)
        if problems:
            raise MaintenanceError("备份副本未通过完整性检查：" + "; ".join(problems[:5]))
        secret = Path(instance_path) / SECRET_NAME
        if secret.exists():
            shutil.copy2(secret, staging / SECRET_NAME)
        manifest = {
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": str(source),
            "database": DB_NAME,
            "sha256": _sha256(staging / DB_NAME),
            "bytes": (staging / DB_NAME).stat().st_size,
            "tables": _table_counts(staging / DB_NAME),
            "secret_key": secret.exists(),
        }
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
        _publish(staging, destination)
    return manifest


def _publish(staging: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if is_archive(destination):
        with tarfile.open(destination, "w:gz") as archive:
            for item in sorted(staging.iterdir()):
                archive.add(item, arcname=item.name)
        return
    destination.mkdir(exist_ok=True)
    for item in staging.iterdir():
        shutil.copy2(item, destination / item.name)
    if (destination / SECRET_NAME).exists():
        (destination / SECRET_NAME).chmod(0o600)


def _unpack(backup: Path, into: Path) -> Path:
    """The directory holding the backup's files (an archive is extracted into `into`)."""
    if not backup.exists():
        raise MaintenanceError(f"备份不存在：{backup}")
    if backup.is_dir():
        return backup
    if not is_archive(backup):
        raise MaintenanceError(f"不认识的备份格式（应为目录或 .tar.gz）：{backup}")
    with tarfile.open(backup, "r:gz") as archive:
        archive.extractall(into, filter="data")  # "data" refuses absolute paths and links out of `into`
    return into


def database_has_data(db_file: Path) -> bool:
    """Whether any table other than alembic_version has a row (a freshly migrated DB is empty)."""
    if not db_file.exists() or db_file.stat().st_size == 0:
        return False
    return any(count for table, count in _table_counts(db_file).items() if table != "alembic_version")


def restore_sqlite(database_uri: str, instance_path: str, backup: Path, force: bool = False) -> dict:
    """Check the backup, then copy it over the configured database (and its secret key). Returns the manifest."""
    target = sqlite_path(database_uri)
    with tempfile.TemporaryDirectory(prefix="taizhang-restore-") as staging_name:
        folder = _unpack(backup, Path(staging_name))
        copy = folder / DB_NAME
        if not copy.exists():
            raise MaintenanceError(f"备份中没有 {DB_NAME}：{backup}")
        manifest_file = folder / MANIFEST_NAME
        manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
        if manifest.get("sha256") and manifest["sha256"] != _sha256(copy):
            raise MaintenanceError("备份文件的校验和与清单不符，文件可能已损坏。")
        problems = integrity_problems(copy)
        if problems:
            raise MaintenanceError("备份未通过完整性检查，未做任何改动：" + "; ".join(problems[:5]))
        if database_has_data(target) and not force:
            raise MaintenanceError(f"目标数据库已有数据：{target}。确认要覆盖请加 --force。")
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_online(copy, target, "WAL")  # the site runs in WAL mode
        secret = folder / SECRET_NAME
        instance_secret = Path(instance_path) / SECRET_NAME
        # The key belongs with the data it signed (sessions); a key a fresh instance generated is replaceable.
        if secret.exists():
            Path(instance_path).mkdir(parents=True, exist_ok=True)
            shutil.copy2(secret, instance_secret)
            instance_secret.chmod(0o600)
    return manifest


def register_maintenance_cli(app: Flask) -> None:
    @app.cli.command("backup")
    @click.argument("path", type=click.Path(path_type=Path))
    def backup_command(path: Path):
        """Copy the live SQLite database and the secret key into PATH (a new directory, or PATH.tar.gz)."""
        try:
            manifest = backup_sqlite(current_app.config["SQLALCHEMY_DATABASE_URI"], current_app.instance_path, path)
        except MaintenanceError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"备份完成：{path}（{manifest['bytes']} 字节，完整性检查通过）")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(path_type=Path))
    @click.option("--force", is_flag=True, help="Overwrite a database that already has data.")
    def restore_command(path: Path, force: bool):
        """Check a backup made by `backup` and restore it into the configured SQLite database."""
        try:
            restore_sqlite(current_app.config["SQLALCHEMY_DATABASE_URI"], current_app.instance_path, path, force)
        except MaintenanceError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"已从 {path} 恢复数据库（完整性检查通过）。请重启应用服务器。")
