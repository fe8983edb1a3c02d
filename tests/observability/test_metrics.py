"""/metrics in this process (multiprocess mode is tested through gunicorn, in
tests/live/test_observability.py): requests by endpoint and status, requests filed,
the outbox read at scrape time, failed deliveries, database errors; loopback only."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest, multiprocess

from open311.config import PROJECT_DIR
from open311.extensions import db
from open311.models import DeliveryState, Notification
from open311.models.base import utcnow
from tests import servers
from tests.builders import pothole_form
from tests.conftest import make_app
from tests.notifications.conftest import (
    LOOPBACK,
    create_webhook,
    drain,
)
from tests.observability.conftest import closed_port, sample

ANONYMOUS = {"email": None, "phone": None, "account_id": None}


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return response.get_data(as_text=True)


def test_a_filed_request_is_counted_once_and_its_replay_is_not(client, api_key):
    before = scrape(client)
    form = pothole_form(api_key, **ANONYMOUS)
    headers = {"Idempotency-Key": "once"}
    first = client.post("/open311/v2/requests.json", data=form, headers=headers)
    replay = client.post("/open311/v2/requests.json", data=form, headers=headers)
    assert first.json == replay.json
    after = scrape(client)
    filed = "open311_service_requests_filed_total"
    assert sample(after, filed, via="georeport") - sample(before, filed, via="georeport") == 1
    answered = "open311_http_requests_total"
    labels = {"endpoint": "georeport.create_request", "method": "POST", "status": "200"}
    assert sample(after, answered, **labels) - sample(before, answered, **labels) == 2
    timed = "open311_http_request_duration_seconds_count"
    labels = {"endpoint": "georeport.create_request", "method": "POST"}
    assert sample(after, timed, **labels) - sample(before, timed, **labels) == 2


def test_requests_are_counted_by_endpoint_never_by_raw_path(client):
    before = scrape(client)
    for number in ("SR26-1", "SR26-2", "SR26-3"):
        client.get(f"/open311/v2/requests/{number}.json")
    # Werkzeug answers an unknown path with a streamed page (an HTTPException is a
    # WSGI app of its own): counted when the server closes it, as a WSGI server does.
    client.open("/no/such/page", method="BREW", buffered=True)
    after = scrape(client)
    name = "open311_http_requests_total"
    one = {"endpoint": "georeport.get_request", "method": "GET", "status": "404"}
    assert sample(after, name, **one) - sample(before, name, **one) == 3
    unmatched = {"endpoint": "none", "method": "other", "status": "404"}
    assert sample(after, name, **unmatched) - sample(before, name, **unmatched) == 1
    for raw in ("SR26-1", "/no/such", "BREW"):
        assert raw not in after


def test_the_outbox_is_read_when_scraped(app, client, api_key, receiver):
    create_webhook(client, api_key, receiver, "/hook", service_code="PHF")
    assert sample(scrape(client), "open311_notifications_pending") == 0
    for description in ("One pothole", "Another pothole"):
        form = pothole_form(api_key, description=description, **ANONYMOUS)
        assert client.post("/open311/v2/requests.json", data=form).status_code == 200
    with app.app_context(), db.engine.begin() as connection:
        an_hour_ago = utcnow() - timedelta(hours=1)
        first = sa.select(sa.func.min(Notification.id)).scalar_subquery()
        connection.execute(
            sa.update(Notification)
            .where(Notification.id == first)
            .values(created_at=an_hour_ago, next_attempt_at=an_hour_ago)
        )
    text = scrape(client)
    assert sample(text, "open311_notifications_pending") == 2
    assert 3600 <= sample(text, "open311_notifications_oldest_pending_age_seconds") < 3610
    assert 3600 <= sample(text, "open311_notifications_oldest_waiting_seconds") < 3610
    assert sample(text, "open311_database_up") == 1


def test_failed_deliveries_are_counted_by_channel_and_outcome(app, client, api_key, receiver):
    app.config.update(OUTBOX_MAX_ATTEMPTS=2, OUTBOX_BACKOFF_SECONDS=0.05)
    receiver.behaviour.update({"/error": "error"})
    create_webhook(client, api_key, receiver, "/error", service_code="PHF")
    before = scrape(client)
    client.post("/open311/v2/requests.json", data=pothole_form(api_key, **ANONYMOUS))
    drain(app)
    after = scrape(client)
    name = "open311_notification_deliveries_failed_total"
    for outcome in ("retrying", "parked"):
        labels = {"channel": "webhook", "outcome": outcome}
        assert sample(after, name, **labels) - sample(before, name, **labels) == 1


def test_database_errors_are_counted_and_metrics_still_answer():
    app = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nowhere")
    client = app.test_client()
    before = scrape(client)
    assert client.get("/open311/v2/services.json").status_code in (500, 503)
    after = scrape(client)
    name = "open311_database_errors_total"
    assert (
        sample(after, name, error="OperationalError")
        - sample(before, name, error="OperationalError")
        >= 2
    )  # the service list, and the scrape's own probe
    assert sample(after, "open311_database_up") == 0
    assert "open311_notifications_pending" not in after


@pytest.mark.parametrize(
    "environ",
    [
        {"REMOTE_ADDR": "203.0.113.9"},
        {"REMOTE_ADDR": "10.0.0.5"},
        # Through a proxy on this machine: the caller's address is not the proxy's.
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=203.0.113.9"},
    ],
)
def test_metrics_are_refused_outside_the_allowed_networks(client, environ):
    response = client.get("/metrics", environ_base=environ)
    assert response.status_code == 403
    assert b"open311_" not in response.data


def test_allowed_networks_are_configurable(database_url):
    app = make_app(database_url, METRICS_ALLOWED_NETWORKS="10.0.0.0/8, 192.0.2.7")
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert client.get("/metrics").status_code == 403  # loopback is no longer listed
    with app.app_context():
        db.engine.dispose()


def test_a_bad_network_stops_the_start(database_url):
    with pytest.raises(ValueError, match="METRICS_ALLOWED_NETWORKS"):
        make_app(database_url, METRICS_ALLOWED_NETWORKS="10.0.0.0/8, loopback")


def test_pending_counts_only_pending(app, client, api_key, receiver):
    create_webhook(client, api_key, receiver, "/hook", service_code="PHF")
    client.post("/open311/v2/requests.json", data=pothole_form(api_key, **ANONYMOUS))
    drain(app)
    with app.app_context():
        states = db.session.scalars(sa.select(Notification.state)).all()
    assert states == [DeliveryState.DELIVERED]
    assert sample(scrape(client), "open311_notifications_pending") == 0


@pytest.mark.slow
def test_an_outbox_worker_process_adds_its_failures_to_the_shared_directory(
    app,
    client,
    api_key,
    receiver,
    tmp_path,
):
    """`flask open311 send-outbox`, run with the web workers' PROMETHEUS_MULTIPROC_DIR,
    counts its failed deliveries where every scrape adds them up."""
    receiver.behaviour.update({"/error": "error"})
    create_webhook(client, api_key, receiver, "/error", service_code="PHF")
    client.post("/open311/v2/requests.json", data=pothole_form(api_key, **ANONYMOUS))
    directory = tmp_path / "prometheus"
    env = {
        **os.environ,
        "FLASK_APP": "open311",
        "PYTHONPATH": str(PROJECT_DIR),
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "OPEN311_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "OPEN311_WEBHOOK_ALLOWED_NETWORKS": ",".join(LOOPBACK),
        "OPEN311_OUTBOX_MAX_ATTEMPTS": "1",
        "OPEN311_SECRET_KEY": secrets.token_urlsafe(32),  # a command refuses the development key
    }
    worker = servers.flask_command(env, "send-outbox", "--once", timeout=120)
    assert worker.returncode == 0, worker.stderr
    assert "0 delivered, 0 to retry, 1 parked" in worker.stdout
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    text = generate_latest(registry).decode()
    name = "open311_notification_deliveries_failed_total"
    assert sample(text, name, channel="webhook", outcome="parked") == 1
