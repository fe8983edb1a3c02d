"""Staff redact a description: the public reads the redacted text everywhere; the
original stays, for staff whose role may moderate only."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from open311.extensions import db
from open311.models import DescriptionRedaction, Notification, RequestEvent
from tests.builders import bearer, make_staff, pothole_form

CDOT = "CDOT - Department of Transportation"
ORIGINAL = "Pothole outside my house, call me on 312-555-0199 any time"
SECRET = "312-555-0199"
REDACTED = "Pothole outside my house, call me on [redacted] any time"


@pytest.fixture
def staff(app: Any) -> dict[str, str]:
    return {
        "agent": make_staff(app, "agent", CDOT),
        "supervisor": make_staff(app, "supervisor", CDOT),
        "other_agent": make_staff(app, "agent", "Streets and Sanitation"),
        # Of the request's own department: MODERATE is not theirs even there.
        "call_taker": make_staff(app, "call_taker", CDOT),
        "administrator": make_staff(app, "administrator", CDOT),
    }


@pytest.fixture
def number(client: Any, api_key: str) -> str:
    form = pothole_form(api_key, description=ORIGINAL)
    reply = client.post("/open311/v2/requests.json", data=form)
    assert reply.status_code == 200, reply.json
    return str(reply.json[0]["service_request_id"])


def redact(client: Any, token: str, number: str, **body: Any) -> Any:
    return client.post(f"/open311/staff/requests/{number}/redact", json=body, headers=bearer(token))


def public_bodies(client: Any, number: str, api_key: str) -> dict[str, str]:
    """Every public place the description is shown, as text."""
    paths = {
        "json": f"/open311/v2/requests/{number}.json",
        "xml": f"/open311/v2/requests/{number}.xml",
        "json list": "/open311/v2/requests.json?status=open",
        "xml list": "/open311/v2/requests.xml?status=open",
        "json extensions": f"/open311/v2/requests/{number}.json?extensions=true",
        "updates": f"/open311/v2/servicerequestupdates.json?api_key={api_key}",
        "csv": "/open311/feeds/requests.csv",
        "geojson": "/open311/feeds/requests.geojson",
        "ndjson": "/open311/feeds/requests.ndjson",
        "site": f"/requests/{number}",
    }
    found = {}
    for name, path in paths.items():
        reply = client.get(path)
        assert reply.status_code == 200, (name, reply.data[:300])
        found[name] = reply.get_data(as_text=True)
    return found


def test_the_public_reads_the_redacted_text_and_never_the_original(
    app, client, api_key, number, staff
):
    before = public_bodies(client, number, api_key)
    # Chicago's CSV has no description column; every other place shows it.
    for name in ("json", "xml", "json list", "xml list", "geojson", "ndjson", "site"):
        assert SECRET in before[name], name  # the check below can fail

    reply = redact(client, staff["agent"], number, description=REDACTED, reason="Phone number")
    assert reply.status_code == 200, reply.json
    assert reply.json["description"] == REDACTED
    assert reply.json["redactions"][0]["original"] == ORIGINAL
    assert reply.json["history"][-1]["action"] == "redact_description"
    assert reply.json["history"][-1]["internal_note"] == "Phone number"

    after = public_bodies(client, number, api_key)
    for name, text in after.items():
        assert SECRET not in text, name
    for name in ("json", "xml", "json list", "xml list", "geojson", "ndjson", "site"):
        assert "[redacted] any time" in after[name], name
    # The redaction is staff-only in the public history and told no subscriber.
    assert "redact_description" not in after["json extensions"] + after["updates"]
    with app.app_context():
        told = db.session.scalars(sa.select(Notification.payload)).all()
    assert told
    assert not [p for p in told if p.get("action") == "redact_description"]


def test_only_staff_who_may_moderate_read_the_original(app, client, number, staff):
    assert redact(client, staff["supervisor"], number, reason="Phone number").status_code == 200
    for role in ("agent", "supervisor"):
        seen = client.get(f"/open311/staff/requests/{number}", headers=bearer(staff[role]))
        assert seen.status_code == 200
        [redaction] = seen.json["redactions"]
        assert (redaction["original"], redaction["reason"]) == (ORIGINAL, "Phone number")
        assert seen.json["description"] == "[removed by the City]"
    for role in ("call_taker", "administrator"):
        seen = client.get(f"/open311/staff/requests/{number}", headers=bearer(staff[role]))
        assert seen.status_code == 200
        assert "redactions" not in seen.json
        assert SECRET not in seen.get_data(as_text=True), role
    # Nor does the original leak through the queue or the actions' replies.
    queue = client.get("/open311/staff/queue", headers=bearer(staff["supervisor"]))
    assert SECRET not in queue.get_data(as_text=True)
    noted = client.post(
        f"/open311/staff/requests/{number}/note",
        json={"internal_note": "seen"},
        headers=bearer(staff["call_taker"]),
    )
    assert noted.status_code == 200
    assert SECRET not in noted.get_data(as_text=True)


def stored(app: Any, number: str) -> tuple[int, int, str | None]:
    with app.app_context():
        redactions = db.session.scalar(sa.select(sa.func.count()).select_from(DescriptionRedaction))
        events = db.session.scalar(sa.select(sa.func.count()).select_from(RequestEvent))
        description = db.session.scalar(
            sa.text("SELECT description FROM service_request WHERE number = :n"), {"n": number}
        )
    return redactions or 0, events or 0, description


def test_refusals_store_nothing(app, client, number, staff):
    before = stored(app, number)
    for role in ("other_agent", "call_taker", "administrator"):
        assert redact(client, staff[role], number, reason="x").status_code == 403, role
    assert redact(client, staff["agent"], number, description=REDACTED).status_code == 400
    assert redact(client, staff["agent"], number, reason="   ").status_code == 400
    same = redact(client, staff["agent"], number, description=ORIGINAL, reason="no change")
    assert same.status_code == 400
    assert redact(client, staff["agent"], "SR26-99999999", reason="x").status_code == 404
    assert (
        client.get(
            f"/open311/staff/requests/{number}/redact", headers=bearer(staff["agent"])
        ).status_code
        == 405
    )
    assert stored(app, number) == before
    assert before[2] == ORIGINAL


def test_a_second_redaction_keeps_both_originals(app, client, number, staff):
    assert (
        redact(client, staff["agent"], number, description=REDACTED, reason="phone").status_code
        == 200
    )
    again = redact(client, staff["agent"], number, description="Pothole", reason="shorter")
    assert [r["original"] for r in again.json["redactions"]] == [ORIGINAL, REDACTED]
    assert client.get(f"/open311/v2/requests/{number}.json").json[0]["description"] == "Pothole"
