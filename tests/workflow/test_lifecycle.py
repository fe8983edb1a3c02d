"""One pothole through its whole life, checked in public Open311 JSON and XML at each step."""

from __future__ import annotations

import itertools
import time
from datetime import date, timedelta

import pytest
from lxml import etree

from tests.builders import bearer, make_staff, pothole_form

CDOT = "CDOT - Department of Transportation"
SECRET = "INTERNAL-ONLY"  # every internal note carries it; no public body may


@pytest.fixture
def people(app):
    return {
        "agent": make_staff(app, "agent", CDOT, email="agent@cdot.example"),
        "supervisor": make_staff(app, "supervisor", CDOT, email="boss@cdot.example"),
    }


def act(client, token, number, action, **fields):
    response = client.post(
        f"/open311/staff/requests/{number}/{action}", json=fields, headers=bearer(token)
    )
    assert response.status_code == 200, response.json
    return response.json


def public(client, number):
    """The request as the public sees it, in JSON and XML, checked for leaks."""
    json_response = client.get(f"/open311/v2/requests/{number}.json?extensions=true")
    xml_response = client.get(f"/open311/v2/requests/{number}.xml?extensions=true")
    for body in (json_response.data, xml_response.data):
        assert SECRET.encode() not in body
        assert b"@cdot.example" not in body
        assert b"Supervisor of" not in body
        assert b"Crew" not in body
        staff_only = (b"Pizza", b"10-8-480", b"BL-777", b"Still a crater", b"rating")
        for marker in (*staff_only, b'"cite"', b">cite<", b'"feedback"', b">feedback<"):
            assert marker not in body  # citations and feedback are never public
    [request] = json_response.json
    root = etree.fromstring(xml_response.data)
    assert root.findtext("request/status") == request["status"]
    assert (root.findtext("request/status_notes") or None) == request["status_notes"]
    assert root.xpath("request/notes/note/type/text()") == [n["type"] for n in request["notes"]]
    return request


def test_a_request_from_filing_to_feedback_reopening_and_closing_again(client, api_key, people):
    agent, supervisor = people["agent"], people["supervisor"]
    number = client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
        "service_request_id"
    ]
    assert public(client, number)["status"] == "open"

    act(
        client,
        agent,
        number,
        "acknowledge",
        public_note="We have your report.",
        internal_note=f"{SECRET} triage A",
    )
    seen = public(client, number)
    assert (seen["status"], seen["status_notes"]) == ("open", "We have your report.")

    act(
        client,
        supervisor,
        number,
        "assign",
        assignee="Crew 7",
        internal_note=f"{SECRET} crew nearby",
    )
    assert public(client, number)["notes"][-1]["summary"] == "Request assigned"

    day = (date.today() + timedelta(days=3)).isoformat()
    work = act(client, agent, number, "schedule", scheduled_for=day)
    assert (work["stage"], work["scheduled_for"]) == ("scheduled", day)
    assert public(client, number)["notes"][-1]["summary"] == f"Work scheduled for {day}"

    act(client, agent, number, "ask_reporter", public_note="Which lane is the pothole in?")
    seen = public(client, number)
    assert seen["status_notes"] == "Which lane is the pothole in?"
    assert seen["notes"][-1]["type"] == "ask_reporter"

    answered = client.post(
        f"/open311/v2/requests/{number}/answer.json",
        data={"api_key": api_key, "answer": "The right lane, by the bus stop."},
    )
    assert answered.status_code == 200, answered.json
    staff_view = client.get(f"/open311/staff/requests/{number}", headers=bearer(agent)).json
    assert staff_view["stage"] == "scheduled"  # back where it was when the question was asked
    assert staff_view["history"][-1]["internal_note"] == "The right lane, by the bus stop."
    assert (
        "by the bus stop"
        not in client.get(f"/open311/v2/requests/{number}.json?extensions=true").text
    )

    act(client, agent, number, "start")
    before = public(client, number)
    cited = client.post(
        f"/open311/staff/requests/{number}/citations",
        json={
            "party_kind": "business",
            "party_name": "Tony's Pizza LLC",
            "licence_number": "BL-777",
            "violation_code": "10-8-480",
            "cited_on": date.today().isoformat(),
            "fine_amount": "300",
            "internal_note": f"{SECRET} grease in the drain",
        },
        headers=bearer(agent),
    )
    assert cited.status_code == 201, cited.json
    assert public(client, number) == before  # nothing public moves, not even updated_datetime

    act(
        client,
        agent,
        number,
        "close",
        reason="completed",
        public_note="Pothole patched.",
        internal_note=f"{SECRET} 2 bags",
    )
    seen = public(client, number)
    assert (seen["status"], seen["status_notes"]) == ("closed", "Pothole patched.")
    assert seen["notes"][-1] == {
        "datetime": seen["updated_datetime"],
        "summary": "Request closed (completed)",
        "type": "close",
        "description": "Pothole patched.",
    }

    rated = client.post(
        f"/open311/v2/requests/{number}/feedback.xml",
        data={"api_key": api_key, "rating": "1", "comment": "Still a crater."},
    )
    assert rated.status_code == 200
    assert etree.fromstring(rated.data).findtext("request/status") == "open"
    seen = public(client, number)
    assert seen["status"] == "open"
    assert seen["notes"][-1]["summary"] == "Reopened for review after feedback"
    assert (
        client.get(f"/open311/staff/requests/{number}", headers=bearer(supervisor)).json["stage"]
        == "reopened"
    )

    act(client, supervisor, number, "close", reason="completed", public_note="Patched again.")
    seen = public(client, number)
    assert (seen["status"], seen["status_notes"]) == ("closed", "Patched again.")
    assert [n["type"] for n in seen["notes"]] == [
        "opened",
        "acknowledge",
        "assign",
        "schedule",
        "ask_reporter",
        "answer",
        "start",
        "close",
        "reopen_for_review",
        "close",
    ]

    history = client.get(f"/open311/staff/requests/{number}", headers=bearer(supervisor)).json[
        "history"
    ]
    staff_only = {"cite", "feedback"}
    assert [e["action"] for e in history if e["action"] not in staff_only] == [
        n["type"] for n in seen["notes"][1:]
    ]
    assert [e["action"] for e in history][5:9] == ["start", "cite", "close", "feedback"]
    by_reporter = {"answer", "feedback", "reopen_for_review"}
    assert all(
        e["actor"] == "staff" and e["staff_id"] for e in history if e["action"] not in by_reporter
    )
    assert all(
        e["actor"] == "reporter" and e["staff_id"] is None
        for e in history
        if e["action"] in by_reporter
    )
    assert history[6]["details"]["citation_id"] == cited.json["id"]
    assert history[8]["details"] == {"rating": 1, "reopens": True}
    # Each row starts where the one before it ended: nothing changed without a row.
    assert all(
        later["from_stage"] == earlier["to_stage"] for earlier, later in itertools.pairwise(history)
    )


