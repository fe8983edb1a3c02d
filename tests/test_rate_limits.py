"""Rate limits (open311/rate_limits.py): 429 with Retry-After in the caller's format, per
address for reads, searches and writes, per key for writes, and on failed api_key or
staff-token attempts before the next one is hashed; counted in Redis when configured."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from lxml import etree

from open311 import config
from open311.accounts import keys, staff
from open311.georeport.openapi import load_openapi
from tests.builders import bearer, make_staff, pothole_form, stored_requests
from tests.conftest import make_app, new_api_key

REDIS_URL = os.environ.get("OPEN311_TEST_REDIS_URL", "")
FAILED_AUTH = config.DEFAULTS["RATE_LIMIT_FAILED_AUTH_PER_ADDRESS"]  # "20 per 10 minutes"
ALLOWED_FAILURES = 20
CDOT = "CDOT - Department of Transportation"


def from_address(address: str) -> dict[str, object]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def count_calls(monkeypatch, module, name="hash_key"):
    """Wrap module.<name> so that calls are counted; returns the list of its arguments."""
    calls: list[str] = []
    real = getattr(module, name)

    def spy(plaintext: str) -> str:
        calls.append(plaintext)
        return real(plaintext)

    monkeypatch.setattr(module, name, spy)
    return calls


def report(api_key: str, n: int) -> dict[str, object]:
    """A distinct report (the same one again would be a replay of the first)."""
    return pothole_form(api_key, description=f"Pothole number {n}")


def assert_too_many(response, fmt: str) -> int:
    """A 429 in the caller's format with a Retry-After in whole seconds; returns it."""
    assert response.status_code == 429, response.data
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    if fmt == "xml":
        assert response.content_type.startswith("text/xml")
        assert etree.fromstring(response.data).findtext("error/code") == "429"
    else:
        assert response.content_type.startswith("application/json")
        [error] = response.json
        assert error["code"] == 429
        assert "Too many" in error["description"]
    return retry_after


def test_wrong_api_keys_past_the_limit_are_refused_before_hashing(app, client, monkeypatch):
    app.config["RATE_LIMIT_FAILED_AUTH_PER_ADDRESS"] = FAILED_AUTH
    hashed = count_calls(monkeypatch, keys)
    answers = []
    for attempt in range(300):
        fmt = ("json", "xml")[attempt % 2]
        answers.append(
            (fmt, client.post(f"/open311/v2/requests.{fmt}", data=pothole_form(f"wrong-{attempt}")))
        )
    assert [r.status_code for _, r in answers[:ALLOWED_FAILURES]] == [403] * ALLOWED_FAILURES
    assert len(hashed) == ALLOWED_FAILURES  # the 280 after the limit were never hashed
    retry_afters = {assert_too_many(r, fmt) for fmt, r in answers[ALLOWED_FAILURES:]}
    assert max(retry_afters) <= 600  # within the 10-minute window
    assert stored_requests(app) == 0
    # The same address with the right key is refused too (it is the address that guessed),
    # while another address is not held back by this one's failures.
    good_key = new_api_key(app, "Partner")
    hashed.clear()
    assert client.post("/open311/v2/requests.json", data=pothole_form(good_key)).status_code == 429
    assert hashed == []
    other = client.post(
        "/open311/v2/requests.json", data=pothole_form(good_key), **from_address("192.0.2.9")
    )
    assert other.status_code == 200
    assert hashed == [good_key]


def test_wrong_keys_on_other_endpoints_count_too(app, client):
    app.config["RATE_LIMIT_FAILED_AUTH_PER_ADDRESS"] = "3 per minute"
    for path in ("/open311/v2/webhooks.json", "/open311/v2/servicerequestupdates.xml"):
        assert client.get(path, query_string={"api_key": "wrong"}).status_code == 403
    assert (
        client.post("/open311/v2/subscriptions.json", data={"api_key": "wrong"}).status_code == 403
    )
    assert_too_many(
        client.get("/open311/v2/servicerequestupdates.xml", query_string={"api_key": "x"}), "xml"
    )


