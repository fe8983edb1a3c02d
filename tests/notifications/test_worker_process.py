"""The worker as a real process (`flask open311 send-outbox`): killed with SIGKILL in the
middle of a delivery and restarted, every notification still arrives exactly once at a
receiver that de-duplicates on the notification id, and nothing it acknowledged is sent
again; two workers side by side never send the same notification twice."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from open311.config import PROJECT_DIR
from open311.models import DeliveryState
from tests.builders import pothole_form
from tests.notifications.conftest import LOOPBACK, create_webhook, notifications

pytestmark = pytest.mark.slow
ANONYMOUS = {"email": None, "phone": None, "account_id": None}


class Worker:
    def __init__(self, database_url: str, name: str, log: Path, **config: object) -> None:
        env = {
            **os.environ,
            "FLASK_APP": "open311",
            "PYTHONPATH": str(PROJECT_DIR),
            "OPEN311_DATABASE_URL": database_url,
            "OPEN311_SECRET_KEY": secrets.token_urlsafe(32),  # a served app refuses the dev key
            "OPEN311_OUTBOX_POLL_SECONDS": "0.1",
            "OPEN311_OUTBOX_BACKOFF_SECONDS": "0.2",
            # The receivers listen on loopback, which webhooks may not reach by default.
            "OPEN311_WEBHOOK_ALLOWED_NETWORKS": ",".join(LOOPBACK),
            **{f"OPEN311_{key}": str(value) for key, value in config.items()},
        }
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "open311", "send-outbox", "--worker-id", name],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(lambda: "sending" in self.output(), f"worker {name} to start")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        """SIGTERM: the deliveries in flight finish, then it exits; its count of deliveries."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(30) == 0, self.output()
        # The summary line, not a log line ("notification <id> delivered (webhook)").
        return int(re.search(r"^(\d+) delivered, ", self.output(), re.MULTILINE)[1])

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no cleanup of any kind
        self.process.wait(10)


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def file(client, api_key, index):
    form = pothole_form(api_key, **ANONYMOUS, description=f"Pothole number {index}")
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 200, response.json


def delivered(app) -> int:
    return len(notifications(app, state=DeliveryState.DELIVERED))


def test_a_worker_killed_mid_delivery_loses_nothing_and_resends_nothing_acknowledged(
    app, client, api_key, receiver, database_url, tmp_path, workers
):
    receiver.behaviour["/stuck"] = "block-first"  # holds its first POST, never answers it
    for path in ("/stuck", "/hook"):
        create_webhook(client, api_key, receiver, path, service_code="PHF")
    for index in range(5):
        file(client, api_key, index)
    config = {"OUTBOX_CONCURRENCY": 4, "OUTBOX_LEASE_SECONDS": 3, "WEBHOOK_TIMEOUT_SECONDS": 30}
    workers.append(first := Worker(database_url, "first", tmp_path / "first.log", **config))
    # The stuck receiver holds one slot; the other receiver gets all five meanwhile.
    wait_for(
        lambda: receiver.blocked.is_set() and delivered(app) == 5, "/hook served beside /stuck"
    )
    assert len(receiver.acked_ids("/hook")) == 5
    assert len(receiver.at("/stuck")) == 1

    first.kill()  # mid-delivery: the receiver holds one POST open
    [stuck] = receiver.at("/stuck")
    receiver.release.set()  # the receiver got it, but its answer never reached anyone
    for index in range(5, 7):
        file(client, api_key, index)  # changes while no worker runs are kept too

    workers.append(second := Worker(database_url, "second", tmp_path / "second.log", **config))
    wait_for(lambda: delivered(app) == 14, "every notification delivered")
    assert second.stop() == 9  # the stuck one once its lease expired, 4 never sent, 4 new

    rows = notifications(app)
    keys = {row.key for row in rows}
    assert len(keys) == 14
    assert {row.state for row in rows} == {DeliveryState.DELIVERED}
    recorded = receiver.recorded("/stuck") | receiver.recorded("/hook")
    assert recorded.keys() == keys  # every one arrived; de-duplicated on the id, once
    acked = receiver.acked_ids("/stuck") + receiver.acked_ids("/hook")
    assert acked == Counter(dict.fromkeys(keys, 1))  # one 2xx each
    arrivals = receiver.arrivals
    acknowledged: dict[str, float] = {a.notification_id: a.acked_at for a in arrivals if a.acked_at}
    resent_after_ack = [a for a in arrivals if a.at > acknowledged[a.notification_id]]
    assert resent_after_ack == []
    assert [a.acked for a in arrivals if a.notification_id == stuck.notification_id] == [
        False,
        True,
    ]
    assert {row.key: row.attempts for row in rows}[stuck.notification_id] == 2
    assert all(a.signed for a in arrivals)


def test_two_workers_at_once_never_send_the_same_notification_twice(
    app, client, api_key, receiver, database_url, tmp_path, workers
):
    receiver.delay = 0.05
    create_webhook(client, api_key, receiver, "/hook", service_code="PHF")
    config = {"OUTBOX_CONCURRENCY": 3}
    for name in ("left", "right"):
        workers.append(Worker(database_url, name, tmp_path / f"{name}.log", **config))
    for index in range(40):
        file(client, api_key, index)
    wait_for(lambda: delivered(app) == 40, "40 deliveries")
    counts = [worker.stop() for worker in workers]

    arrivals = receiver.at("/hook")
    assert len(arrivals) == 40
    assert Counter(a.notification_id for a in arrivals) == Counter(
        dict.fromkeys({r.key for r in notifications(app)}, 1)
    )
    assert sum(counts) == 40, counts  # both worked, neither twice
    assert min(counts) > 0, counts
