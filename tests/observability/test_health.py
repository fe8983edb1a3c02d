"""/healthz says the process is up without asking the database; /readyz turns unready
(503, naming what is not ready) when the database is unreachable or hung, behind on
migrations, or the outbox waits for a worker, and ready again when that is fixed."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from open311.config import PROJECT_DIR
from open311.extensions import db
from open311.models import DeliveryState, Notification
from open311.models.base import utcnow
from tests.builders import pothole_form
from tests.conftest import make_app
from tests.notifications.conftest import (
    create_webhook,
    drain,
    notifications,
)
from tests.observability.conftest import closed_port

ANONYMOUS = {"email": None, "phone": None, "account_id": None}  # only the webhook is told


def test_healthz_answers_without_a_database():
    app = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nowhere")
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {
        "ready": True,
        "checks": {"database": "ok", "schema": "ok", "outbox": "ok"},
        "not_ready": [],
    }


def test_readyz_is_unready_when_the_database_refuses_connections():
    app = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nowhere")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["ready"] is False
    assert response.json["not_ready"] == ["database", "outbox", "schema"]
    assert response.json["checks"]["database"].startswith("the database could not be read")


def test_readyz_answers_within_a_second_when_the_database_hangs(silent_server):
    app = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/hung")
    client = app.test_client()
    hung = "the database did not answer within 1 s"
    # libpq's connect_timeout (DATABASE_CONNECT_TIMEOUT_SECONDS, 2 s) may end the first
    # probe while the later ones wait: then its failure is what they report.
    given_up = "the database could not be read (OperationalError)"
    for attempt in range(3):  # the first probe is still waiting: no second one starts
        started = time.monotonic()
        response = client.get("/readyz")
        assert time.monotonic() - started < 1.5
        assert response.status_code == 503
        database = response.json["checks"]["database"]
        assert database == hung if attempt == 0 else database in (hung, given_up)
    assert [t.name for t in threading.enumerate()].count("open311-probe") == 1


def test_readyz_turns_unready_while_the_schema_is_behind_and_ready_again(app, client):
    heads = ScriptDirectory.from_config(_alembic_config())
    [head] = heads.get_heads()
    previous = heads.get_revision(head).down_revision
    _set_revision(app, previous)
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["not_ready"] == ["schema"]
        assert response.json["checks"]["schema"] == (
            f"at migration {previous}; the newest is {head}"
        )
    finally:
        _set_revision(app, head)
    assert client.get("/readyz").status_code == 200


def test_readyz_turns_unready_while_a_due_notification_waits_and_ready_once_sent(
    app,
    client,
    api_key,
    receiver,
):
    create_webhook(client, api_key, receiver, "/hook", service_code="PHF")
    filed = client.post("/open311/v2/requests.json", data=pothole_form(api_key, **ANONYMOUS))
    assert filed.status_code == 200
    assert client.get("/readyz").status_code == 200  # due just now
    _make_pending_wait(app, timedelta(minutes=10))  # no worker for 10 minutes
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["not_ready"] == ["outbox"]
    # 600 s, and the second (or two, on a slow machine) since it was aged
    assert re.fullmatch(
        r"a due notification has waited 60[0-2] s for an outbox worker \(more than 300 s\)",
        response.json["checks"]["outbox"],
    )
    # A load balancer's check leaves the shared outbox out: every server would fail it.
    for_traffic = client.get("/readyz?checks=database,schema")
    assert for_traffic.status_code == 200
    assert for_traffic.json["ready"] is True
    assert for_traffic.json["not_ready"] == []
    assert for_traffic.json["checks"]["outbox"].startswith("a due notification has waited")
    assert client.get("/readyz?checks=outbox").status_code == 503
    drain(app)
    assert [n.state for n in notifications(app)] == [DeliveryState.DELIVERED]
    assert client.get("/readyz").status_code == 200


def test_readyz_refuses_checks_it_does_not_have(client):
    for asked in ("database,disk", ",", "Database"):
        response = client.get(f"/readyz?checks={asked}")
        assert response.status_code == 400
        assert "is not one of database, schema, outbox" in response.json["error"]


def test_the_outbox_check_can_be_switched_off(app, client, api_key, receiver):
    create_webhook(client, api_key, receiver, "/hook", service_code="PHF")
    client.post("/open311/v2/requests.json", data=pothole_form(api_key, **ANONYMOUS))
    _make_pending_wait(app, timedelta(days=1))
    assert client.get("/readyz").status_code == 503
    switched_off = make_app(app.config["SQLALCHEMY_DATABASE_URI"], READY_OUTBOX_MAX_WAIT_SECONDS=0)
    assert switched_off.test_client().get("/readyz").status_code == 200
    with switched_off.app_context():
        db.engine.dispose()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_DIR / "migrations"))
    return config


def _set_revision(app, revision: str) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def _make_pending_wait(app, waited: timedelta) -> None:
    then = utcnow() - waited
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(
                sa.update(Notification)
                .where(Notification.state == DeliveryState.PENDING)
                .values(created_at=then, next_attempt_at=then)
            )
        db.engine.dispose()
