"""Each request's id, its log line and its metrics, from before_request to the last byte."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask import Response, g, request

from open311.observability import logs, metrics
from open311.observability.redaction import redact_path, redact_query

log = logging.getLogger("open311.access")


@dataclass(frozen=True)
class Exchange:
    """What is known of a request once its answer starts: enough to log and count it
    after the request context is gone (a streamed feed ends after it)."""

    request_id: str
    endpoint: str | None
    method: str
    path: str  # redacted
    status: int
    started: float  # time.perf_counter()

    def finished(self) -> None:
        seconds = time.perf_counter() - self.started
        try:
            metrics.observe_request(self.endpoint, self.method, self.status, seconds)
        except OSError as error:  # PROMETHEUS_MULTIPROC_DIR gone or full: the answer stands
            log.warning("request not counted in the metrics: %s", error)
        log.info(
            "%s %s %d",
            self.method,
            self.path,
            self.status,
            extra={
                "redacted": True,  # the path is, and nothing else in the line is secret
                "request_id": self.request_id,
                "method": self.method,
                "path": self.path,
                "status": self.status,
                "duration": round(seconds, 6),
            },
        )


def begin() -> None:
    """before_request, registered before any other: whatever answers, it has an id."""
    g.open311_started = time.perf_counter()
    g.open311_log_fields = {
        "request_id": logs.request_id(request.headers.get(logs.REQUEST_ID_HEADER)),
        "method": request.method,
        "path": _logged_path(),
    }


def end(response: Response) -> Response:
    """after_request: return the id; log and count now, or when a stream ends."""
    fields = g.get("open311_log_fields") or {}
    request_id = fields.get("request_id") or logs.request_id(None)
    response.headers[logs.REQUEST_ID_HEADER] = request_id
    exchange = Exchange(
        request_id=request_id,
        endpoint=request.url_rule.endpoint if request.url_rule else None,
        method=request.method,
        path=fields.get("path") or _logged_path(),
        status=response.status_code,
        started=g.get("open311_started", time.perf_counter()),
    )
    if response.is_streamed:
        response.call_on_close(exchange.finished)
    else:
        exchange.finished()
    return response


def _logged_path() -> str:
    query = request.query_string.decode("latin-1")
    return redact_path(request.path) + (f"?{redact_query(query)}" if query else "")
