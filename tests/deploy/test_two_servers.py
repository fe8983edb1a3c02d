"""Two app servers serve one city: two gunicorns (deploy/gunicorn.conf.py, two workers
each) on one PostgreSQL, one Redis and one S3 bucket (moto's server), behind one nginx
whose upstream names both, and one outbox worker for both.

What one server writes, the other reads: a resident signed in on A is served "My
requests" by B with the same cookie, and through nginx by either; a staff member signed
in to the console on A is signed in on B; a one-time link spent on A is refused on B;
a photo filed through A is served by B; and the rate limits count once for both, so
the request past a limit is refused whichever server answers it. The control: the same
two servers without Redis each count on their own, and let through twice a limit.

PostgreSQL and Redis are the machine's (.ci/run sets OPEN311_TEST_POSTGIS_URL and
OPEN311_TEST_REDIS_URL): in CI a missing one fails these tests instead of skipping them.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests
from aiosmtpd.controller import Controller

from open311.config import PROJECT_DIR
from tests import servers
from tests.builders import pothole_form
from tests.conftest import _empty_postgis, load_test_catalog, make_app, new_api_key
from tests.console.conftest import CDOT, PASSWORD, TOKEN_FIELD, add_staff
from tests.deploy.conftest import gunicorn, nginx
from tests.live.conftest import _server_environment
from tests.media import photos
from tests.notifications.conftest import Mailbox

pytestmark = [pytest.mark.slow, pytest.mark.postgis]

SEARCHES_ALLOWED = 5  # GET /requests per address per minute, across both servers
SIGN_IN_LINKS_ALLOWED = 2  # per email per hour
CONSOLE_FAILURES_ALLOWED = 2  # wrong passwords per account and address per minute
RESIDENT = "resident@example.org"
MY_REQUESTS_PAGE = 20  # web/account.py's PAGE_SIZE: one more makes a second page
MEDIA_NAME = re.compile(r"/open311/v2/media/[0-9a-f]{64}\.jpg")


def required(name: str) -> str:
    """An environment variable these tests need: skipped without it, except in CI."""
    value = os.environ.get(name, "")
    if not value:
        reason = f"{name} is not set (.ci/run sets it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return value


@dataclass(frozen=True)
class City:
    a: str  # server A's base URL
    b: str  # server B's base URL
    proxy: str  # nginx's, in front of both
    database_url: str
    environment: Mapping[str, str]  # what every process of the city is started with
    logs: Path  # a.log, b.log: each server's access log and errors
    media_roots: tuple[Path, Path]  # each server's own (unused) local photo folder
    bucket: str
    moto_url: str
    mailbox: Mailbox
    smtp_port: int

    def servers(self) -> tuple[str, str, str]:
        return self.a, self.b, self.proxy


@pytest.fixture(scope="module")
def postgis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    required("OPEN311_TEST_POSTGIS_URL")
    url: str = request.getfixturevalue("postgis_schema")
    load_test_catalog(url)
    yield url
    _empty_postgis(url)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[tuple[str, str]]:
    """The machine's Redis and a key prefix of this module's own, deleted after."""
    import redis

    url = required("OPEN311_TEST_REDIS_URL")
    prefix = f"open311-test-{uuid.uuid4().hex}"
    yield url, prefix
    connection = redis.Redis.from_url(url)
    for key in connection.scan_iter(match=f"*{prefix}*"):
        connection.delete(key)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = servers.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=servers.free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


def city_environment(
    database_url: str, proxy_port: int, moto_url: str, bucket: str, redis: tuple[str, str] | None
) -> dict[str, str]:
    """One city's settings, the same for every server: one key, one database, one Redis
    (or none, for the control), one bucket, the public address nginx serves."""
    environment = _server_environment(database_url)  # a random key, generous limits
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each server would empty the other's
    environment.update(
        OPEN311_TRUSTED_PROXIES="1",  # nginx in front, as deploy/nginx.conf says
        OPEN311_PUBLIC_BASE_URL=f"http://127.0.0.1:{proxy_port}",
        OPEN311_RATE_LIMIT_SEARCHES_PER_ADDRESS=f"{SEARCHES_ALLOWED} per minute",
        OPEN311_RATE_LIMIT_SIGN_IN_PER_EMAIL=f"{SIGN_IN_LINKS_ALLOWED} per hour",
        OPEN311_CONSOLE_SIGN_IN_FAILURES=f"{CONSOLE_FAILURES_ALLOWED} per minute",
        OPEN311_MEDIA_STORAGE="s3",
        OPEN311_MEDIA_S3_BUCKET=bucket,
        OPEN311_MEDIA_S3_ENDPOINT_URL=moto_url,
        OPEN311_MEDIA_S3_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    if redis is not None:
        environment.update(OPEN311_REDIS_URL=redis[0], OPEN311_RATE_LIMIT_KEY_PREFIX=redis[1])
    return environment


def start_city(
    stack: ExitStack,
    folder: Path,
    database_url: str,
    moto_url: str,
    redis: tuple[str, str] | None,
    workers: int,
) -> tuple[str, str, str, dict[str, str], tuple[Path, Path], str]:
    """Servers A and B and nginx in front of both, stopped with `stack`."""
    bucket = f"photos-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    proxy_port = servers.free_port()
    shared = city_environment(database_url, proxy_port, moto_url, bucket, redis)
    started, roots = [], []
    for name in ("a", "b"):
        # Each server's own disk: a photo found there would not be a shared one.
        roots.append(folder / f"media-{name}")
        environment = {**shared, "OPEN311_MEDIA_ROOT": str(roots[-1])}
        options = ("--workers", str(workers), "--access-logfile", str(folder / f"{name}.log"))
        log = folder / f"{name}.errors.log"
        started.append(
            stack.enter_context(gunicorn(database_url, log, *options, environment=environment))
        )
    proxy = stack.enter_context(nginx(started, folder / "nginx", port=proxy_port))
    return started[0], started[1], proxy, shared, (roots[0], roots[1]), bucket


@pytest.fixture(scope="module")
def city(
    postgis_url: str,
    redis_url: tuple[str, str],
    moto_url: str,
    mailbox: tuple[Mailbox, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[City]:
    folder = tmp_path_factory.mktemp("city")
    with ExitStack() as stack:
        a, b, proxy, environment, roots, bucket = start_city(
            stack, folder, postgis_url, moto_url, redis_url, workers=2
        )
        yield City(a, b, proxy, postgis_url, environment, folder, roots, bucket, moto_url, *mailbox)
    for name in ("a", "b"):
        servers.fail_on_errors(folder / f"{name}.errors.log", f"server {name.upper()}")


# --- helpers: a browser's session, the outbox worker, the access logs ----------------------


def csrf_token(browser: requests.Session, url: str) -> str:
    page = browser.get(url, timeout=10)
    assert page.status_code == 200, page.text
    found = TOKEN_FIELD.search(page.text)
    assert found, page.text
    return found[1]


def file_requests(city: City, email: str, count: int) -> list[str]:
    """Requests filed through the API by a partner's app with `email`, spread over A and
    B; their numbers."""
    api_key = new_api_key(make_app(city.database_url), "A partner's app")
    numbers = []
    for n in range(count):
        form = pothole_form(api_key, email=email, description=f"Pothole {n}", device_id=str(n))
        del form["phone"]  # no texts to send
        answer = requests.post(
            f"{(city.a, city.b)[n % 2]}/open311/v2/requests.json", data=form, timeout=10
        )
        assert answer.status_code == 200, answer.text
        numbers.append(answer.json()[0]["service_request_id"])
    return numbers


def run_outbox_worker(city: City) -> None:
    """The city's one outbox worker (`flask open311 send-outbox`), a process of its own
    with the servers' settings, delivering what is due through the test's SMTP server."""
    environment = {
        **city.environment,
        "FLASK_APP": "wsgi:app",
        "OPEN311_SMTP_HOST": "127.0.0.1",
        "OPEN311_SMTP_PORT": str(city.smtp_port),
    }
    done = servers.flask_command(environment, "send-outbox", "--once")
    assert done.returncode == 0, done.stderr


def emailed_sign_in_path(city: City, email: str) -> str:
    """The path of the sign-in link the outbox worker emailed to `email` last."""
    run_outbox_worker(city)
    link = re.compile(rf"{re.escape(city.proxy)}(/sign-in/\S+)")
    found = [
        match[1]
        for message in city.mailbox.messages
        if message["To"] == email
        for match in link.finditer(message.get_content())
    ]
    assert found, [message["Subject"] for message in city.mailbox.messages]
    return found[-1]


def answered_by(city: City, user_agent: str, total: int) -> list[int]:
    """How many of the `total` requests from `user_agent` A and B each logged (gunicorn's
    access log lines end with the User-Agent, which nginx passes on). A line is written
    just after its answer is sent: wait a little for the last ones."""
    deadline = time.monotonic() + 10
    while True:
        counts = [
            (city.logs / f"{name}.log").read_text().count(f'"{user_agent}"') for name in ("a", "b")
        ]
        if sum(counts) >= total or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


# --- the tests -----------------------------------------------------------------------------


def test_a_resident_signed_in_on_a_is_served_by_b_and_through_nginx(city: City) -> None:
    numbers = file_requests(city, RESIDENT, MY_REQUESTS_PAGE + 1)
    browser = requests.Session()
    answer = browser.post(
        f"{city.a}/sign-in",
        data={"csrf_token": csrf_token(browser, f"{city.a}/my-requests"), "email": RESIDENT},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text
    link = emailed_sign_in_path(city, RESIDENT)
    answer = browser.post(
        city.a + link,
        data={"csrf_token": csrf_token(browser, city.a + link)},
        allow_redirects=False,
        timeout=10,
    )
    assert (answer.status_code, answer.headers["Location"]) == (303, "/my-requests")

    # Page 1 holds the 20 newest, page 2 the first filed: from B, from A, and from nginx.
    pages = {1: numbers[1:], 2: numbers[:1]}
    for server in city.servers():
        for page, expected in pages.items():
            served = browser.get(f"{server}/my-requests?page={page}", timeout=10)
            assert served.status_code == 200
            assert RESIDENT in served.text
            assert all(number in served.text for number in expected), (server, page)
    # Through nginx, both servers answer this browser in turn, not always the same one.
    marked = {"User-Agent": f"resident-{secrets.token_hex(4)}"}
    for _ in range(4):
        served = browser.get(f"{city.proxy}/my-requests?page=2", headers=marked, timeout=10)
        assert numbers[0] in served.text
    assert answered_by(city, marked["User-Agent"], 4) == [2, 2]

    # Signed out on B: the cookie signs no one in on A either.
    browser.post(
        f"{city.b}/sign-out",
        data={"csrf_token": csrf_token(browser, f"{city.b}/my-requests")},
        timeout=10,
    )
    for server in city.servers():
        assert 'id="my-requests"' not in browser.get(f"{server}/my-requests", timeout=10).text


def test_a_sign_in_link_spent_on_a_is_refused_on_b(city: City) -> None:
    email = f"once-{secrets.token_hex(4)}@example.org"
    first, second = requests.Session(), requests.Session()
    first.post(
        f"{city.a}/sign-in",
        data={"csrf_token": csrf_token(first, f"{city.a}/my-requests"), "email": email},
        timeout=10,
    )
    link = emailed_sign_in_path(city, email)
    assert second.get(city.b + link, timeout=10).status_code == 200  # unspent: B offers it
    token = csrf_token(first, city.a + link)
    assert first.post(city.a + link, data={"csrf_token": token}, timeout=10).status_code == 200
    assert email in first.get(f"{city.b}/my-requests", timeout=10).text

    for server in (city.b, city.proxy):
        refused = second.post(
            server + link,
            data={"csrf_token": csrf_token(second, f"{server}/my-requests")},
            allow_redirects=False,
            timeout=10,
        )
        assert refused.status_code == 410, refused.text
        assert "used already" in refused.text
        assert second.get(server + link, timeout=10).status_code == 410
    assert email not in second.get(f"{city.b}/my-requests", timeout=10).text


def test_a_console_sign_in_on_a_is_valid_on_b(city: City) -> None:
    email = add_staff(make_app(city.database_url), "agent", CDOT, "agent.two@city.example")
    browser = requests.Session()
    signed_in = browser.post(
        f"{city.a}/console/sign-in",
        data={
            "csrf_token": csrf_token(browser, f"{city.a}/console/sign-in"),
            "email": email,
            "password": PASSWORD,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 303, signed_in.text
    assert "open311_console" in browser.cookies
    for server in (city.b, city.proxy, city.a):
        queue = browser.get(f"{server}/console/queue", allow_redirects=False, timeout=10)
        assert queue.status_code == 200, (server, queue.status_code)
        assert "Agent of CDOT" in queue.text

    token = csrf_token(browser, f"{city.b}/console/queue")
    browser.post(f"{city.b}/console/sign-out", data={"csrf_token": token}, timeout=10)
    for server in city.servers():
        queue = browser.get(f"{server}/console/queue", allow_redirects=False, timeout=10)
        assert queue.status_code == 303  # to the sign-in page, on every server


def test_a_photo_filed_through_a_is_served_by_b_from_the_bucket(city: City) -> None:
    api_key = new_api_key(make_app(city.database_url), "A partner's app with photos")
    form = pothole_form(api_key, description="Pothole with a photo", device_id="photo")
    filed = requests.post(
        f"{city.a}/open311/v2/requests.json",
        data=form,
        files=[("media", ("pothole.jpg", photos.jpeg(), "image/jpeg"))],
        timeout=30,
    )
    assert filed.status_code == 200, filed.text
    number = filed.json()[0]["service_request_id"]
    [listed] = requests.get(
        f"{city.b}/open311/v2/requests/{number}.json?extensions=true", timeout=10
    ).json()
    assert listed["media_url"].startswith(city.proxy)  # PUBLIC_BASE_URL: the site's address
    path = listed["media_url"].removeprefix(city.proxy)
    thumbnail = listed["photos"][0]["thumbnail_url"].removeprefix(city.proxy)
    assert MEDIA_NAME.fullmatch(path)

    served = {server: requests.get(server + path, timeout=10) for server in city.servers()}
    assert {answer.status_code for answer in served.values()} == {200}
    assert len({answer.content for answer in served.values()}) == 1
    assert requests.get(city.b + thumbnail, timeout=10).status_code == 200
    # From the bucket: neither server kept a file of its own.
    s3 = boto3.client(
        "s3",
        endpoint_url=city.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stored = [item["Key"] for item in s3.list_objects_v2(Bucket=city.bucket)["Contents"]]
    assert "photos/" + path.rsplit("/", 1)[1] in stored
    assert not any(root.exists() and any(root.iterdir()) for root in city.media_roots)


def test_rate_limits_hold_across_both_servers(city: City) -> None:
    searches = "/open311/v2/requests.json"
    spread = [city.a, city.b, city.proxy, city.b, city.a][:SEARCHES_ALLOWED]
    assert [requests.get(s + searches, timeout=10).status_code for s in spread] == [200] * len(
        spread
    )
    for server in city.servers():  # the next, whichever server answers it
        refused = requests.get(server + searches, timeout=10)
        assert refused.status_code == 429, (server, refused.text)
        assert int(refused.headers["Retry-After"]) >= 1

    # Sign-in links per email, counted in the app's own code (not Flask-Limiter's hook).
    email = f"many-links-{secrets.token_hex(4)}@example.org"
    browser = requests.Session()

    def ask(server: str) -> int:
        token = csrf_token(browser, f"{server}/my-requests")
        answer = browser.post(
            f"{server}/sign-in",
            data={"csrf_token": token, "email": email},
            allow_redirects=False,
            timeout=10,
        )
        return answer.status_code

    assert [ask(s) for s in (city.a, city.b)[:SIGN_IN_LINKS_ALLOWED]] == [303, 303]
    assert [ask(s) for s in city.servers()] == [429, 429, 429]


def test_console_sign_in_failures_are_counted_across_both_servers(city: City) -> None:
    email = add_staff(make_app(city.database_url), "agent", CDOT, "agent.three@city.example")
    # Straight to A and B, as if from another nginx's client: its own failures count.
    other_client = {"X-Forwarded-For": "198.51.100.7"}
    browser = requests.Session()

    def attempt(server: str, password: str) -> int:
        token = csrf_token(browser, f"{server}/console/sign-in")
        answer = browser.post(
            f"{server}/console/sign-in",
            data={"csrf_token": token, "email": email, "password": password},
            headers=other_client,
            allow_redirects=False,
            timeout=10,
        )
        return answer.status_code

    wrong = [attempt(s, "not the password") for s in (city.a, city.b)]
    assert wrong == [401] * CONSOLE_FAILURES_ALLOWED
    assert [attempt(s, PASSWORD) for s in (city.a, city.b)] == [429, 429]


def test_without_redis_each_server_counts_alone(
    postgis_url: str, moto_url: str, tmp_path: Path
) -> None:
    """The control: no OPEN311_REDIS_URL, and twice the limit gets through two servers;
    each warns so as it starts."""
    with ExitStack() as stack:
        a, b, _proxy, _environment, _roots, _bucket = start_city(
            stack, tmp_path, postgis_url, moto_url, redis=None, workers=1
        )
        searches = "/open311/v2/requests.json"
        answers = [requests.get(s + searches, timeout=10).status_code for s in (a, b) * 5]
    assert answers == [200] * 2 * SEARCHES_ALLOWED
    for name in ("a", "b"):
        assert "OPEN311_REDIS_URL is not set" in (tmp_path / f"{name}.errors.log").read_text()


def test_the_doctor_finds_nothing_kept_on_one_server(city: City) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "open311.doctor", "--several-servers"],
        cwd=PROJECT_DIR,
        env=dict(city.environment),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "Nothing is kept on this server alone" in checked.stdout
    assert city.bucket in checked.stdout
