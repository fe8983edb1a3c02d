"""gunicorn's settings for open311: `make run` uses them, and so does production,
behind nginx (deploy/nginx.conf). Command-line flags (--bind, --workers) override them.

    gunicorn --config deploy/gunicorn.conf.py

Why these values: README, "Production".
"""

import os

wsgi_app = "wsgi:app"
bind = os.environ.get("OPEN311_BIND", "127.0.0.1:8000")

# Threaded workers. A worker's main thread tells the arbiter it is alive every second
# whatever its request threads are doing, so `timeout` below is a liveness check and
# not a limit on a request's length: a feed of millions of rows streams to its end.
# A sync worker is silent while it serves its one request and is killed `timeout`
# seconds into any feed longer than that (a CSV export once stopped at 114,000 rows).
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
threads = int(os.environ.get("OPEN311_THREADS", 4))  # requests in flight per worker

# A worker that has not checked in for this long is hung (not merely busy): killed and
# replaced. Database waits are bounded well below it by the app's own timeouts.
timeout = 30
graceful_timeout = 30  # on SIGTERM or a reload, requests in flight get this long to finish

# nginx keeps connections to us open between requests (its upstream keepalive_timeout,
# 60 s): we keep them a little longer, so that nginx never sends a request on a
# connection we are closing at that moment (a POST would not be retried).
keepalive = 65

# nginx sets X-Forwarded-Proto; believe it from the proxy on the same host only, or
# from the address(es) in FORWARDED_ALLOW_IPS when nginx runs on another machine (an app
# server added beside the first: the README, Scaling).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = "-"

# The logger that redacts keys, tokens and signed links from every log line, the hooks
# of the Prometheus metrics in multiprocess mode (each worker writes its counts to
# PROMETHEUS_MULTIPROC_DIR; a worker that exits is marked dead), and the warning, once
# at start, when rate limits would be counted per worker (no OPEN311_REDIS_URL).
from open311.observability.gunicorn_hooks import (  # noqa: E402
    child_exit as child_exit,
)
from open311.observability.gunicorn_hooks import (  # noqa: E402
    logger_class as logger_class,
)
from open311.observability.gunicorn_hooks import (  # noqa: E402
    on_starting as on_starting,
)
from open311.observability.gunicorn_hooks import (  # noqa: E402
    when_ready as when_ready,
)
