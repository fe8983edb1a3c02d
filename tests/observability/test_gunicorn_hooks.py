"""The gunicorn hooks: the metrics directory is made or emptied when the master starts
(of the library's files only), and a dead worker's live gauges are dropped."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

from open311.config import PROJECT_DIR
from open311.observability import gunicorn_hooks


def test_starting_makes_the_directory(tmp_path, monkeypatch):
    directory = tmp_path / "made" / "prometheus"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    gunicorn_hooks.on_starting(server=None)
    assert directory.is_dir()


def test_starting_empties_an_earlier_runs_files_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    earlier = ["counter_101.db", "histogram_101.db", "gauge_livesum_102.db", "summary_9.db"]
    kept = ["open311.db", "notes.txt"]
    for name in earlier + kept:
        (tmp_path / name).write_bytes(b"x")
    gunicorn_hooks.on_starting(server=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_a_dead_workers_live_gauges_are_dropped(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("gauge_livesum_7.db", "gauge_liveall_7.db", "counter_7.db", "gauge_livesum_8.db"):
        (tmp_path / name).write_bytes(b"x")
    gunicorn_hooks.child_exit(server=None, worker=SimpleNamespace(pid=7))
    # A counter keeps what the worker counted; live gauges of other workers stay.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_7.db", "gauge_livesum_8.db"]


def test_without_a_directory_the_hooks_do_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    gunicorn_hooks.on_starting(server=None)
    gunicorn_hooks.child_exit(server=None, worker=SimpleNamespace(pid=7))
    assert gunicorn_hooks.logger_class == "open311.observability.gunicorn_logging.RedactingLogger"


class Server:
    """What when_ready uses of gunicorn's arbiter: its settings and its log."""

    def __init__(self, workers: int) -> None:
        self.cfg = SimpleNamespace(workers=workers)
        self.warnings: list[str] = []
        self.log = SimpleNamespace(warning=lambda text, *args: self.warnings.append(text % args))


def test_ready_without_redis_warns_once_that_each_worker_counts_alone(monkeypatch):
    monkeypatch.setenv("OPEN311_SECRET_KEY", "k" * 43)
    monkeypatch.delenv("OPEN311_REDIS_URL", raising=False)
    server = Server(workers=5)
    gunicorn_hooks.when_ready(server)
    [warning] = server.warnings
    assert "OPEN311_REDIS_URL is not set: each of the 5 workers counts" in warning


def test_ready_with_redis_or_without_a_key_says_nothing(monkeypatch):
    monkeypatch.setenv("OPEN311_SECRET_KEY", "k" * 43)
    monkeypatch.setenv("OPEN311_REDIS_URL", "redis://127.0.0.1:6379/0")
    server = Server(workers=5)
    gunicorn_hooks.when_ready(server)
    monkeypatch.delenv("OPEN311_REDIS_URL")
    monkeypatch.delenv("OPEN311_SECRET_KEY")  # the workers refuse to start, and say why
    gunicorn_hooks.when_ready(server)
    assert server.warnings == []


def test_an_empty_directory_setting_writes_no_files_where_the_process_started(tmp_path):
    """prometheus_client goes multiprocess on the variable's presence alone; set but
    empty, it wrote its .db files into the working directory of every process."""
    script = (
        "from open311 import create_app\n"
        "app = create_app({'TESTING': True, 'SECRET_KEY': 'k' * 40,\n"
        "                  'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'SANDBOX_DATABASE_URI': ''})\n"
        "assert app.test_client().get('/healthz').status_code == 200\n"
        "from open311.observability import metrics\n"
        "metrics.REQUESTS_FILED.labels('georeport').inc()\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": "", "PYTHONPATH": str(PROJECT_DIR)}
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True)
    assert list(tmp_path.iterdir()) == []
