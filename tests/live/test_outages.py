"""A database that is frozen, stopped, locked or full: 503 with Retry-After, then recovery.

PostgreSQL: a throwaway cluster made here with initdb and pg_ctl (never the
machine's shared server), served by gunicorn. Frozen is SIGSTOP on the postmaster
and every backend: the kernel still acknowledges, so only the client's own bound
(DATABASE_ANSWER_TIMEOUT_SECONDS, connect_timeout) ends a wait. SQLite, through the
test client: a file another connection holds with BEGIN EXCLUSIVE, and a file
that may not grow (max_page_count, as a full disk answers SQLITE_FULL).

Each outage must answer every endpoint (GeoReport GET and POST in JSON and XML,
the staff API, a feed) with 503 and Retry-After within 5 s, in the caller's
format, log one line per failure and no traceback, store nothing, and recover
without a restart once the database is back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import sqlean
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from open311.database import upgrade_schema
from open311.extensions import db
from open311.models import ServiceRequest
from tests import servers
from tests.builders import make_staff, pothole_form
from tests.conftest import FIXTURE_CATALOG, load_test_catalog, make_app, new_api_key
from tests.live.conftest import _create_api_key, _server_environment

pytestmark = pytest.mark.slow

WITHIN = 5.0  # seconds: the most an outage may cost a caller
RECOVERY = 15.0  # seconds the app may take to serve again once the database is back
LOGGED = "database unavailable"  # what each failure's one log line says
PG_BIN = Path("/usr/lib/postgresql/15/bin")


# --- a throwaway PostgreSQL ----------------------------------------------------------------


@dataclass
class Cluster:
    """A PostgreSQL 15 cluster of our own, in a temporary folder, on a free port."""

    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/open311"

    def run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb refuses root: run as the cluster's owner
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.root / "data"), str(self.root / "log")
        self.run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.root / "data"), "-m", mode, "-w", "stop")

    def processes(self) -> list[int]:
        """The postmaster, then every process it started (the backends among them)."""
        postmaster = int((self.root / "data" / "postmaster.pid").read_text().split()[0])
        return [postmaster, *_children(postmaster)]

    def signal(self, number: signal.Signals) -> None:
        for pid in self.processes():
            os.kill(pid, number)


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL 15 server binaries in {PG_BIN}")
    root = Path(tempfile.mkdtemp(prefix="open311-outage-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    cluster = Cluster(root, _free_port())
    cluster.run("initdb", "-D", str(root / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    cluster.start()
    try:
        admin = sa.create_engine(
            cluster.url.replace("/open311", "/postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE open311")
        admin.dispose()
        engine = sa.create_engine(cluster.url)
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE EXTENSION postgis")
        engine.dispose()
        app = make_app(cluster.url)
        upgrade_schema(app)
        with app.app_context():
            db.engine.dispose()
        load_test_catalog(cluster.url)
        yield cluster
    finally:
        with contextlib.suppress(OSError, ValueError):
            cluster.signal(signal.SIGCONT)  # a failed test may leave it frozen
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")  # (unless already stopped)
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Served:
    base_url: str
    api_key: str
    staff_token: str
    log: Path


@pytest.fixture(scope="module")
def served(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """gunicorn with its default worker timeout (30 s) on the throwaway cluster."""
    api_key = _create_api_key(cluster.url)
    staff_token = make_staff(
        make_app(cluster.url), "supervisor", "CDOT - Department of Transportation"
    )
    log = tmp_path_factory.mktemp("outage") / "stderr.log"
    process = servers.start(
        _server_environment(cluster.url), log, "--workers", "2", "--no-control-socket", "wsgi:app"
    )
    try:
        base_url = servers.wait_until_serving(process, log, "/open311/discovery.json")
        yield Served(base_url, api_key, staff_token, log)
    finally:
        servers.stop(process)


# --- what every endpoint must answer -------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    format: str  # "json" or "xml": the error document the caller must get

    def send(self, served: Served, marker: str) -> requests.Response:
        headers = {}
        if self.path.startswith("/open311/staff/"):
            headers["Authorization"] = f"Bearer {served.staff_token}"
        data = None
        if self.method == "POST":
            data = pothole_form(served.api_key, description=f"{marker} {self.path}")
        return requests.request(
            self.method, served.base_url + self.path, data=data, headers=headers, timeout=60
        )


CALLS = (
    Call("GET", "/open311/v2/requests.json", "json"),
    Call("GET", "/open311/v2/requests.xml", "xml"),
    Call("POST", "/open311/v2/requests.json", "json"),
    Call("POST", "/open311/v2/requests.xml", "xml"),
    Call("GET", "/open311/v2/services.json", "json"),
    Call("GET", "/open311/staff/me", "json"),
    Call("GET", "/open311/feeds/requests.csv", "json"),
)


def assert_unavailable(
    status: int, headers: Any, body: bytes, fmt: str, took: float, what: str
) -> None:
    """A 503 with Retry-After, in the caller's format, within WITHIN seconds."""
    assert status == 503, (what, status, body[:300])
    assert int(headers["Retry-After"]) >= 1, what
    assert took < WITHIN, (what, took)
    if fmt == "json":
        [error] = json.loads(body)
        assert error["code"] == 503, what
    else:
        root = etree.fromstring(body)
        assert root.tag == "errors", (what, body)
        assert root.findtext("error/code") == "503", (what, body)


def outage_answers(served: Served, marker: str) -> None:
    """Every call answers 503 in time, and each failure is one line of the log."""
    before = served.log.read_text()
    for call in CALLS:
        started = time.monotonic()
        response = call.send(served, marker)
        took = time.monotonic() - started
        what = f"{call.method} {call.path}"
        assert_unavailable(
            response.status_code, response.headers, response.content, call.format, took, what
        )
    logged = served.log.read_text()[len(before) :]
    assert logged.count(LOGGED) == len(CALLS), logged
    assert "Traceback" not in logged, logged


