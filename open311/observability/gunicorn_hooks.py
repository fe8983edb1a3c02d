"""What gunicorn needs from us: the redacting logger, and the metrics' hooks.

Use it as gunicorn's configuration (`gunicorn -c python:open311.observability.gunicorn_hooks`,
as `make run` does), or import these names into a configuration file of your own:

    from open311.observability.gunicorn_hooks import (
        child_exit, logger_class, on_starting, when_ready)

Prometheus' multiprocess mode (PROMETHEUS_MULTIPROC_DIR set) keeps each worker's
metrics in files of that directory, and /metrics sums them all. `on_starting` empties
the directory when the master starts, so a new run does not add up the files of
every worker of every earlier run; `child_exit` tells the client library that a
worker is gone. `when_ready` says once, as the server starts, when its rate limits are
counted per process (no Redis) rather than once for every worker and server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

logger_class = "open311.observability.gunicorn_logging.RedactingLogger"

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
METRIC_FILES = ("counter", "gauge", "histogram", "summary")  # <kind>_<pid>.db, gauge_<mode>_…


def on_starting(server: Any) -> None:
    """Create the metrics directory, or empty the one an earlier run left."""
    directory = os.environ.get(MULTIPROC_DIR)
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for kind in METRIC_FILES:  # the library's files only, should the directory hold others
        for stale in path.glob(f"{kind}_*.db"):
            stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited (or was killed): its live gauges no longer count."""
    if not os.environ.get(MULTIPROC_DIR):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def when_ready(server: Any) -> None:
    """Warn, in the master's log, when each worker would count rate limits on its own.

    In the master, once per start: the workers would say it once each, and the
    scheduled commands (which build the app too) every minute, for nothing.
    """
    from open311 import doctor
    from open311.config import InsecureSecretKey

    try:
        settings, _instance = doctor.served_config()
    except InsecureSecretKey:
        return  # every worker refuses to start, and says why
    if not settings["REDIS_URL"]:
        server.log.warning(
            "OPEN311_REDIS_URL is not set: each of the %d workers counts rate limits on its "
            "own, so a client may make each limit's worth on every worker, and on every "
            "other app server. Set it to one Redis for all (README, Limits; "
            "python -m open311.doctor --several-servers).",
            server.cfg.workers,
        )
