"""Each role against each action, on its own department's request and on another's.

Every forbidden cell is a 403 that changes nothing; every allowed cell works.
The expected matrix is written out here, independently of the code's table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from open311.extensions import db
from open311.models import RequestEvent, ServiceRequest, Stage
from tests.builders import bearer, make_request, make_staff

CDOT = "CDOT - Department of Transportation"  # owns the requests below
STREETS = "Streets and Sanitation"

# action: (the stage the request is put at first, the fields the action needs)
SETUPS = {
    "acknowledge": ("new", {}),
    "assign": ("new", {"assignee": "Crew 1"}),
    "schedule": ("acknowledged", {"scheduled_for": "2030-01-02"}),
    "start": ("acknowledged", {}),
    "ask_reporter": ("acknowledged", {"public_note": "Which lane?"}),
    "answer": ("awaiting_reporter", {"answer": "The left one."}),
    "transfer": ("new", {"department": STREETS}),
    "close": ("new", {"reason": "completed"}),
    "mark_duplicate": ("new", {"parent": "SR26-PARENT"}),
    "reopen": ("closed", {}),
    "note": ("new", {"internal_note": "Called the reporter."}),
}
# Who may do each action: O = on their own department's requests, A = on any, - = never.
#                call_taker agent supervisor administrator
MATRIX = """
acknowledge        -        O       O          -
assign             -        -       O          -
schedule           -        O       O          -
start              -        O       O          -
ask_reporter       -        O       O          -
answer             A        O       O          -
transfer           -        -       O          -
close              -        O       O          -
mark_duplicate     -        O       O          -
reopen             -        -       O          -
note               A        O       O          -
"""
ROLES = ("call_taker", "agent", "supervisor", "administrator")
EXPECTED = {
    (action, role): mark
    for action, *marks in (line.split() for line in MATRIX.strip().splitlines())
    for role, mark in zip(ROLES, marks, strict=True)
}
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def allowed(action: str, role: str, own: bool) -> bool:
    mark = EXPECTED[(action, role)]
    return mark == "A" or (mark == "O" and own)


def cdot_pothole_at(app, number, stage):
    """A pothole request of CDOT's at `stage`, open unless the stage is closed."""
    status = "closed" if stage == "closed" else "open"
    make_request(
        app,
        number,
        NOW,
        service_code="PHF",
        agency_responsible=CDOT,
        stage=Stage(stage),
        status=status,
    )


def snapshot(app, number):
    with app.app_context():
        service_request = db.session.scalar(
            sa.select(ServiceRequest).where(ServiceRequest.number == number)
        )
        events = db.session.scalar(
            sa.select(sa.func.count()).where(RequestEvent.service_request_id == service_request.id)
        )
        return (
            service_request.stage,
            service_request.status,
            service_request.status_notes,
            service_request.agency_responsible,
            service_request.assignee,
            service_request.updated_at,
            events,
        )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("own", [True, False], ids=["own-department", "other-department"])
def test_role_against_every_action(app, client, role, own):
    token = make_staff(app, role, CDOT if own else STREETS)
    make_request(app, "SR26-PARENT", NOW, service_code="PHF", agency_responsible=CDOT)
    wrong = []
    for index, (action, (stage, fields)) in enumerate(SETUPS.items()):
        number = f"SR26-{index:08d}"
        cdot_pothole_at(app, number, stage)
        before = snapshot(app, number)
        response = client.post(
            f"/open311/staff/requests/{number}/{action}", json=fields, headers=bearer(token)
        )
        expected = 200 if allowed(action, role, own) else 403
        if response.status_code != expected:
            wrong.append((action, response.status_code, response.json))
        if expected == 403 and snapshot(app, number) != before:
            wrong.append((action, "changed", snapshot(app, number)))
        if expected == 403:
            assert response.json[0]["code"] == 403
    assert wrong == []


