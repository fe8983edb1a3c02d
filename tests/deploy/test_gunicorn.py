"""Feeds are not cut at the worker timeout: with deploy/gunicorn.conf.py's threaded
workers a feed that streams for several times gunicorn's --timeout arrives whole,
where a sync worker is killed mid-stream (the control; a CSV export once stopped at
114,000 rows that way).

A gthread worker's main thread tells the arbiter it is alive every second whatever its
request threads do; a sync worker only between requests. The app served here is
tests/deploy/throttled.py: wsgi:app with its feeds slowed down, so that a feed of a few
thousand rows streams for longer than the timeout, as a ten-million-row one does."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import make_app
from tests.deploy import throttled
from tests.deploy.conftest import gunicorn
from tests.opendata.test_feeds import FEED, add_generated_requests

pytestmark = pytest.mark.slow

REQUESTS = 2_000  # streamed for REQUESTS / BATCH * PAUSE seconds (8 s)
TIMEOUT = 3  # gunicorn's --timeout, deliberately short
APP = "tests.deploy.throttled:create()"


def read_feed(base_url: str) -> tuple[bytes, float, str]:
    """(the CSV body received, seconds it took, how it ended: "complete" or the error)."""
    started, body = time.monotonic(), bytearray()
    try:
        with requests.get(f"{base_url}{FEED}.csv", stream=True, timeout=30) as response:
            assert response.status_code == 200
            for chunk in response.iter_content(chunk_size=None):
                body += chunk
        ending = "complete"
    except requests.RequestException as error:  # the stream broke off
        ending = type(error).__name__
    return bytes(body), time.monotonic() - started, ending


def rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(errors="replace"))))[1:]


@pytest.fixture
def many_requests(database_url: str) -> str:
    add_generated_requests(make_app(database_url), REQUESTS)
    assert REQUESTS / throttled.BATCH * throttled.PAUSE > 2 * TIMEOUT
    return database_url


def test_a_threaded_worker_streams_a_feed_past_its_timeout(
    many_requests: str, tmp_path: Path
) -> None:
    log = tmp_path / "gunicorn.log"
    options = ("--workers", "1", "--timeout", str(TIMEOUT), APP)
    with gunicorn(many_requests, log, *options) as base_url:
        body, seconds, ending = read_feed(base_url)
    assert ending == "complete"
    assert seconds > 2 * TIMEOUT  # the stream outlived the timeout, twice over
    received = rows(body)
    assert len(received) == REQUESTS
    assert received[-1][0] == f"SR24-{REQUESTS:08d}"
    assert "Using worker: gthread" in log.read_text()
    assert "WORKER TIMEOUT" not in log.read_text()


def test_a_sync_worker_is_killed_mid_feed(many_requests: str, tmp_path: Path) -> None:
    """The control: the same feed from a sync worker is cut off. The client may not even
    see an error: a sync worker closes the connection after each answer and sends no
    chunked framing, so a cut stream can look like a finished one."""
    log = tmp_path / "gunicorn.log"
    # A sync worker has one thread (with more, gunicorn makes it a gthread one).
    options = (
        "--worker-class",
        "sync",
        "--threads",
        "1",
        "--workers",
        "1",
        "--timeout",
        str(TIMEOUT),
        APP,
    )
    with gunicorn(many_requests, log, *options) as base_url:
        body, _, _ = read_feed(base_url)
    assert "Using worker: sync" in log.read_text()
    assert len(rows(body)) < REQUESTS, log.read_text()
    assert "WORKER TIMEOUT" in log.read_text()
