"""The four measurements: GET latency and POST throughput, ours and raw."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from queue import Empty, SimpleQueue
from typing import Any, Protocol, TypeVar

import psycopg

GET_TIMEOUT = 60
POST_TIMEOUT = 60
TIME_ZONE = "America/Chicago"

# The spec default of GET /requests, as one PostgreSQL query: the same
# columns, names, formatting, filter, order and limit as the app's reply.
RAW_JSON_SQL = """
SELECT coalesce(json_agg(row_to_json(page)), '[]')::text FROM (
    SELECT sr.number AS service_request_id, sr.status, sr.status_notes,
           s.name AS service_name, sr.service_code, sr.description,
           sr.agency_responsible, sr.service_notice,
           to_char(sr.requested_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM') AS requested_datetime,
           to_char(sr.updated_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM') AS updated_datetime,
           to_char(sr.expected_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM') AS expected_datetime,
           sr.address, sr.address_id, sr.zipcode,
           round(sr.lat::numeric, 7) AS lat, round(sr.long::numeric, 7) AS long,
           sr.media_url
    FROM service_request AS sr JOIN service AS s ON s.code = sr.service_code
    WHERE sr.intake = 'accepted' AND sr.requested_at >= %(start)s
    ORDER BY sr.requested_at DESC, sr.id DESC
    LIMIT 1000
) AS page
"""

RAW_INSERT_SQL = """
INSERT INTO service_request (
    number, intake, service_code, status, description, agency_responsible, service_notice,
    requested_at, updated_at, expected_at, address, lat, long, location, attributes,
    channel, api_key_id, email, phone, first_name, last_name, device_id, account_id
) VALUES (
    %(number)s, 'accepted', %(service_code)s, 'open', %(description)s, %(agency_responsible)s,
    %(service_notice)s, %(now)s, %(now)s, %(expected_at)s, %(address)s, %(lat)s, %(long)s,
    ST_SetSRID(ST_MakePoint(%(long)s, %(lat)s), 4326), %(attributes)s, 'api', %(api_key_id)s,
    %(email)s, %(phone)s, %(first_name)s, %(last_name)s, %(device_id)s, %(account_id)s
)
"""


@dataclass(frozen=True)
class Latency:
    samples_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples_ms, n=20, method="inclusive")[-1]


@dataclass(frozen=True)
class Throughput:
    count: int
    seconds: float
    errors: list[str]

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def timed(calls: dict[str, Callable[[], object]], warmup: int, repeat: int) -> dict[str, Latency]:
    """Time each call `repeat` times, after `warmup` untimed rounds, one call at a time.

    The calls take turns (round-robin), so a burst of other work on the
    machine slows all of them alike instead of skewing one.
    """
    for _ in range(warmup):
        for call in calls.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: Latency(values) for name, values in samples.items()}


class HttpGetter:
    """One client: a kept-alive http.client connection GETting paths of one server.

    http.client, not requests, as for POSTs: a latency should be the server's,
    and requests spent ~4.6 ms more per 900-request JSON page than http.client
    (measured on this 2-core machine, 10M requests, 2026-12-03).
    """

    def __init__(self, base_url: str) -> None:
        self.connection = http.client.HTTPConnection(
            urllib.parse.urlsplit(base_url).netloc, timeout=GET_TIMEOUT
        )

    def __call__(self, path: str) -> bytes:
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}: {body[:200]!r}")
        return body

    def close(self) -> None:
        self.connection.close()


def http_get(client: HttpGetter, path: str) -> Callable[[], bytes]:
    return lambda: client(path)


def raw_json(connection: psycopg.Connection[Any]) -> Callable[[], str]:
    """The default page as JSON text, built by PostgreSQL."""
    connection.execute(f"SET TIME ZONE '{TIME_ZONE}'")

    def call() -> str:
        start = datetime.now(UTC) - timedelta(days=90)
        row = connection.execute(RAW_JSON_SQL, {"start": start}).fetchone()
        assert row is not None
        return str(row[0])

    return call


def same_page(ours: bytes, raw: str) -> list[str]:
    """Differences between our JSON page and PostgreSQL's (empty when equal)."""
    mine, theirs = json.loads(ours), json.loads(raw)
    if len(mine) != len(theirs):
        return [f"{len(mine)} rows from the app, {len(theirs)} from SQL"]
    problems = []
    for index, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        if a != b:
            keys = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            problems.append(
                f"row {index}: {', '.join(f'{k}={a.get(k)!r}/{b.get(k)!r}' for k in keys)}"
            )
    return problems


class Worker(Protocol):
    def __call__(self, item: Any, /) -> str | None: ...  # an error message, or None
    def close(self) -> None: ...


W = TypeVar("W", bound=Worker)


def run_concurrently(work: Sequence[Any], workers: Sequence[Worker]) -> Throughput:
    """Share the items of `work` among the workers, one thread each."""
    queue: SimpleQueue[Any] = SimpleQueue()
    for item in work:
        queue.put(item)
    errors: list[str] = []

    def drain(worker: Worker) -> None:
        while True:
            try:
                item = queue.get_nowait()
            except Empty:
                return
            try:
                error = worker(item)
            except Exception as exception:  # a broken client must not vanish silently
                error = repr(exception)
            if error is not None:
                errors.append(error)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Throughput(len(work), time.perf_counter() - started, errors)


@contextmanager
def opened(workers: list[W]) -> Iterator[list[W]]:
    """Close the workers afterwards (their connections stay open while CPU is measured)."""
    try:
        yield workers
    finally:
        for worker in workers:
            worker.close()


class HttpPoster:
    """One client: a kept-alive http.client connection POSTing forms to one URL.

    http.client, not requests: on a 2-core machine the load generator shares
    the CPU with the server, and requests spent ~3x the client CPU per POST.
    """

    def __init__(self, url: str, status: int = 200) -> None:
        parts = urllib.parse.urlsplit(url)
        self.path = parts.path
        self.status = status  # the answer expected: any other is an error
        self.connection = http.client.HTTPConnection(parts.netloc, timeout=POST_TIMEOUT)
        self.headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def __call__(self, form: dict[str, Any]) -> str | None:
        body = urllib.parse.urlencode(form, doseq=True)
        self.connection.request("POST", self.path, body, self.headers)
        response = self.connection.getresponse()
        text = response.read()
        if response.status != self.status:
            return f"{response.status}: {text[:200]!r}"
        return None

    def close(self) -> None:
        self.connection.close()


class RawInserter:
    """One psycopg connection: one INSERT and one COMMIT per row."""

    def __init__(self, dsn: str) -> None:
        self.connection = psycopg.connect(dsn)

    def __call__(self, row: dict[str, Any]) -> str | None:
        try:
            self.connection.execute(RAW_INSERT_SQL, row)
        except psycopg.Error as error:
            self.connection.rollback()
            return str(error)
        self.connection.commit()
        return None

    def close(self) -> None:
        self.connection.close()
