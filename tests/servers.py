"""gunicorn for the tests that need a real server: start it on a free port, wait until
it answers, stop it with its workers, and read its log for errors."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import requests

from open311.config import PROJECT_DIR

GUNICORN = Path(sys.executable).parent / "gunicorn"  # beside the running Python
START_TIMEOUT = 30.0  # seconds for gunicorn to boot and answer its ready path
_LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
# gunicorn's own lines say [ERROR]; the app's JSON lines say "level": "ERROR".
_ERROR_MARKS = ("Traceback", "[ERROR]", '"level": "ERROR"')


def free_port() -> int:
    """A TCP port of 127.0.0.1 free a moment ago, for a server that must be told its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(env: Mapping[str, str], log: Path, *arguments: str) -> subprocess.Popen[bytes]:
    """gunicorn with `arguments`, bound to a free port of 127.0.0.1, its stderr in `log`."""
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [str(GUNICORN), "--bind", "127.0.0.1:0", *arguments],
            cwd=PROJECT_DIR,
            env=dict(env),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # its own process group: workers stop with it
        )


def flask_command(
    env: Mapping[str, str], *arguments: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`flask open311 <arguments>` as a process of its own, as a city's cron or process
    supervisor runs it: the app (FLASK_APP) and its settings come from `env`."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "open311", *arguments],
        cwd=PROJECT_DIR, env=dict(env), capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip


def wait_until_serving(
    process: subprocess.Popen[bytes],
    log: Path,
    ready_path: str,
    timeout: float = START_TIMEOUT,
    poll: float = 0.1,
) -> str:
    """The server's base URL once `ready_path` answers 200; fail with gunicorn's stderr
    (and stop it) when it exits or does not answer within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log_text(log)}")
        if match := _LISTENING.search(log_text(log)):
            try:
                if requests.get(match[1] + ready_path, timeout=5).status_code == 200:
                    return match[1]
            except (requests.ConnectionError, requests.Timeout):
                pass
        time.sleep(poll)
    stop(process)
    pytest.fail(f"gunicorn did not answer within {timeout:.0f} s:\n{log_text(log)}")


def stop(process: subprocess.Popen[bytes], graceful: signal.Signals = signal.SIGTERM) -> None:
    """`graceful` (SIGTERM: gunicorn's graceful shutdown of the master and workers), then
    SIGKILL to the whole process group if that takes too long."""
    if process.poll() is not None:
        return
    process.send_signal(graceful)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def fail_on_errors(log: Path, who: str, expected: str | None = None) -> None:
    """A traceback in the server log is a bug even when the client saw a tidy 500.
    Lines holding `expected` (an error a test caused on purpose) are let through."""
    text = log_text(log)
    errors = [
        line
        for line in text.splitlines()
        if any(mark in line for mark in _ERROR_MARKS) and (expected is None or expected not in line)
    ]
    if errors:
        pytest.fail(f"{who} logged errors:\n{text}")


def log_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
