"""Illegal transitions get 409 naming the current stage; incomplete steps get 400; neither changes anything."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from open311.extensions import db
from open311.models import RequestEvent, ServiceRequest, Stage
from tests.builders import bearer, make_request, make_staff
from tests.workflow.test_permissions import CDOT, NOW, SETUPS, cdot_pothole_at, snapshot

# The stages each action may start from, written out independently of transitions.py.
OPEN = {
    "new",
    "acknowledged",
    "assigned",
    "scheduled",
    "in_progress",
    "awaiting_reporter",
    "reopened",
}
WORKABLE = {"new", "acknowledged", "assigned", "scheduled", "in_progress"}
LEGAL_FROM = {
    "acknowledge": {"new", "reopened"},
    "assign": WORKABLE | {"reopened"},
    "schedule": {"acknowledged", "assigned", "scheduled"},
    "start": {"acknowledged", "assigned", "scheduled"},
    "ask_reporter": WORKABLE,
    "answer": {"awaiting_reporter"},
    "transfer": WORKABLE | {"reopened"},
    "close": OPEN,
    "mark_duplicate": OPEN,
    "reopen": {"closed", "reopened"},
    "note": OPEN | {"closed"},
}


@pytest.fixture
def supervisor(app):
    make_request(app, "SR26-PARENT", NOW, service_code="PHF", agency_responsible=CDOT)
    return make_staff(app, "supervisor", CDOT)


def test_every_illegal_transition_is_a_409_naming_the_stage(app, client, supervisor):
    wrong = []
    count = 0
    for action, (_stage, fields) in SETUPS.items():
        for stage in sorted(set(s.value for s in Stage) - LEGAL_FROM[action]):
            count += 1
            number = f"SR26-{count:08d}"
            cdot_pothole_at(app, number, stage)
            before = snapshot(app, number)
            response = client.post(
                f"/open311/staff/requests/{number}/{action}",
                json=fields,
                headers=bearer(supervisor),
            )
            if response.status_code != 409 or f"is {stage};" not in response.json[0]["description"]:
                wrong.append((action, stage, response.status_code, response.json))
            if snapshot(app, number) != before:
                wrong.append((action, stage, "changed"))
    assert count > 30
    assert wrong == []


@pytest.mark.parametrize(
    ("action", "fields", "field"),
    [
        ("assign", {}, "assignee"),
        ("schedule", {}, "scheduled_for"),
        ("schedule", {"scheduled_for": "next tuesday"}, "scheduled_for"),
        ("ask_reporter", {"internal_note": "no public question"}, "public_note"),
        ("close", {}, "reason"),
        ("close", {"reason": "duplicate"}, "reason"),
        ("close", {"reason": "because"}, "reason"),
        ("transfer", {"department": "Department of Nowhere"}, "department"),
        ("transfer", {"department": CDOT}, "department"),
        ("mark_duplicate", {"parent": "SR26-00000001"}, "parent"),
        ("mark_duplicate", {"parent": "SR99-NOPE"}, "parent"),
        ("note", {}, "public_note or internal_note"),
        ("note", {"public_note": "x" * 4001}, "public_note"),
        ("fly", {}, "action"),
        ("reopen_for_review", {}, "action"),
    ],
)
def test_a_step_without_what_it_needs_is_a_400_naming_the_field(
    app, client, supervisor, action, fields, field
):
    make_request(
        app,
        "SR26-00000001",
        NOW,
        service_code="PHF",
        agency_responsible=CDOT,
        stage=Stage.ACKNOWLEDGED,
    )
    before = snapshot(app, "SR26-00000001")
    response = client.post(
        f"/open311/staff/requests/SR26-00000001/{action}", json=fields, headers=bearer(supervisor)
    )
    assert response.status_code == 400
    assert response.json[0]["description"].startswith(f"{field}:")
    assert snapshot(app, "SR26-00000001") == before


def test_bad_bodies_and_unknown_requests(app, client, supervisor):
    path = "/open311/staff/requests/SR26-PARENT/note"
    not_object = client.post(
        path, data="[1, 2]", content_type="application/json", headers=bearer(supervisor)
    )
    assert not_object.status_code == 400
    broken = client.post(
        path, data="{", content_type="application/json", headers=bearer(supervisor)
    )
    assert broken.status_code == 400
    as_form = client.post(
        path, data={"internal_note": "a form works too"}, headers=bearer(supervisor)
    )
    assert as_form.status_code == 200
    missing = client.post(
        "/open311/staff/requests/SR26-99999999/note",
        json={"internal_note": "x"},
        headers=bearer(supervisor),
    )
    assert missing.status_code == 404


def test_closing_a_parent_closes_its_open_duplicates_with_its_note(app, client, supervisor):
    make_request(app, "SR26-00000001", NOW, service_code="PHF", agency_responsible=CDOT)
    make_request(
        app,
        "SR26-00000002",
        NOW,
        service_code="PHF",
        agency_responsible=CDOT,
        duplicate_of="SR26-PARENT",
    )
    marked = client.post(
        "/open311/staff/requests/SR26-00000001/mark_duplicate",
        json={"parent": "SR26-PARENT"},
        headers=bearer(supervisor),
    )
    assert (marked.json["stage"], marked.json["close_reason"]) == ("closed", "duplicate")
    child = client.get("/open311/v2/requests/SR26-00000001.json?extensions=true").json[0]
    assert child["status"] == "closed"
    assert child["extended_attributes"]["parent_service_request_id"] == "SR26-PARENT"
    client.post(
        "/open311/staff/requests/SR26-PARENT/close",
        json={"reason": "completed", "public_note": "Fixed the whole stretch."},
        headers=bearer(supervisor),
    )
    linked = client.get("/open311/v2/requests/SR26-00000002.json?extensions=true").json[0]
    assert (linked["status"], linked["status_notes"]) == ("closed", "Fixed the whole stretch.")
    history = client.get("/open311/staff/requests/SR26-00000002", headers=bearer(supervisor)).json[
        "history"
    ]
    assert [(e["action"], e["actor"], e["details"].get("closed_with")) for e in history] == [
        ("close", "system", "SR26-PARENT")
    ]


def test_two_agents_at_once_never_leave_a_state_the_transitions_forbid(app, client):
    """Threads race start / ask_reporter / close / note on the same requests."""
    agents = [make_staff(app, "agent", CDOT, email=f"agent{i}@cdot.example") for i in range(4)]
    steps = [
        ("start", {}),
        ("ask_reporter", {"public_note": "Which lane?"}),
        ("close", {"reason": "completed"}),
        ("note", {"internal_note": "racing"}),
    ]
    numbers = [f"SR26-{i:08d}" for i in range(1, 7)]
    for number in numbers:
        make_request(
            app, number, NOW, service_code="PHF", agency_responsible=CDOT, stage=Stage.ACKNOWLEDGED
        )
    outcomes: list[int] = []
    barrier = threading.Barrier(len(agents))

    def race(token: str, action: str, fields: dict[str, str]) -> None:
        racer = app.test_client()
        for number in numbers:
            barrier.wait()
            response = racer.post(
                f"/open311/staff/requests/{number}/{action}", json=fields, headers=bearer(token)
            )
            outcomes.append(response.status_code)

    threads = [
        threading.Thread(target=race, args=(token, *step))
        for token, step in zip(agents, steps, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert set(outcomes) <= {200, 409}
    assert outcomes.count(200) >= len(numbers) * 2
    with app.app_context():
        for number in numbers:
            service_request = db.session.scalar(
                sa.select(ServiceRequest).where(ServiceRequest.number == number)
            )
            events = db.session.scalars(
                sa.select(RequestEvent)
                .where(RequestEvent.service_request_id == service_request.id)
                .order_by(RequestEvent.id)
            ).all()
            stages = [Stage.ACKNOWLEDGED] + [e.to_stage for e in events]
            # Every row starts where the last one ended, and each move is one the table allows.
            assert all(e.from_stage == stage for e, stage in zip(events, stages, strict=False))
            assert all(e.from_stage.value in LEGAL_FROM[e.action] for e in events)
            assert service_request.stage == stages[-1]
            assert (service_request.status.value == "closed") == (
                service_request.stage is Stage.CLOSED
            )