def test_wrong_staff_tokens_past_the_limit_are_refused_before_hashing(app, client, monkeypatch):
    app.config["RATE_LIMIT_FAILED_AUTH_PER_ADDRESS"] = FAILED_AUTH
    token = make_staff(app, "agent", CDOT, email="agent@cdot.example")
    hashed = count_calls(monkeypatch, staff)
    answers = [
        client.get("/open311/staff/me", headers=bearer(f"staff_wrong{n}")) for n in range(300)
    ]
    assert [r.status_code for r in answers[:ALLOWED_FAILURES]] == [401] * ALLOWED_FAILURES
    assert len(hashed) == ALLOWED_FAILURES
    for response in answers[ALLOWED_FAILURES:]:
        assert_too_many(response, "json")  # the staff API answers in JSON
    assert (
        client.get(
            "/open311/staff/me", headers=bearer(token), **from_address("192.0.2.9")
        ).status_code
        == 200
    )


def test_a_post_flood_is_limited_per_key_from_any_address(app, client):
    app.config["RATE_LIMIT_WRITES_PER_KEY"] = "5 per minute"
    key, other_key = new_api_key(app, "Busy partner"), new_api_key(app, "Quiet partner")
    statuses = [
        client.post(
            "/open311/v2/requests.json", data=report(key, n), **from_address(f"192.0.2.{n}")
        ).status_code
        for n in range(8)
    ]
    assert statuses == [200] * 5 + [429] * 3
    assert_too_many(
        client.post(
            "/open311/v2/requests.xml", data=pothole_form(key), **from_address("192.0.2.99")
        ),
        "xml",
    )
    assert stored_requests(app) == 5  # nothing refused was stored
    assert client.post("/open311/v2/requests.json", data=pothole_form(other_key)).status_code == 200
    # Reads with the key are not writes: GET servicerequestupdates still answers.
    assert (
        client.get(
            "/open311/v2/servicerequestupdates.json", query_string={"api_key": key}
        ).status_code
        == 200
    )


def test_a_post_flood_is_limited_per_address_whatever_the_key(app, client, api_key):
    app.config["RATE_LIMIT_WRITES_PER_ADDRESS"] = "5 per minute"
    keys_ = [api_key, new_api_key(app, "Second")]
    statuses = [
        client.post("/open311/v2/requests.json", data=report(keys_[n % 2], n)).status_code
        for n in range(7)
    ]
    assert statuses == [200] * 5 + [429] * 2
    # Every kind of write counts: subscriptions, webhooks, feedback and answers alike.
    assert_too_many(
        client.post("/open311/v2/subscriptions.json", data={"api_key": api_key}), "json"
    )
    assert_too_many(client.post("/open311/v2/webhooks.xml", data={"api_key": api_key}), "xml")
    assert_too_many(
        client.post("/open311/v2/requests/SR26-00000001/feedback.json", data={"api_key": api_key}),
        "json",
    )
    assert stored_requests(app) == 5
    assert (
        client.post(
            "/open311/v2/requests.json", data=pothole_form(api_key), **from_address("192.0.2.7")
        ).status_code
        == 200
    )
    assert client.get("/open311/v2/services.json").status_code == 200  # reads are counted apart


def test_staff_writes_are_limited_per_staff_member(app, client):
    app.config["RATE_LIMIT_WRITES_PER_KEY"] = "2 per minute"
    token = make_staff(app, "administrator", CDOT, email="boss@cdot.example")
    new = {"name": "New Agent", "role": "agent", "department": CDOT}
    answers = [
        client.post(
            "/open311/staff/staff",
            json={**new, "email": f"a{n}@cdot.example"},
            headers=bearer(token),
            **from_address(f"192.0.2.{n}"),
        )
        for n in range(3)
    ]
    assert [r.status_code for r in answers[:2]] == [201, 201]
    assert_too_many(answers[2], "json")
    assert client.get("/open311/staff/me", headers=bearer(token)).status_code == 200


def test_a_search_flood_is_limited_per_address(app, client):
    app.config["RATE_LIMIT_SEARCHES_PER_ADDRESS"] = "4 per minute"
    statuses = [client.get("/open311/v2/requests.json").status_code for _ in range(4)]
    assert statuses == [200] * 4
    assert_too_many(client.get("/open311/v2/requests.xml"), "xml")
    assert_too_many(client.get("/open311/v2/articles.json", query_string={"q": "pothole"}), "json")
    feed = client.get("/open311/feeds/requests.csv")
    assert_too_many(feed, "json")  # the feeds answer errors in JSON
    assert client.get("/open311/v2/requests.json", **from_address("192.0.2.5")).status_code == 200
    assert client.get("/open311/v2/services.xml").status_code == 200  # a plain read: its own limit


