"""Run the app under gunicorn for the length of a `with` block."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from open311.config import PROJECT_DIR

READY_PATH = "/open311/v2/services.json"
# The benchmarks flood the server from one address with one key: rate limits they
# cannot reach (README, Limits), unless the environment sets its own.
UNLIMITED = {
    f"OPEN311_RATE_LIMIT_{kind}": "1000000 per minute"
    for kind in (
        "READS_PER_ADDRESS",
        "SEARCHES_PER_ADDRESS",
        "WRITES_PER_ADDRESS",
        "WRITES_PER_KEY",
        "FAILED_AUTH_PER_ADDRESS",
    )
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Running:
    base_url: str
    pid: int  # gunicorn's master; the workers are its children


@contextmanager
def gunicorn(
    database_url: str,
    *,
    workers: int,
    threads: int,
    log: Path,
    app: str = "wsgi:app",
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Running]:
    """Start `gunicorn <app>` (ours: wsgi:app) on a free port; yield where it runs; stop it.

    `config`: a gunicorn config file (deploy/gunicorn.conf.py) under the flags given
    here; `env`: settings for the app on top of this process's environment."""
    port = free_port()
    settings = ["--config", str(config)] if config else []
    command = [
        sys.executable, "-m", "gunicorn", *settings, app,
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--log-level", "warning",
        # A sync worker tells the arbiter it is alive only between requests: a
        # feed of millions of rows streams for minutes, and the default 30 s
        # would have it killed mid-export.
        "--timeout", "0",
    ]  # fmt: skip
    # A throwaway key: a served app refuses the development one.
    env = {
        "OPEN311_SECRET_KEY": secrets.token_urlsafe(32),
        **UNLIMITED,
        **os.environ,
        **(env or {}),
        "OPEN311_DATABASE_URL": database_url,
    }
    with log.open("ab") as output:
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=output, stderr=output)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, process)
        yield Running(base_url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_ready(
    base_url: str,
    process: subprocess.Popen[bytes],
    what: str = "gunicorn",
    log: str = "bench/out/gunicorn.log",
    timeout: float = 180,
) -> None:
    """Until `base_url` answers READY_PATH with 200; RuntimeError if `process` (`what`,
    logging to `log`) exits first or nothing answers within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; see {log}")
        try:
            if requests.get(base_url + READY_PATH, timeout=30).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # still starting
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s; see {log}")
