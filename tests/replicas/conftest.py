"""A PostgreSQL primary and a hot standby of our own, made once per module.

Two PostgreSQL 15 clusters under a temporary folder, each on a free port of its own
(never the machine's shared server): the primary made with initdb, migrated and given
the test catalogue and a key, then the standby copied from it with pg_basebackup -R,
which streams from it. The app names its connections (application_name), so that a
test can ask each server, in pg_stat_activity, whether the app asked it anything.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from open311.backup import cluster as pg
from open311.database import upgrade_schema
from open311.extensions import db
from tests.conftest import FIXTURE_CATALOG, load_test_catalog, make_app, new_api_key

CAUGHT_UP_WITHIN = 30.0  # seconds the standby may take to replay the setup


class Cluster(pg.Cluster):
    """The backup drill's throwaway cluster (open311/backup/cluster.py), with a URL for
    any of its databases and a one-statement query."""

    def url_of(self, database: str = "open311") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, *settings: str) -> None:
        super().start("fsync=off", "wal_receiver_status_interval=1", *settings)

    def sql(self, statement: str, **params: Any) -> Any:
        """The first column of the first row, if any (autocommit, a connection of its own)."""
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
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
    try:
        pg.require_binaries()
    except pg.ClusterError as missing:  # these tests are the proof: never skipped
        pytest.fail(str(missing))
    root = pg.owned_folder(Path(tempfile.mkdtemp(prefix="open311-replicas-")))
    primary = Cluster(root, root / "primary", pg.free_port())
    standby = Cluster(root, root / "standby", pg.free_port())
    try:
        pg.run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "--no-sync")
        primary.start()
        _prepare(primary)
        pg.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        standby.start()
        pair = Pair(primary, standby, _api_key(primary))
        pair.wait_until_replayed()
        yield pair
    finally:
        for cluster in (standby, primary):
            with contextlib.suppress(pg.ClusterError):
                cluster.stop("immediate")  # (unless a test stopped it already)
        shutil.rmtree(root, ignore_errors=True)


def _prepare(primary: Cluster) -> None:
    """The open311 database: PostGIS, every migration, the test catalogue."""
    admin = sa.create_engine(primary.url_of("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE open311")
    admin.dispose()
    primary.sql("CREATE EXTENSION postgis")
    upgrade_schema(make_app(primary.url))
    load_test_catalog(primary.url)


def _api_key(primary: Cluster) -> str:
    app = make_app(primary.url)
    key = new_api_key(app, "Replica tests")
    with app.app_context():
        db.engine.dispose()
    return key


def replicated_app(pair: Pair, **overrides: object) -> Flask:
    """An app on the primary that reads from the standby."""
    settings: dict[str, object] = {
        "DATABASE_REPLICA_URLS": pair.standby.url,
        "DATABASE_REPLICA_CHECK_SECONDS": 0.2,
        "CATALOG_DIR": str(FIXTURE_CATALOG),
    }
    return make_app(pair.primary.url, **(settings | overrides))


def dispose(app: Flask) -> None:
    """Close every connection the app holds, the replicas' too."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        for replica in app.extensions["open311.replicas"].replicas:
            replica.engine.dispose()
