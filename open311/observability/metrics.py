"""Prometheus metrics, from every process: gunicorn's workers and the outbox workers.

With PROMETHEUS_MULTIPROC_DIR set, each process writes its counters and histograms
to files in that directory and /metrics sums them all (prometheus-client's
multiprocess mode); without it, /metrics shows the answering process only. The
outbox's gauges are read from the database when /metrics is scraped, so every
worker reports the same numbers and none is written to the directory.

Labels are bounded: a request is counted by its Flask endpoint (the route's name,
never the raw path), a method from a fixed set, and its status.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from flask import Flask
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from open311.notifications.delivery import delivery_failed
from open311.observability.health import Probe
from open311.replicas import ReplicaState
from open311.service_requests.signals import request_filed

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds. Pages answer in milliseconds; a full feed streams for minutes.
DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0, 600.0,
)  # fmt: skip

HTTP_REQUESTS: Final = Counter(
    "open311_http_requests",
    "Requests answered, by Flask endpoint, method and status.",
    ["endpoint", "method", "status"],
)
HTTP_DURATION: Final = Histogram(
    "open311_http_request_duration_seconds",
    "Time to answer a request (to the last byte for a streamed feed), by endpoint and method.",
    ["endpoint", "method"],
    buckets=DURATION_BUCKETS,
)
REQUESTS_FILED: Final = Counter(
    "open311_service_requests_filed",
    "Service requests filed (a replayed POST is not counted again), by interface.",
    ["via"],
)
DELIVERIES_FAILED: Final = Counter(
    "open311_notification_deliveries_failed",
    "Failed deliveries of notifications: retrying later, or parked for good.",
    ["channel", "outcome"],
)
DATABASE_ERRORS: Final = Counter(
    "open311_database_errors",
    "Errors the database driver raised (connecting or running a statement), by class.",
    ["error"],
)


def init_app(app: Flask) -> None:
    """Count the database errors of the app's engines, and listen for the domain's events."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)  # else every first increment fails
    from open311.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            if not sa.event.contains(engine, "handle_error", _count_database_error):
                sa.event.listen(engine, "handle_error", _count_database_error)
    request_filed.connect(_count_filed)
    delivery_failed.connect(_count_failed_delivery)


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    endpoint = endpoint or "none"  # no route matched (a 404, or a 405 on no rule)
    method = method if method in METHODS else "other"
    HTTP_REQUESTS.labels(endpoint, method, str(status)).inc()
    HTTP_DURATION.labels(endpoint, method).observe(seconds)


def _count_database_error(context: Any) -> None:
    error = context.sqlalchemy_exception or context.original_exception
    DATABASE_ERRORS.labels(type(error).__name__).inc()


def _count_filed(via: str, **_: Any) -> None:
    REQUESTS_FILED.labels(via).inc()


def _count_failed_delivery(channel: str, *, parked: bool, **_: Any) -> None:
    DELIVERIES_FAILED.labels(channel, "parked" if parked else "retrying").inc()


def exposition(probe: Probe, now: datetime, replicas: Sequence[ReplicaState] = ()) -> bytes:
    """The text a scrape gets: every process's metrics, the outbox read just now, and
    the read replicas as the answering process checked them just now."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_Outbox(probe, now))
    if replicas:
        registry.register(_Replicas(replicas))
    return generate_latest(registry)


class _ThisProcess:
    """The default registry (this process's metrics), as one collector of another registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class _Outbox:
    def __init__(self, probe: Probe, now: datetime) -> None:
        self.probe = probe
        self.now = now

    def collect(self) -> Iterator[Metric]:
        yield _gauge(
            "open311_database_up", "1 if the database answered the scrape's probe.",
            0 if self.probe.problem else 1,
        )  # fmt: skip
        if (backlog := self.probe.backlog) is None:
            return
        yield _gauge(
            "open311_notifications_pending", "Notifications not yet sent.", backlog.pending
        )
        yield _gauge(
            "open311_notifications_oldest_pending_age_seconds",
            "Age of the oldest notification not yet sent (0 when none).",
            backlog.age(self.now),
        )
        yield _gauge(
            "open311_notifications_oldest_waiting_seconds",
            "How long the longest-waiting due notification has waited for a worker.",
            backlog.wait(self.now),
        )


class _Replicas:
    def __init__(self, states: Sequence[ReplicaState]) -> None:
        self.states = states

    def collect(self) -> Iterator[Metric]:
        in_use = GaugeMetricFamily(
            "open311_database_replica_in_use",
            "1 if reads go to this replica; 0 if it is skipped (down, or lagging too far).",
            labels=["replica"],
        )
        lag = GaugeMetricFamily(
            "open311_database_replica_lag_seconds",
            "How far the replica's replay is behind the primary (absent when unknown).",
            labels=["replica"],
        )
        for state in self.states:
            in_use.add_metric([state.name], 1 if state.in_use else 0)
            if state.lag_seconds is not None:
                lag.add_metric([state.name], state.lag_seconds)
        yield in_use
        yield lag


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str | Iterable[str]) -> tuple[Network, ...]:
    """METRICS_ALLOWED_NETWORKS: a list of networks (CIDR), or one comma-separated string."""
    items = [item.strip() for item in (value.split(",") if isinstance(value, str) else value)]
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items if item)
    except ValueError as error:
        raise ValueError(f"METRICS_ALLOWED_NETWORKS: {error}") from error


def allowed(address: str | None, environ: Mapping[str, Any], networks: Iterable[Network]) -> bool:
    """Whether /metrics may answer this caller.

    A request that came through a proxy (it carries X-Forwarded-For or Forwarded)
    is refused unless werkzeug's ProxyFix already took the client's address from
    it: behind nginx every caller's address is nginx's own, the loopback.
    """
    proxied = "HTTP_X_FORWARDED_FOR" in environ or "HTTP_FORWARDED" in environ
    if proxied and "werkzeug.proxy_fix.orig" not in environ:
        return False
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)