def test_a_read_flood_is_limited_per_address(app, client):
    app.config["RATE_LIMIT_READS_PER_ADDRESS"] = "3 per minute"
    assert [client.get("/open311/v2/services.json").status_code for _ in range(3)] == [200] * 3
    assert_too_many(client.get("/open311/discovery.xml"), "xml")
    assert client.get("/open311/v2/requests.json").status_code == 200  # searches are counted apart


def test_forwarded_for_counts_only_behind_as_many_proxies_as_configured(database_url):
    def flood(app, forwarded: str) -> int:
        client = app.test_client()
        headers = {"X-Forwarded-For": forwarded}
        return client.get("/open311/v2/services.json", headers=headers).status_code

    direct = make_app(database_url, RATE_LIMIT_READS_PER_ADDRESS="2 per minute")
    # Not behind a proxy: a client naming other addresses is still one client.
    assert [flood(direct, f"198.51.100.{n}") for n in range(3)] == [200, 200, 429]
    proxied = make_app(database_url, RATE_LIMIT_READS_PER_ADDRESS="2 per minute", TRUSTED_PROXIES=1)
    assert [flood(proxied, f"198.51.100.{n}") for n in range(3)] == [200, 200, 200]
    assert [flood(proxied, "198.51.100.9") for _ in range(3)] == [200, 200, 429]


def test_an_unreachable_redis_falls_back_to_counting_in_memory(database_url):
    app = make_app(
        database_url, REDIS_URL="redis://127.0.0.1:1/0", RATE_LIMIT_READS_PER_ADDRESS="2 per minute"
    )
    client = app.test_client()
    assert [client.get("/open311/v2/services.json").status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the machine's Redis; its keys are deleted after."""
    if not REDIS_URL:
        pytest.skip("OPEN311_TEST_REDIS_URL is not set (.ci/run sets it)")
    import redis

    prefix = f"open311-test-{uuid.uuid4().hex}"
    connection = redis.Redis.from_url(REDIS_URL)
    yield connection, prefix
    for key in connection.scan_iter(match=f"*{prefix}*"):
        connection.delete(key)


def test_redis_holds_the_counts_shared_by_every_worker(database_url, redis_prefix):
    connection, prefix = redis_prefix
    settings = {
        "REDIS_URL": REDIS_URL,
        "RATE_LIMIT_KEY_PREFIX": prefix,
        "RATE_LIMIT_FAILED_AUTH_PER_ADDRESS": "3 per minute",
    }
    workers = [make_app(database_url, **settings).test_client() for _ in range(2)]
    for n in range(3):  # three failures, spread over two workers
        assert (
            workers[n % 2].post("/open311/v2/requests.json", data=pothole_form("wrong")).status_code
            == 403
        )
    assert_too_many(
        workers[1].post("/open311/v2/requests.json", data=pothole_form("wrong")), "json"
    )
    assert_too_many(workers[0].post("/open311/v2/requests.xml", data=pothole_form("wrong")), "xml")
    stored = [key.decode() for key in connection.scan_iter(match=f"*{prefix}*")]
    assert any("failed-credentials" in key for key in stored), stored
    assert any("reads" in key or "writes" in key for key in stored), stored


def test_every_operation_documents_its_429_with_retry_after():
    document = load_openapi(Path(config.DEFAULTS["SCHEMAS_DIR"]))
    responses = document["components"]["responses"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "delete"}:
                name = operation["responses"]["429"]["$ref"].rsplit("/", 1)[1]
                assert name == (
                    "TooManyRequestsXml"
                    # A photo's URL has no suffix: its errors are GeoReport's default, XML.
                    if path.endswith(".xml")
                    or "/confirm/" in path
                    or "/unsubscribe/" in path
                    or path == "/open311/v2/media/{file_name}"
                    else "TooManyRequestsJson"
                ), (method, path)
                assert responses[name]["headers"]["Retry-After"]["schema"] == {
                    "type": "integer",
                    "minimum": 1,
                }


def test_unknown_paths_and_html_pages_are_counted_as_reads(app, client):
    app.config["RATE_LIMIT_READS_PER_ADDRESS"] = "2 per minute"
    assert [client.get("/open311/v2/nothing.json").status_code for _ in range(2)] == [404, 404]
    assert_too_many(client.get("/open311/v2/nothing.json"), "json")
    assert_too_many(client.get("/open311/confirm/forged"), "xml")
