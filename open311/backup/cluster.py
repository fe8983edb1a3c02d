"""A throwaway PostgreSQL cluster in a folder of its own, for the backup drill.

Made with initdb on a free port, listening on 127.0.0.1 and a socket in its own
folder, never the machine's server. PostgreSQL refuses to run as root: when we
are root, every server program runs as the `postgres` user, who owns the folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("OPEN311_PG_BIN", "/usr/lib/postgresql/15/bin"))
OWNER = "postgres"  # who runs the server programs when we are root
STARTED_WITHIN = 600  # seconds pg_ctl waits for a start (a restore replays WAL first)


class ClusterError(RuntimeError):
    """A server program failed; the message holds what it printed."""


def require_binaries() -> None:
    if not (PG_BIN / "initdb").exists():
        raise ClusterError(
            f"No PostgreSQL server programs in {PG_BIN} (initdb, pg_ctl, pg_basebackup): "
            "install postgresql-15, or point OPEN311_PG_BIN at them."
        )


def run(*args: str, timeout: float = 3600) -> str:
    """Run a server program from PG_BIN (as OWNER when we are root); its output."""
    command = [str(PG_BIN / args[0]), *args[1:]]
    if os.geteuid() == 0:
        command = ["runuser", "-u", OWNER, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise ClusterError(f"{args[0]} failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def owned_folder(path: Path) -> Path:
    """Create `path` for the server's owner (who must be able to write there)."""
    path.mkdir(parents=True, exist_ok=True)
    return owned(path)


def owned(path: Path) -> Path:
    """`path` given to the server's owner, when we are root (who owns what we create)."""
    if os.geteuid() == 0:
        shutil.chown(path, OWNER, OWNER)
    return path


def check_reachable(path: Path) -> None:
    """The server's owner must reach `path` through every folder above it."""
    if os.geteuid() != 0:
        return
    probe = subprocess.run(["runuser", "-u", OWNER, "--", "test", "-w", str(path)], check=False)
    if probe.returncode != 0:
        raise ClusterError(
            f"The {OWNER} user cannot write in {path}: choose a folder it can reach."
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """One data folder served on `port`; its socket and log live in `root`."""

    root: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{OWNER}@127.0.0.1:{self.port}/open311"

    @property
    def log(self) -> Path:
        return self.root / f"{self.data.name}.log"

    def start(self, *settings: str) -> None:
        """Start the server; `settings` are `name=value` for this run only."""
        options = [f"-p {self.port}", f"-k {self.root}", "-c listen_addresses=127.0.0.1"]
        options += [f"-c {setting}" for setting in settings]
        run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", " ".join(options),
            "-t", str(STARTED_WITHIN), "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def initdb(root: Path, name: str, *settings: str) -> Cluster:
    """A new cluster in root/name; `settings` (`name = value`) go to its postgresql.conf."""
    cluster = Cluster(root, root / name, free_port())
    run("initdb", "-D", str(cluster.data), "-U", OWNER, "--auth=trust", "-E", "UTF8", "--no-sync")
    append_settings(cluster.data, *settings)
    return cluster


def append_settings(data: Path, *settings: str) -> None:
    """Add `settings` to the cluster's postgresql.auto.conf (read last, so they win)."""
    with (data / "postgresql.auto.conf").open("a", encoding="utf-8") as conf:
        conf.writelines(f"{setting}\n" for setting in settings)


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def wait_until(check: Callable[[], bool], what: str, within: float = STARTED_WITHIN) -> None:
    """Poll `check()` every 0.1 s until it is true."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} did not happen within {within:g} s")
        time.sleep(0.1)
