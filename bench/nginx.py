"""Run nginx with deploy/nginx.conf in front of a server for the length of a `with` block.

As tests/deploy runs it: the site file unchanged but for its listen address, its
upstream and its access log, inside what Debian's /etc/nginx/nginx.conf provides,
all in a folder of its own; but with one worker per CPU (Debian's `auto`), as a
city's nginx runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.server import free_port, wait_until_ready
from open311.config import PROJECT_DIR

SITE = PROJECT_DIR / "deploy" / "nginx.conf"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Running:
    base_url: str
    pid: int  # nginx's master; the workers are its children


@contextmanager
def nginx(upstream: str, folder: Path) -> Iterator[Running]:
    """nginx on a free port passing to `upstream` (http://host:port); files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / "site.conf").write_text(site_config(port, [upstream], folder))
    (folder / "nginx.conf").write_text(main_config(folder))
    log = folder / "error.log"
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    command = [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(log)]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, process, "nginx", str(log), START_TIMEOUT)
        yield Running(base_url, process.pid)
    finally:
        process.send_signal(signal.SIGQUIT)  # nginx's graceful shutdown
        process.wait(timeout=30)


def site_config(port: int, upstreams: Sequence[str], folder: Path) -> str:
    """deploy/nginx.conf with only its listen address, its upstream's servers (base URLs)
    and its access log changed; the suite's nginx (tests/deploy) runs the same."""
    site = SITE.read_text()
    servers = "\n    ".join(f"server {url.removeprefix('http://')};" for url in upstreams)
    for needle, replacement in (
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("server 127.0.0.1:8000;", servers),
        ("/var/log/nginx/open311.access.log", str(folder / "access.log")),
    ):
        if site.count(needle) != 1:
            raise RuntimeError(f"deploy/nginx.conf no longer has {needle!r} once")
        site = site.replace(needle, replacement)
    return site


def main_config(folder: Path, workers: str = "auto", connections: int = 4096) -> str:
    """What Debian's /etc/nginx/nginx.conf provides around the site, in `folder`.

    As root, nginx's workers switch to the `user` named (www-data in Debian's file), who
    could not write this folder: they stay root here. As anyone else nginx cannot
    switch, and the directive is left out.
    """
    user = "user root root;" if os.geteuid() == 0 else ""
    temp = {name: folder / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    return f"""{user}
worker_processes {workers};
pid {folder / "nginx.pid"};
daemon off;
error_log {folder / "error.log"} warn;
events {{ worker_connections {connections}; }}
http {{
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {folder / "site.conf"};
}}
"""
