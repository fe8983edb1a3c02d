"""Through a real gunicorn (two workers, `-c python:open311.observability.gunicorn_hooks`
as `make run` starts it): no key, token or signed link reaches the access log or the
app's log, and /metrics sums what every worker counted (multiprocess mode)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict

from open311.config import PROJECT_DIR
from open311.notifications.subscriptions import (
    LinkKeys,
    confirmation_token,
    public_id,
    unsubscribe_token,
)
from tests import servers
from tests.builders import CITY_HALL, bearer, make_staff
from tests.conftest import make_app
from tests.live.conftest import _create_api_key, _server_environment
from tests.observability.conftest import sample

pytestmark = pytest.mark.slow

SECRET_KEY = "observability-test-secret-key-0123456789"
FILED = "open311_service_requests_filed_total"
# gunicorn's default format, and every atom that could carry a secret besides.
ACCESS_FORMAT = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" '
    '%(U)s %(q)s "%({authorization}i)s" "%({cookie}i)s" %({raw_uri}e)s '
    "%({http_authorization}e)s id=%({x-request-id}o)s"
)


@dataclass(frozen=True)
class Observed:
    base_url: str
    api_key: str
    staff_token: str
    access_log: Path
    error_log: Path
    metrics_dir: Path
    master: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def observed(
    live_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Observed]:
    folder = tmp_path_factory.mktemp("observed")
    api_key = _create_api_key(live_database_url)
    staff_token = make_staff(
        make_app(live_database_url), "supervisor", "CDOT - Department of Transportation"
    )
    env = _server_environment(live_database_url)
    env.update(
        PROMETHEUS_MULTIPROC_DIR=str(folder / "prometheus"),  # made by on_starting
        OPEN311_SECRET_KEY=SECRET_KEY,
        PYTHONPATH=str(PROJECT_DIR),
    )
    error_log = folder / "stderr.log"
    master = servers.start(
        env,
        error_log,
        "--config",
        "python:open311.observability.gunicorn_hooks",
        "--workers",
        "2",
        "--no-control-socket",
        "--access-logfile",
        str(folder / "access.log"),
        "--access-logformat",
        ACCESS_FORMAT,
        "wsgi:app",
    )
    try:
        base_url = servers.wait_until_serving(master, error_log, "/open311/discovery.json")
        yield Observed(
            base_url,
            api_key,
            staff_token,
            folder / "access.log",
            error_log,
            folder / "prometheus",
            master,
        )
    finally:
        servers.stop(master)
    # test_a_killed_worker… kills a worker on purpose: gunicorn logs that as an error.
    servers.fail_on_errors(error_log, "the server", expected="was sent SIGKILL")


def test_no_key_token_or_signed_link_reaches_the_logs(observed):
    key, staff = observed.api_key, observed.staff_token
    filed = requests.post(
        observed.url(f"/open311/v2/requests.json?api_key={key}"),
        data={
            "service_code": "PHF",
            **CITY_HALL,
            "description": "Pothole",
            "attribute[WHEREIST]": "CURB",
        },
        timeout=10,
    )
    assert filed.status_code == 200, filed.text
    number = filed.json()[0]["service_request_id"]
    subscribed = requests.post(
        observed.url(f"/open311/v2/requests/{number}/subscriptions.json?api_key={key}"),
        data={"email": "neighbour@example.org"},
        timeout=10,
    )
    assert subscribed.status_code == 201, subscribed.text
    # The reply names the subscription by a keyed hash of its row id (issue 14, item 5):
    # the links sign the row id, the first few of a fresh database.
    public = subscribed.json()[0]["subscription_id"]
    subscription_id = next(i for i in range(1, 1000) if public_id(SECRET_KEY, i) == public)
    confirm = f"/open311/confirm/{confirmation_token(LinkKeys(SECRET_KEY), subscription_id)}"
    unsubscribe = f"/open311/unsubscribe/{unsubscribe_token(LinkKeys(SECRET_KEY), subscription_id)}"
    answers = [
        requests.get(
            observed.url(f"/open311/v2/requests.json?api_key={key}&service_code=PHF"), timeout=10
        ),
        requests.get(observed.url(f"/open311/v2/services.json?api%5Fkey={key}"), timeout=10),
        requests.get(observed.url("/open311/staff/me"), headers=bearer(staff), timeout=10),
        requests.get(
            observed.url("/open311/staff/me"), headers={"Cookie": f"token={staff}"}, timeout=10
        ),
        requests.get(observed.url(confirm), timeout=10),
        requests.post(
            observed.url(confirm), headers={"Referer": observed.url(confirm)}, timeout=10
        ),
        requests.post(
            observed.url(unsubscribe), headers={"Referer": observed.url(unsubscribe)}, timeout=10
        ),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 401, 200, 200, 200]
    assert b"Subscription confirmed" in answers[5].content
    assert b"You are unsubscribed" in answers[6].content

    secrets = {key, staff, confirm.rsplit("/", 1)[1], unsubscribe.rsplit("/", 1)[1]}
    request_ids = [a.headers["X-Request-ID"] for a in (filed, subscribed, *answers)]
    access = _wait_for_lines(observed.access_log, request_ids, "id={}")
    app_log = _wait_for_lines(observed.error_log, request_ids, '"request_id": "{}"')
    for text in (access, app_log):
        assert not [secret for secret in secrets if secret in text]
    assert access.count("[redacted]") >= 10  # the lines are there, with their secrets replaced
    assert '"GET /open311/confirm/[redacted] HTTP/1.1" 200' in access
    assert '/open311/staff/me  "[redacted]" "-"' in access  # Authorization
    assert '/open311/staff/me  "-" "[redacted]"' in access  # Cookie
    answered = [json.loads(line) for line in app_log.splitlines() if '"status"' in line]
    paths = {line["path"] for line in answered}
    assert "/open311/v2/requests.json?api_key=[redacted]&service_code=PHF" in paths
    assert "/open311/unsubscribe/[redacted]" in paths


def test_metrics_add_up_what_every_worker_counted(observed):
    before = _scrape(observed)
    forms = [
        {"api_key": observed.api_key, "service_code": "PHF", **CITY_HALL,
         "description": f"Pothole number {n}", "attribute[WHEREIST]": "CURB"}
        for n in range(12)
    ]  # fmt: skip
    # Four at once against two sync workers: both take some.
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda form: _post(observed, form), forms))
    assert statuses == [200] * 12
    after = _scrape(observed)
    assert sample(after, FILED, via="georeport") - sample(before, FILED, via="georeport") == 12
    by_worker = _filed_by_worker(observed.metrics_dir)
    assert len([pid for pid, count in by_worker.items() if count > 0]) == 2, by_worker
    assert sum(by_worker.values()) == sample(after, FILED, via="georeport")
    answered = {"endpoint": "georeport.create_request", "method": "POST", "status": "200"}
    name = "open311_http_requests_total"
    assert sample(after, name, **answered) - sample(before, name, **answered) == 12
    assert sample(after, "open311_database_up") == 1


def test_a_killed_workers_counts_are_kept(observed):
    before = sample(_scrape(observed), FILED, via="georeport")
    assert before > 0
    workers = _workers(observed.master.pid)
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (now := _workers(observed.master.pid)) == workers or len(now) < 2:
        assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
        time.sleep(0.1)
    assert sample(_scrape(observed), FILED, via="georeport") == before
    assert requests.get(observed.url("/readyz"), timeout=10).json()["ready"] is True


def _post(observed: Observed, form: dict[str, str]) -> int:
    return requests.post(
        observed.url("/open311/v2/requests.json"), data=form, timeout=30
    ).status_code


def _scrape(observed: Observed) -> str:
    response = requests.get(observed.url("/metrics"), timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def _filed_by_worker(directory: Path) -> dict[int, float]:
    """What each worker's own file holds, before /metrics adds them up."""
    counts: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(re.fullmatch(r"counter_(\d+)\.db", path.name)[1])
        for key, value, _timestamp, _position in MmapedDict.read_all_values_from_file(str(path)):
            _metric, name, labels, _help = json.loads(key)
            if name == FILED and labels == {"via": "georeport"}:
                counts[pid] = counts.get(pid, 0) + value
    return counts


def _workers(master: int) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-P", str(master)], capture_output=True, text=True, check=False
    )
    return sorted(int(pid) for pid in found.stdout.split())


def _wait_for_lines(path: Path, request_ids: list[str], pattern: str) -> str:
    """The log's text once it holds a line for each of these requests."""
    deadline = time.monotonic() + 10
    while True:
        text = path.read_text()
        missing = [rid for rid in request_ids if pattern.format(rid) not in text]
        if not missing:
            return text
        assert time.monotonic() < deadline, f"no line for {missing} in {path.name}:\n{text}"
        time.sleep(0.1)
