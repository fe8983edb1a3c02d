"""/healthz, /readyz and /metrics: for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from open311 import replicas
from open311.extensions import db
from open311.models.base import utcnow
from open311.observability import metrics
from open311.observability.health import Prober

bp = Blueprint("observability", __name__)
DENIED = "Metrics are served to METRICS_ALLOWED_NETWORKS only.\n"


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and answering; the database is not asked (see /readyz)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    try:
        readiness = _prober().readiness(db.engine, utcnow()).judging(request.args.get("checks"))
    except ValueError as error:
        return jsonify(error=str(error)), 400
    payload = readiness.payload() | replicas.readiness(replicas.looked_at(current_app))
    return jsonify(payload), 200 if readiness.ready else 503


@bp.get("/metrics")
def metrics_page() -> Response:
    if not metrics.allowed(
        request.remote_addr, request.environ, current_app.extensions["open311.metrics_networks"]
    ):
        # Plain text like the page itself: Prometheus, not an Open311 client, reads it.
        return Response(DENIED, 403, content_type="text/plain; charset=utf-8")
    probe = _prober().probe(db.engine, utcnow())
    page = metrics.exposition(probe, utcnow(), replicas.looked_at(current_app))
    return Response(page, content_type=metrics.CONTENT_TYPE)


def _prober() -> Prober:
    prober: Prober = current_app.extensions["open311.prober"]
    return prober