def serves_again(served: Served, marker: str) -> None:
    """Within RECOVERY seconds every call succeeds again, with no restart; nothing the
    outage refused was stored."""
    deadline = time.monotonic() + RECOVERY
    while requests.get(served.base_url + CALLS[0].path, timeout=60).status_code != 200:
        assert time.monotonic() < deadline, "the app did not recover"
        time.sleep(0.2)
    for call in CALLS:
        response = call.send(served, f"after-{marker}")
        # Each worker finds its own pooled connections dead once: a 503 that stores
        # nothing, until its pool has new ones (the first call may have met another worker).
        while response.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.2)
            response = call.send(served, f"after-{marker}")
        assert response.status_code == 200, (call, response.status_code, response.text[:300])
    found = requests.get(
        served.base_url + "/open311/feeds/requests.ndjson", timeout=60
    ).text  # every accepted request, from the app itself
    assert marker not in found.replace(f"after-{marker}", "")
    assert found.count(f"after-{marker}") == 2  # the two POSTs just made


def warm(served: Served) -> None:
    """Several requests, so that both workers hold pooled connections when it breaks."""
    for _ in range(6):
        for call in CALLS:
            if call.method == "GET":
                assert call.send(served, "warm").status_code == 200, call


def test_frozen_postgresql_answers_503_within_5_s_and_recovers(
    cluster: Cluster, served: Served
) -> None:
    warm(served)
    marker = f"frozen-{uuid.uuid4().hex[:8]}"
    cluster.signal(signal.SIGSTOP)
    try:
        outage_answers(served, marker)
    finally:
        cluster.signal(signal.SIGCONT)
    serves_again(served, marker)


def test_stopped_postgresql_answers_503_within_5_s_and_recovers(
    cluster: Cluster, served: Served
) -> None:
    warm(served)
    marker = f"stopped-{uuid.uuid4().hex[:8]}"
    cluster.stop()
    try:
        outage_answers(served, marker)
    finally:
        cluster.start()
    serves_again(served, marker)


def test_server_log_holds_no_traceback(served: Served) -> None:
    text = served.log.read_text()
    assert "Traceback" not in text, text
    assert "[ERROR]" not in text, text


# --- SQLite: locked, full ------------------------------------------------------------------


@pytest.fixture
def sqlite_app(tmp_path: Path, spatialite_template: Path) -> Iterator[Flask]:
    path = tmp_path / "open311.sqlite"
    shutil.copy(spatialite_template, path)
    load_test_catalog(f"sqlite:///{path}")
    app = make_app(f"sqlite:///{path}", CATALOG_DIR=str(FIXTURE_CATALOG))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def sqlite_path(app: Flask) -> str:
    return str(sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)


def stored(app: Flask, marker: str) -> int:
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count()).where(ServiceRequest.description.contains(marker))
        )
        db.session.remove()
    return int(count or 0)


def post_unavailable(
    client: FlaskClient, api_key: str, marker: str, caplog: pytest.LogCaptureFixture
) -> None:
    """POST in JSON and XML: 503 in time, in format, one log line each, no traceback."""
    caplog.clear()
    for fmt in ("json", "xml"):
        started = time.monotonic()
        response = client.post(
            f"/open311/v2/requests.{fmt}", data=pothole_form(api_key, description=marker)
        )
        took = time.monotonic() - started
        assert_unavailable(
            response.status_code, response.headers, response.data, fmt, took, f"POST .{fmt}"
        )
    outage_lines = [r for r in caplog.records if LOGGED in r.getMessage()]
    assert len(outage_lines) == 2, caplog.text
    assert not any(r.exc_info for r in caplog.records), caplog.text


def test_locked_sqlite_answers_503_within_5_s_and_recovers(
    sqlite_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    api_key = new_api_key(sqlite_app, "Locked out")
    client = sqlite_app.test_client()
    marker = f"locked-{uuid.uuid4().hex[:8]}"
    holder = sqlean.connect(sqlite_path(sqlite_app), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        post_unavailable(client, api_key, marker, caplog)
        # Readers go on in WAL mode: a GET is answered from the last commit.
        assert client.get("/open311/v2/requests.json").status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert stored(sqlite_app, marker) == 0
    response = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, description=marker)
    )
    assert response.status_code == 200, response.data
    assert stored(sqlite_app, marker) == 1


def test_full_sqlite_answers_503_within_5_s_stores_nothing_and_recovers(
    sqlite_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    api_key = new_api_key(sqlite_app, "Disk full")
    client = sqlite_app.test_client()
    marker = f"full-{uuid.uuid4().hex[:8]}"

    def cannot_grow(dbapi_connection: Any, _record: Any) -> None:
        # What a full disk does to SQLite: the file cannot take another page (SQLITE_FULL).
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    with sqlite_app.app_context():
        engine = db.engine
        db.session.remove()
        engine.dispose()
    packed = sqlean.connect(sqlite_path(sqlite_app), isolation_level=None)
    packed.execute("VACUUM")  # no free page left inside the file, and full leaves
    packed.close()
    sa.event.listen(engine, "connect", cannot_grow)
    try:
        # A description longer than the room left in a packed page: it needs a new one.
        post_unavailable(client, api_key, marker + " " + "x" * 3900, caplog)
    finally:
        sa.event.remove(engine, "connect", cannot_grow)
        with sqlite_app.app_context():
            db.session.remove()
            engine.dispose()
    assert stored(sqlite_app, marker) == 0
    response = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, description=marker)
    )
    assert response.status_code == 200, response.data
    assert stored(sqlite_app, marker) == 1
