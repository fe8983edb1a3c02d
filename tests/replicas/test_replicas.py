"""Read replicas on a real primary and hot standby (tests/replicas/conftest.py).

GETs are answered from the standby, as the servers themselves tell (pg_stat_activity:
who asked what, when); a request filed is found at once by id, even while the
standby has not replayed it; a standby that lags too far or is stopped is skipped
with no error to the caller, and /readyz and /metrics say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from open311 import create_app
from open311.replicas import WROTE_COOKIE, ReplicasNeedPostgreSQL, replica_urls
from tests.builders import bearer, make_staff, pothole_form
from tests.console.conftest import CDOT, Browser, add_staff
from tests.replicas.conftest import Pair, dispose, replicated_app

WITHIN = 10.0  # seconds a check may take to notice a change

# The GETs a city's readers send: lists, one request, the catalogue, feeds, articles,
# and the resident site's pages.
READS = (
    "/open311/v2/requests.json",
    "/open311/v2/requests.xml?status=open",
    "/open311/v2/services.json",
    "/open311/v2/articles.json?q=pothole",
    "/open311/feeds/requests.geojson",
    "/open311/feeds/requests.csv",
    "/",
    "/near?lat=41.8837&long=-87.6319",
)


@pytest.fixture(scope="module")
def app(pair: Pair) -> Iterator[Flask]:
    app = replicated_app(pair, DATABASE_REPLICA_MAX_LAG_SECONDS=5.0)
    yield app
    dispose(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A partner's app: it keeps no cookies, so nothing tells the server it just wrote."""
    return app.test_client(use_cookies=False)


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WITHIN
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WITHIN:g} s: {what}")
        time.sleep(0.05)
    return found


def replica_status(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/readyz")
    assert response.status_code == 200, response.json  # a replica never makes it unready
    (replica,) = response.json["replicas"]
    return {"reads_from": response.json["reads_from"], **replica}


def in_use(client: FlaskClient) -> dict[str, Any] | None:
    status = replica_status(client)
    return status if status["in_use"] else None


def file_request(client: FlaskClient, pair: Pair, description: str) -> str:
    form = pothole_form(pair.api_key, description=description)
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 200, response.json
    return str(response.json[0]["service_request_id"])


def asked_since(cluster_sql: Callable[..., Any], application: str, since: str) -> int:
    """How many of the app's connections to this server ran a statement since `since`."""
    return int(
        cluster_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'open311'"
            " AND application_name = :application AND query_start > CAST(:since AS timestamptz)",
            application=application,
            since=since,
        )
    )


def test_gets_are_answered_by_the_standby(pair: Pair, client: FlaskClient):
    number = file_request(client, pair, "Read me from the standby")
    pair.wait_until_replayed()
    status = wait_for(lambda: in_use(client), "the standby in use")
    assert status["reads_from"] == "replicas"
    assert 0 <= status["lag_seconds"] <= 5.0
    since = pair.primary.sql("SELECT now()::text")
    for path in (*READS, f"/open311/v2/requests/{number}.json", f"/requests/{number}"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.data[:300])
    assert client.get(f"/open311/v2/requests/{number}.json").json[0]["description"] == (
        "Read me from the standby"
    )
    assert asked_since(pair.standby.sql, "open311-replica", since) >= 1
    assert asked_since(pair.primary.sql, "open311", since) == 0  # the primary was not asked


def test_a_request_filed_is_found_at_once(pair: Pair, client: FlaskClient):
    for attempt in range(50):
        number = file_request(client, pair, f"Filed then read, {attempt}")
        response = client.get(f"/open311/v2/requests/{number}.json")
        assert response.status_code == 200, (attempt, response.json)
        assert response.json[0]["service_request_id"] == number


def test_a_request_filed_is_found_while_the_standby_has_not_replayed_it(
    pair: Pair, client: FlaskClient
):
    wait_for(lambda: in_use(client), "the standby in use")
    pair.standby.sql("SELECT pg_wal_replay_pause()")
    try:
        for attempt in range(20):
            number = file_request(client, pair, f"Not on the standby yet, {attempt}")
            since = pair.standby.sql("SELECT now()::text")
            response = client.get(f"/open311/v2/requests/{number}.json")
            assert response.status_code == 200, (attempt, response.json)
            assert response.json[0]["service_request_id"] == number
            assert asked_since(pair.standby.sql, "open311-replica", since) >= 1  # asked first
        assert client.get(f"/requests/{number}").status_code == 200  # the resident's page
    finally:
        pair.standby.sql("SELECT pg_wal_replay_resume()")


def test_a_credential_issued_a_moment_ago_counts_at_once(pair: Pair, app: Flask, client):
    wait_for(lambda: in_use(client), "the standby in use")
    pair.standby.sql("SELECT pg_wal_replay_pause()")
    try:
        token = make_staff(app, "supervisor", "CDOT - Department of Transportation")
        response = client.get("/open311/staff/me", headers=bearer(token))
        assert response.status_code == 200, response.json
        assert replica_status(client)["in_use"]  # the standby was in use all along
    finally:
        pair.standby.sql("SELECT pg_wal_replay_resume()")