@pytest.mark.parametrize(
    ("role", "may_file", "may_view_other", "may_manage"),
    [
        ("call_taker", True, True, False),
        ("agent", False, False, False),
        ("supervisor", False, False, False),
        ("administrator", False, True, True),
    ],
)
def test_filing_viewing_and_managing_staff(app, client, role, may_file, may_view_other, may_manage):
    token = make_staff(app, role, STREETS)
    make_request(app, "SR26-00000099", NOW, service_code="PHF", agency_responsible=CDOT)
    filed = client.post(
        "/open311/staff/requests",
        json={
            "service_code": "GRAF",
            "lat": "41.883637",
            "long": "-87.630231",
            "description": "Tagged wall",
        },
        headers=bearer(token),
    )
    assert filed.status_code == (201 if may_file else 403)
    if may_file:
        assert filed.json["channel"] == "phone"
        assert filed.json["stage"] == "new"
    viewed = client.get("/open311/staff/requests/SR26-00000099", headers=bearer(token))
    assert viewed.status_code == (200 if may_view_other else 403)
    queue = client.get(f"/open311/staff/queue?department={CDOT}", headers=bearer(token))
    assert queue.status_code == (200 if may_view_other else 403)
    created = client.post(
        "/open311/staff/staff",
        json={
            "name": "New Agent",
            "email": "new@city.example",
            "role": "agent",
            "department": CDOT,
        },
        headers=bearer(token),
    )
    assert created.status_code == (201 if may_manage else 403)


def test_no_token_or_a_revoked_one_is_401(app, client):
    assert client.get("/open311/staff/me").status_code == 401
    assert client.get("/open311/staff/me", headers=bearer("staff_not-a-token")).status_code == 401
    token = make_staff(app, "agent", CDOT)
    me = client.get("/open311/staff/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json["role"] == "agent"
    result = app.test_cli_runner().invoke(args=["open311", "deactivate-staff", str(me.json["id"])])
    assert result.exit_code == 0, result.output
    refused = client.get("/open311/staff/me", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.content_type.startswith("application/json")


def test_queue_is_the_departments_open_requests_most_overdue_first(app, client):
    token = make_staff(app, "agent", CDOT)
    day = timedelta(days=1)
    make_request(
        app, "SR26-00000001", NOW, service_code="PHF", agency_responsible=CDOT, due_at=NOW + 3 * day
    )
    make_request(
        app, "SR26-00000002", NOW, service_code="PHF", agency_responsible=CDOT, due_at=NOW - 2 * day
    )
    make_request(
        app, "SR26-00000003", NOW, service_code="PHF", agency_responsible=CDOT, due_at=None
    )
    make_request(
        app, "SR26-00000004", NOW, service_code="PHF", agency_responsible=CDOT, due_at=NOW - 5 * day
    )
    make_request(
        app,
        "SR26-00000005",
        NOW,
        service_code="GRAF",
        agency_responsible=STREETS,
        due_at=NOW - 9 * day,
    )
    make_request(
        app,
        "SR26-00000006",
        NOW,
        service_code="PHF",
        agency_responsible=CDOT,
        due_at=NOW - 9 * day,
        stage=Stage.CLOSED,
        status="closed",
    )
    listed = client.get("/open311/staff/queue", headers=bearer(token)).json
    assert [item["service_request_id"] for item in listed] == [
        "SR26-00000004",
        "SR26-00000002",
        "SR26-00000001",
        "SR26-00000003",
    ]
    assert [item["overdue"] for item in listed] == [True, True, False, False]
    overdue = client.get("/open311/staff/queue?overdue=true", headers=bearer(token)).json
    assert [item["service_request_id"] for item in overdue] == ["SR26-00000004", "SR26-00000002"]
    bad = client.get("/open311/staff/queue?stage=lost", headers=bearer(token))
    assert bad.status_code == 400
    assert "stage" in bad.json[0]["description"]
