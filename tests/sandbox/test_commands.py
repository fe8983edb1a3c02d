"""The sandbox's commands: its keys, making its store, and emptying it on a schedule."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from open311 import sandbox
from open311.extensions import db
from open311.models import (
    ApiKey,
    Area,
    Base,
    Notification,
    Service,
    ServiceRequest,
    Subscription,
)
from tests.builders import make_staff, pothole_form, stored_requests
from tests.conftest import make_app

SANDBOX = "/open311/sandbox/v2"


def run(app, *args: str):
    result = app.test_cli_runner().invoke(args=["open311", *args])
    return result


def count(app, model) -> int:
    with sandbox.app_of(app).app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_sandbox_key_from_the_command_files_in_the_sandbox_only(app, client):
    result = run(app, "sandbox-key", "create", "Acme Apps")
    assert result.exit_code == 0, result.output
    key = result.output.strip().rsplit(" ", 1)[-1]
    assert key.startswith(sandbox.KEY_MARK)
    assert client.post(f"{SANDBOX}/requests.json", data=pothole_form(key)).status_code == 200
    assert client.post("/open311/v2/requests.json", data=pothole_form(key)).status_code == 403
    listed = run(app, "sandbox-key", "list").output
    assert "Acme Apps" in listed
    assert "Acme Apps" not in run(app, "list-keys").output  # production's keys are apart


def test_a_revoked_sandbox_key_is_refused(app, client):
    key = run(app, "sandbox-key", "create", "Acme Apps").output.strip().rsplit(" ", 1)[-1]
    key_id = run(app, "sandbox-key", "list").output.split("\t", 1)[0]
    assert run(app, "sandbox-key", "revoke", key_id).exit_code == 0
    response = client.post(f"{SANDBOX}/requests.xml", data=pothole_form(key))
    assert response.status_code == 403
    assert b"<errors>" in response.data


def test_emptying_removes_what_was_filed_and_keeps_keys_and_catalogue(app, client, sandbox_key):
    for description in ("one", "two"):
        filed = client.post(
            f"{SANDBOX}/requests.json", data=pothole_form(sandbox_key, description=description)
        )
        assert filed.status_code == 200
    follow(client, sandbox_key, filed.json[0]["service_request_id"])
    services = count(app, Service)
    assert count(app, ServiceRequest) == 2
    assert count(app, Subscription) > 0  # the filers follow their requests, and one more
    assert count(app, Notification) > 0
    result = run(app, "empty-sandbox")
    assert result.exit_code == 0, result.output
    assert "2 requests" in result.output
    assert count(app, ServiceRequest) == count(app, Subscription) == count(app, Notification) == 0
    assert count(app, ApiKey) == 1
    assert count(app, Service) == services
    assert client.get(f"{SANDBOX}/requests.json").json == []
    again = client.post(f"{SANDBOX}/requests.json", data=pothole_form(sandbox_key))
    assert again.status_code == 200  # the key still works after emptying


def follow(client, key: str, number: str) -> None:
    response = client.post(
        f"{SANDBOX}/requests/{number}/subscriptions.json",
        data={"api_key": key, "email": "partner.tester@example.org"},
    )
    assert response.status_code == 201, response.data


def test_the_sandbox_messages_are_never_sent(app, client, sandbox_key):
    """Its confirmation waits in the sandbox's own outbox, which no worker reads."""
    number = client.post(f"{SANDBOX}/requests.json", data=pothole_form(sandbox_key)).json[0]
    follow(client, sandbox_key, number["service_request_id"])
    assert count(app, Notification) > 0
    result = run(app, "send-outbox", "--once")
    assert result.exit_code == 0, result.output
    assert "0 delivered, 0 to retry, 0 parked" in result.output


def test_emptying_the_sandbox_leaves_production_alone(app, client, api_key):
    filed = client.post("/open311/v2/requests.json", data=pothole_form(api_key))
    assert filed.status_code == 200
    assert run(app, "empty-sandbox").exit_code == 0
    assert stored_requests(app) == 1


def test_no_kept_table_refers_to_an_emptied_one():
    """Emptying deletes children before parents; a kept row pointing at one would block it."""
    emptied = {table.name for table in sandbox.emptied_tables()}
    assert "service_request" in emptied
    pointing = [
        (table.name, key.column.table.name)
        for table in Base.metadata.sorted_tables
        if table.name in sandbox.KEPT_TABLES
        for key in table.foreign_keys
        if key.column.table.name in emptied
    ]
    assert pointing == []


def test_init_sandbox_makes_a_store_with_production_catalogue(database_url, tmp_path):
    app = make_app(database_url, SANDBOX_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    client = app.test_client()
    for fmt in ("json", "xml"):
        before = client.get(f"{SANDBOX}/services.{fmt}")
        assert before.status_code == 503  # told, not a 500 (CheckedClient checks <errors>)
        assert b"not set up yet" in before.data
        assert before.headers["Retry-After"]
    for loaded in ("load-catalog", "load-chicago-areas"):  # production's catalogue and map
        assert run(app, loaded).exit_code == 0
    result = run(app, "init-sandbox")
    assert result.exit_code == 0, result.output
    assert "sandbox is up to date (areas: 77 community_area" in result.output
    services = client.get(f"{SANDBOX}/services.json")
    assert services.status_code == 200
    assert {s["service_code"] for s in services.json} >= {"PHF", "SCB"}
    assert run(app, "init-sandbox").exit_code == 0  # again: nothing changes
    assert areas_of(sandbox.app_of(app)) == areas_of(app)
    wards = []
    for root, key in (
        (SANDBOX, run(app, "sandbox-key", "create", "Partner").output),
        ("/open311/v2", run(app, "create-key", "Partner").output),
    ):
        filed = client.post(f"{root}/requests.json", data=pothole_form(key.split()[-1]))
        number = filed.json[0]["service_request_id"]
        [stored] = client.get(f"{root}/requests/{number}.json?extensions=true").json
        wards.append(stored["extended_attributes"]["ward"])
    assert wards[0] is not None
    assert wards[0] == wards[1]  # City Hall's ward, in the sandbox as in production
    with sandbox.app_of(app).app_context():
        db.engine.dispose()


def areas_of(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(sa.select(Area.kind, Area.code, Area.name)).all()
        db.session.remove()
    return sorted(tuple(row) for row in rows)


@pytest.mark.parametrize("command", [["empty-sandbox"], ["sandbox-key", "list"]])
def test_sandbox_commands_fail_clearly_when_the_sandbox_is_off(database_url, command):
    app = make_app(database_url, SANDBOX_DATABASE_URI="")
    result = run(app, *command)
    assert result.exit_code == 1
    assert "The sandbox is off" in result.output


def test_a_sandbox_on_production_database_is_refused_at_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'open311.sqlite'}"
    with pytest.raises(sandbox.SandboxMisconfigured):
        make_app(url, SANDBOX_DATABASE_URI=url)


def test_emptying_refuses_a_store_that_looks_like_production(app, client, sandbox_key):
    """Production's database under another spelling of its URL: it has staff; keep it all."""
    filed = client.post(f"{SANDBOX}/requests.json", data=pothole_form(sandbox_key))
    assert filed.status_code == 200
    make_staff(sandbox.app_of(app), "agent", "CDOT - Department of Transportation")
    result = run(app, "empty-sandbox")
    assert result.exit_code == 1
    assert "looks like production's" in result.output
    assert count(app, ServiceRequest) == 1
