"""Watching the server: JSON logs with request ids, health and readiness, Prometheus metrics,
and logs that never hold a key, a token or a signed link."""

from __future__ import annotations

import os

# Set but empty means unset, as it does for our settings: prometheus_client switches to
# multiprocess mode on the variable's presence alone, and would write its files into
# whatever directory the process started in. Before the library is first imported.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR") == "":
    del os.environ["PROMETHEUS_MULTIPROC_DIR"]

from flask import Flask

from open311.observability import exchanges, logs, metrics, views
from open311.observability.health import Prober


def init_app(app: Flask) -> None:
    """Call before any other before_request is registered, so every answer has an id."""
    logs.configure(app.config["LOG_LEVEL"])
    app.before_request(exchanges.begin)
    app.after_request(exchanges.end)
    metrics.init_app(app)
    app.extensions["open311.metrics_networks"] = metrics.parse_networks(
        app.config["METRICS_ALLOWED_NETWORKS"]
    )
    app.extensions["open311.prober"] = Prober(
        timeout=float(app.config["READY_TIMEOUT_SECONDS"]),
        max_outbox_wait=float(app.config["READY_OUTBOX_MAX_WAIT_SECONDS"]),
    )
    app.register_blueprint(views.bp)