def test_console_pages_are_answered_by_the_standby(pair: Pair, app: Flask, client):
    number = file_request(client, pair, "On the console's queue")
    browser = Browser(app.test_client())
    browser.sign_in(add_staff(app, "agent", CDOT, "agent.replicas@city.example"))
    pair.wait_until_replayed()
    wait_for(lambda: in_use(client), "the standby in use")
    browser.client.delete_cookie(WROTE_COOKIE)  # as when it expires
    since = pair.standby.sql("SELECT now()::text")
    assert browser.get("/console/queue").status_code == 200
    page = browser.get(f"/console/requests/{number}")
    assert page.status_code == 200
    assert "On the console&#39;s queue" in page.get_data(as_text=True)
    assert asked_since(pair.standby.sql, "open311-replica", since) >= 1


def test_a_browser_that_wrote_reads_the_primary(pair: Pair, app: Flask):
    browser = app.test_client()  # keeps cookies
    form = pothole_form(pair.api_key, description="From a browser")
    response = browser.post("/open311/v2/requests.json", data=form)
    assert WROTE_COOKIE in response.headers.get("Set-Cookie", "")
    since = pair.primary.sql("SELECT now()::text")
    assert browser.get("/open311/v2/requests.json").status_code == 200
    assert asked_since(pair.primary.sql, "open311", since) >= 1


def test_a_lagging_standby_is_skipped(pair: Pair):
    app = replicated_app(pair, DATABASE_REPLICA_MAX_LAG_SECONDS=1.0)
    client = app.test_client(use_cookies=False)
    try:
        wait_for(lambda: in_use(client), "the standby in use")
        pair.standby.sql("SELECT pg_wal_replay_pause()")
        number = file_request(client, pair, "While the standby waits")
        status = wait_for(lambda: (s := replica_status(client))["in_use"] is False and s, "skip")
        assert status["reads_from"] == "primary"
        assert status["lag_seconds"] > 1.0
        assert "lags" in status["problem"]
        since = pair.primary.sql("SELECT now()::text")
        listed = client.get("/open311/v2/requests.json?status=open")
        assert listed.status_code == 200
        assert number in {row["service_request_id"] for row in listed.json}
        assert client.get(f"/open311/v2/requests/{number}.json").status_code == 200
        assert asked_since(pair.primary.sql, "open311", since) >= 1
        metrics = client.get("/metrics").get_data(as_text=True)
        name = status["name"]
        assert f'open311_database_replica_in_use{{replica="{name}"}} 0.0' in metrics
        assert f'open311_database_replica_lag_seconds{{replica="{name}"}}' in metrics
    finally:
        pair.standby.sql("SELECT pg_wal_replay_resume()")
        dispose(app)
    pair.wait_until_replayed()


def test_metrics_show_each_replica(pair: Pair, client: FlaskClient):
    status = wait_for(lambda: in_use(client), "the standby in use")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'open311_database_replica_in_use{{replica="{status["name"]}"}} 1.0' in metrics
    assert f'open311_database_replica_lag_seconds{{replica="{status["name"]}"}}' in metrics


def test_a_stopped_standby_is_skipped_without_an_error(pair: Pair, client: FlaskClient):
    number = file_request(client, pair, "Still there when the standby is gone")
    pair.wait_until_replayed()
    wait_for(lambda: in_use(client), "the standby in use")
    for path in READS:  # pooled connections to the standby, which is about to die
        assert client.get(path).status_code == 200
    pair.standby.stop("immediate")
    try:
        for path in (*READS, f"/open311/v2/requests/{number}.json", f"/requests/{number}"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.data[:300])
        status = replica_status(client)
        assert (status["in_use"], status["reads_from"]) == (False, "primary")
        assert status["problem"]
    finally:
        pair.standby.start()
    wait_for(lambda: in_use(client), "the standby back in use")


def test_sqlite_refuses_replicas(tmp_path):
    with pytest.raises(ReplicasNeedPostgreSQL, match="OPEN311_DATABASE_REPLICA_URLS"):
        create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'open311.sqlite'}",
                "DATABASE_REPLICA_URLS": "postgresql+psycopg://postgres@127.0.0.1:1/open311",
            }
        )


def test_a_replica_url_must_be_postgresql(pair: Pair):
    with pytest.raises(ReplicasNeedPostgreSQL, match="not a PostgreSQL URL"):
        replicated_app(pair, DATABASE_REPLICA_URLS="sqlite:///elsewhere.sqlite")


def test_replica_urls_come_as_a_list_or_one_comma_separated_string():
    one, two = "postgresql://a/open311", "postgresql://b/open311"
    assert replica_urls(f" {one}, {two} ,") == [one, two]
    assert replica_urls([one, "", two]) == [one, two]
    assert replica_urls("") == replica_urls(()) == []
