"""Concurrent POSTs against gunicorn with several workers, on every backend.

Each test sends its POSTs from THREADS threads (one requests.Session per
thread) and then counts rows in the database itself, so a duplicate, a lost
write or a "database is locked" cannot hide behind a tidy reply. The
live_server fixture also fails the module if gunicorn logged a traceback.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from open311.extensions import db
from open311.models import ReplayGuard, ServiceRequest
from tests.builders import pothole_form
from tests.conftest import make_app
from tests.live.conftest import LiveServer

pytestmark = pytest.mark.slow

THREADS = 16
TIMEOUT = 30  # seconds for any one HTTP call
DEADLINE = 180  # seconds for a whole batch of POSTs


class Posters:
    """A thread pool whose threads each keep their own requests.Session."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(self._local.session)
        return self._local.session  # type: ignore[no-any-return]

    def post_all(
        self, url: str, forms: Sequence[Mapping[str, Any]], headers: Mapping[str, str] | None = None
    ) -> list[requests.Response]:
        """POST every form concurrently; the replies come back in the forms' order."""

        def post(form: Mapping[str, Any]) -> requests.Response:
            return self.session().post(url, data=form, headers=headers, timeout=TIMEOUT)

        with ThreadPoolExecutor(THREADS) as pool:
            futures = [pool.submit(post, form) for form in forms]
            return [future.result(timeout=DEADLINE) for future in futures]

    def close(self) -> None:
        for session in self._sessions:
            session.close()


@pytest.fixture
def posters() -> Iterator[Posters]:
    pool = Posters()
    yield pool
    pool.close()


def post_url(live_server: LiveServer) -> str:
    return live_server.url("/open311/v2/requests.json")


def stored(database_url: str, description_prefix: str) -> list[tuple[int, str]]:
    """(id, number) of every stored request whose description starts with the prefix."""
    app = make_app(database_url)
    with app.app_context():
        rows = db.session.execute(
            sa.select(ServiceRequest.id, ServiceRequest.number).where(
                ServiceRequest.description.startswith(description_prefix, autoescape=True)
            )
        ).all()
        db.engine.dispose()
    return [(row.id, row.number) for row in rows]


def guards_of(database_url: str, service_request_id: int) -> int:
    app = make_app(database_url)
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count()).where(ReplayGuard.service_request_id == service_request_id)
        )
        db.engine.dispose()
    return count or 0


def ids_of(responses: Sequence[requests.Response]) -> list[str]:
    return [response.json()[0]["service_request_id"] for response in responses]


def failures(
    responses: Sequence[requests.Response], allowed: frozenset[int] = frozenset({200})
) -> list[str]:
    return [f"{r.status_code}: {r.text[:300]}" for r in responses if r.status_code not in allowed]


def test_200_distinct_concurrent_posts_are_all_filed_with_distinct_numbers(
    live_server: LiveServer, posters: Posters
) -> None:
    tag = f"load {uuid.uuid4().hex[:8]}"
    forms = [pothole_form(live_server.api_key, description=f"{tag} #{i}") for i in range(200)]

    responses = posters.post_all(post_url(live_server), forms)

    assert failures(responses) == []
    ids = ids_of(responses)
    assert len(set(ids)) == 200
    rows = stored(live_server.database_url, tag)
    assert len(rows) == 200
    assert {number for _, number in rows} == set(ids)


def test_50_concurrent_copies_of_one_post_file_one_request(
    live_server: LiveServer, posters: Posters
) -> None:
    tag = f"copies {uuid.uuid4().hex[:8]}"
    form = pothole_form(live_server.api_key, description=f"{tag}: the same report, sent 50 times")

    first = posters.post_all(post_url(live_server), [form] * 50)
    retried = posters.post_all(post_url(live_server), [form] * 50)

    assert failures(first + retried) == []
    assert len(set(ids_of(first + retried))) == 1
    [(row_id, number)] = stored(live_server.database_url, tag)
    assert ids_of(first)[0] == number
    assert guards_of(live_server.database_url, row_id) == 1  # the fingerprint


def test_one_idempotency_key_with_50_different_bodies_files_one_request(
    live_server: LiveServer, posters: Posters
) -> None:
    """A key reused with different content is 409 Conflict; only one body is ever filed."""
    tag = f"idempotent {uuid.uuid4().hex[:8]}"
    forms = [
        pothole_form(live_server.api_key, description=f"{tag}: variant {i}") for i in range(50)
    ]
    headers = {"Idempotency-Key": str(uuid.uuid4())}

    first = posters.post_all(post_url(live_server), forms, headers)
    retried = posters.post_all(post_url(live_server), forms, headers)

    assert failures(first + retried, allowed=frozenset({200, 409})) == []
    accepted = [r for r in first + retried if r.status_code == 200]
    [(row_id, number)] = stored(live_server.database_url, tag)
    assert set(ids_of(accepted)) == {number}
    winners = [i for i, r in enumerate(first) if r.status_code == 200]
    assert len(winners) == 1
    assert [r.status_code for r in retried] == [200 if i in winners else 409 for i in range(50)]
    assert Counter(r.status_code for r in first) == {200: 1, 409: 49}
    assert guards_of(live_server.database_url, row_id) == 2  # the fingerprint and the key
