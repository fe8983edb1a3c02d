"""The production deployment in deploy/, run for real: gunicorn with
deploy/gunicorn.conf.py, and Debian's nginx with deploy/nginx.conf in front of it,
each on a free port with its own temporary files, logs and pid."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from bench import nginx as bench_nginx
from open311.config import PROJECT_DIR
from tests import servers
from tests.conftest import load_test_catalog
from tests.live.conftest import _server_environment

DEPLOY = PROJECT_DIR / "deploy"
GUNICORN_CONFIG = DEPLOY / "gunicorn.conf.py"
NGINX_SITE = DEPLOY / "nginx.conf"
START_TIMEOUT = 30.0


@pytest.fixture
def database_url(spatialite_template: Path, tmp_path: Path) -> str:
    """A migrated SpatiaLite database holding the test catalogue (the proxy and the
    worker class behave alike on both backends)."""
    path = tmp_path / "open311.sqlite"
    shutil.copy(spatialite_template, path)
    url = f"sqlite:///{path}"
    load_test_catalog(url)
    return url


@contextmanager
def gunicorn(
    database_url: str, log: Path, *options: str, environment: Mapping[str, str] | None = None
) -> Iterator[str]:
    """gunicorn with deploy/gunicorn.conf.py (`options` override it) on a free port;
    yields its base URL. `environment`: the whole of it, in place of the test server's
    (a random key, generous limits)."""
    process = servers.start(
        _server_environment(database_url) if environment is None else environment,
        log,
        "--config",
        str(GUNICORN_CONFIG),
        "--no-control-socket",
        *options,
    )
    try:
        yield servers.wait_until_serving(process, log, "/open311/discovery.json", START_TIMEOUT)
    finally:
        servers.stop(process)


@contextmanager
def nginx(upstream: str | Sequence[str], folder: Path, port: int | None = None) -> Iterator[str]:
    """nginx running deploy/nginx.conf in front of `upstream` (one server's base URL, or
    several) on `port` (a free one if None); yields its base URL. Only the listen
    address and the upstream's servers are changed."""
    folder.mkdir()
    port = port or free_port()
    upstreams = [upstream] if isinstance(upstream, str) else upstream
    (folder / "site.conf").write_text(bench_nginx.site_config(port, upstreams, folder))
    (folder / "nginx.conf").write_text(bench_nginx.main_config(folder, "1", 1024))
    log = folder / "error.log"
    command = [_nginx_binary(), "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(log)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield _wait_for_nginx(process, log, f"http://127.0.0.1:{port}")
    finally:
        servers.stop(process, signal.SIGQUIT)  # nginx's graceful shutdown


def _nginx_binary() -> str:
    """nginx, installed with .ci/ensure-nginx (as .ci/run does) when it is missing."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        installing = subprocess.run(
            ["bash", str(PROJECT_DIR / ".ci" / "ensure-nginx")], capture_output=True, text=True
        )
        found = shutil.which("nginx") or "/usr/sbin/nginx"
        if installing.returncode != 0 or not Path(found).exists():
            pytest.fail(f"nginx is needed and could not be installed:\n{installing.stderr}")
    return found


def _wait_for_nginx(process: subprocess.Popen[bytes], log: Path, base_url: str) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited with {process.returncode}:\n{servers.log_text(log)}")
        try:
            if requests.get(f"{base_url}/open311/discovery.json", timeout=5).status_code == 200:
                return base_url
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.1)
    pytest.fail(f"nginx did not answer within {START_TIMEOUT:.0f} s:\n{servers.log_text(log)}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
