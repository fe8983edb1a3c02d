"""A PostgreSQL primary and a hot standby of our own, made once per module.

Two PostgreSQL 15 clusters under a temporary folder, each on a free port of its own
(never the machine's shared server): the primary made with initdb, migrated and given
the test catalogue and a key, then the standby copied from it with pg_basebackup -R,
which streams from it. The app names its connections (application_name), so that a
test can ask each server, in pg_stat_activity, whether the app asked it anything.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from open311.catalog.loader import load_catalog, read_catalog
from open311.config import PROJECT_DIR
from open311.database import begin_write, upgrade_schema
from open311.extensions import db
from tests.conftest import FIXTURE_CATALOG, make_app, new_api_key

PG_BIN = Path("/usr/lib/postgresql/15/bin")
CAUGHT_UP_WITHIN = 30.0  # seconds the standby may take to replay the setup


@dataclass
class Cluster:
    """One PostgreSQL 15 cluster in `root`/`name`, on `port`."""

    root: Path
    name: str
    port: int

    @property
    def data(self) -> Path:
        return self.root / self.name

    def url(self, database: str = "open311") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses root: run as the cluster's owner
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c wal_receiver_status_interval=1"
        )
        log = str(self.root / f"{self.name}.log")
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def sql(self, statement: str, **params: Any) -> Any:
        """The first column of the first row, if any (autocommit, a connection of its own)."""
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                result = connection.execute(sa.text(statement), params)
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()


@dataclass
class Pair:
    primary: Cluster
    standby: Cluster
    api_key: str

    def wait_until_replayed(self) -> None:
        """Until the standby has replayed everything the primary wrote so far."""
        target = self.primary.sql("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + CAUGHT_UP_WITHIN
        while not self.standby.sql(
            "SELECT pg_last_wal_replay_lsn() >= CAST(:target AS pg_lsn)", target=target
        ):
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby did not replay to {target}")
            time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    if not (PG_BIN / "initdb").exists():  # these tests are the proof: never skipped
        pytest.fail(f"no PostgreSQL 15 server binaries (initdb) in {PG_BIN}")
    root = Path(tempfile.mkdtemp(prefix="open311-replicas-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary = Cluster(root, "primary", _free_port())
    standby = Cluster(root, "standby", _free_port())
    try:
        primary.run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust")
        primary.start()
        _prepare(primary)
        primary.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        standby.start()
        pair = Pair(primary, standby, _api_key(primary))
        pair.wait_until_replayed()
        yield pair
    finally:
        for cluster in (standby, primary):
            with contextlib.suppress(subprocess.CalledProcessError):
                cluster.stop("immediate")  # (unless a test stopped it already)
        shutil.rmtree(root, ignore_errors=True)


def _prepare(primary: Cluster) -> None:
    """The open311 database: PostGIS, every migration, the test catalogue."""
    admin = sa.create_engine(primary.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE open311")
    admin.dispose()
    primary.sql("CREATE EXTENSION postgis")
    app = make_app(primary.url())
    upgrade_schema(app)
    with app.app_context():
        session = db.session()
        begin_write(session)
        load_catalog(session, read_catalog(FIXTURE_CATALOG, PROJECT_DIR / "schemas"))
        db.session.commit()
        db.engine.dispose()


def _api_key(primary: Cluster) -> str:
    app = make_app(primary.url())
    key = new_api_key(app, "Replica tests")
    with app.app_context():
        db.engine.dispose()
    return key


def replicated_app(pair: Pair, **overrides: object) -> Flask:
    """An app on the primary that reads from the standby."""
    settings: dict[str, object] = {
        "DATABASE_REPLICA_URLS": pair.standby.url(),
        "DATABASE_REPLICA_CHECK_SECONDS": 0.2,
        "CATALOG_DIR": str(FIXTURE_CATALOG),
    }
    return make_app(pair.primary.url(), **(settings | overrides))


def dispose(app: Flask) -> None:
    """Close every connection the app holds, the replicas' too."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        for replica in app.extensions["open311.replicas"].replicas:
            replica.engine.dispose()
