"""An online backup of the embedded database (SQLite + SpatiaLite), taken while it serves.

SQLite's backup API copies the file page by page under one read transaction: in WAL
mode the gunicorn workers keep writing meanwhile, and the copy is the database as
it stood when the backup began, every committed row of that moment and nothing
half-written. A plain `cp` of a live file (and its -wal) can copy neither.

The copy is written beside the target and renamed into place once checked, so a
failed backup never leaves a partial file under the target's name.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import sqlean
from sqlalchemy.engine import make_url

from open311.database import BATCH_SQLITE_BUSY_SECONDS
from open311.errors import Open311Error


class BackupError(Open311Error):
    """The backup cannot be taken as asked; nothing was written at the target."""


@dataclass(frozen=True)
class BackupReport:
    source: Path
    target: Path
    bytes: int
    requests: int
    integrity: str  # PRAGMA integrity_check's answer: "ok"


def database_file(url: str) -> Path:
    """The SQLite file an app's database URL names; BackupError for anything else."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            f"This database is {parsed.get_backend_name()}, not the embedded SQLite file: "
            "back PostgreSQL up with pg_basebackup and a WAL archive (docs/backup.md)."
        )
    if parsed.database in (None, "", ":memory:"):
        raise BackupError("This database lives in memory: there is no file to back up.")
    path = Path(parsed.database)
    if not path.is_file():
        raise BackupError(f"There is no database file at {path}.")
    return path


def back_up(source: Path, target: Path, *, replace: bool = False) -> BackupReport:
    """Copy the live database `source` to `target`, check the copy, and report it."""
    if target.exists() and not replace:
        raise BackupError(f"{target} already exists; give --force to replace it.")
    if target.is_dir():
        raise BackupError(f"{target} is a folder; name the backup file to write.")
    partial = _partial_file(target)
    try:
        _copy(source, partial)
        requests, integrity = _check(partial)
        if integrity != "ok":
            raise BackupError(f"The copy failed its integrity check: {integrity}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(source, target, target.stat().st_size, requests, integrity)


def _partial_file(target: Path) -> Path:
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as error:
        raise BackupError(f"Cannot write in {target.parent}: {error.strerror}.") from error
    os.close(handle)
    return Path(name)


def _copy(source: Path, partial: Path) -> None:
    try:
        live = sqlean.connect(source, timeout=BATCH_SQLITE_BUSY_SECONDS)
        with closing(live), closing(sqlean.connect(partial)) as copy:
            live.backup(copy)
    except sqlean.Error as error:
        raise BackupError(f"The backup of {source} failed: {error}.") from error


def _check(partial: Path) -> tuple[int, str]:
    """(requests held, integrity_check's first line) of the copy."""
    try:
        with closing(sqlean.connect(partial)) as copy:
            integrity = str(copy.execute("PRAGMA integrity_check").fetchone()[0])
            (requests,) = copy.execute("SELECT count(*) FROM service_request").fetchone()
    except sqlean.Error as error:
        raise BackupError(f"The copy is not an open311 database: {error}.") from error
    return int(requests), integrity