def test_the_staff_view_has_what_the_public_view_never_shows(client, api_key, people):
    number = client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
        "service_request_id"
    ]
    act(client, people["agent"], number, "note", internal_note=f"{SECRET} called the alderman")
    work = client.get(f"/open311/staff/requests/{number}", headers=bearer(people["agent"])).json
    assert work["reporter"]["email"] == "resident@example.org"
    assert work["history"][0]["internal_note"].startswith(SECRET)
    seen = public(client, number)
    assert [n["type"] for n in seen["notes"]] == ["opened", "note"]
    assert seen["notes"][-1]["description"] is None


def test_a_transfer_changes_the_agency_responsible(client, api_key, people):
    number = client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
        "service_request_id"
    ]
    work = act(
        client, people["supervisor"], number, "transfer", department="Streets and Sanitation"
    )
    assert (work["department"], work["stage"]) == ("Streets and Sanitation", "new")
    seen = public(client, number)
    assert seen["agency_responsible"] == "Streets and Sanitation"
    assert seen["notes"][-1]["summary"] == "Request transferred to Streets and Sanitation"
    # Now it is the other department's: CDOT's agent may no longer touch it.
    refused = client.post(
        f"/open311/staff/requests/{number}/acknowledge", json={}, headers=bearer(people["agent"])
    )
    assert refused.status_code == 403


def test_the_workflow_keeps_the_estimate_and_the_closing_time_honest(app, client, api_key, people):
    """Closing drops the range; a note after closing does not move the learned closing time."""
    from open311.estimates.history import resolution_history
    from open311.extensions import db

    number = client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
        "service_request_id"
    ]
    closed = act(client, people["agent"], number, "close", reason="completed")
    closed_at = closed["history"][-1]["datetime"]
    time.sleep(1.1)  # times are kept to the second: the note must come later
    act(client, people["agent"], number, "note", public_note="Thanks for reporting.")
    seen = public(client, number)
    assert seen["extended_attributes"]["expected_range"] is None
    assert seen["updated_datetime"] > closed_at
    with app.app_context():
        [past] = list(resolution_history(db.session()))
        zone = app.extensions["open311.jurisdiction"].time_zone
        assert past.closed_at.astimezone(zone).isoformat() == closed_at
