"""Likely parents of a duplicate: same service, open, near and recent, nearest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.builders import bearer, make_request, make_staff

CDOT = "CDOT - Department of Transportation"
STREETS = "Streets and Sanitation"
NOW = datetime.now(UTC).replace(microsecond=0)
LAT, LONG = 41.883637, -87.630231
METRES_PER_DEGREE_LAT = 111_320  # about; the tests keep well clear of the edges


def pothole(app, number, *, north_m=0.0, days_before=0.0, **overrides):
    """A CDOT pothole `north_m` metres north of City Hall, filed `days_before` the child."""
    make_request(
        app,
        number,
        NOW - timedelta(days=days_before),
        **{
            "service_code": "PHF",
            "agency_responsible": CDOT,
            "lat": LAT + north_m / METRES_PER_DEGREE_LAT,
            "long": LONG,
            **overrides,
        },
    )


@pytest.fixture
def agent(app):
    return make_staff(app, "agent", CDOT, email="agent@cdot.example")


def suggestions(client, token, number):
    response = client.get(f"/open311/staff/requests/{number}/likely-parents", headers=bearer(token))
    assert response.status_code == 200, response.json
    return response.json


def test_likely_parents_are_the_open_recent_near_ones_nearest_first(app, client, agent):
    # PHF's catalogue file (tests/fixtures/catalog) says 150 m and 10 days.
    pothole(app, "SR-CHILD")
    pothole(app, "SR-NEAR", north_m=20, days_before=2)
    pothole(app, "SR-NEARER", north_m=5, days_before=9)
    pothole(app, "SR-EDGE", north_m=140, days_before=1)
    pothole(app, "SR-FAR", north_m=170, days_before=1)  # outside the radius
    pothole(app, "SR-OLD", north_m=10, days_before=11)  # outside the window
    pothole(app, "SR-NEWER", north_m=10, days_before=-1)  # filed after the child
    pothole(app, "SR-CLOSED", north_m=10, days_before=1, stage="closed", status="closed")
    pothole(app, "SR-CHILD2", north_m=10, days_before=1, duplicate_of="SR-NEAR")
    make_request(app, "SR-GRAFFITI", NOW - timedelta(days=1))  # another service, same place

    found = suggestions(client, agent, "SR-CHILD")

    assert (found["service_request_id"], found["radius_m"], found["window_days"]) == (
        "SR-CHILD",
        150.0,
        10.0,
    )
    numbers = [c["request"]["service_request_id"] for c in found["candidates"]]
    assert numbers == ["SR-NEARER", "SR-NEAR", "SR-EDGE"]
    distances = [c["distance_m"] for c in found["candidates"]]
    assert distances == sorted(distances)
    assert 3 < distances[0] < 7
    assert 130 < distances[-1] < 150


def test_a_service_without_a_rule_uses_the_configured_defaults(app, client):
    agent = make_staff(app, "agent", STREETS)
    make_request(app, "SR-G1", NOW)
    make_request(app, "SR-G2", NOW - timedelta(days=29), lat=LAT + 190 / METRES_PER_DEGREE_LAT)
    make_request(app, "SR-G3", NOW - timedelta(days=31))
    found = suggestions(client, agent, "SR-G1")
    assert (found["radius_m"], found["window_days"]) == (200.0, 30.0)
    assert [c["request"]["service_request_id"] for c in found["candidates"]] == ["SR-G2"]

    app.config.update(DUPLICATE_RADIUS_M=100.0, DUPLICATE_WINDOW_DAYS=40.0)
    found = suggestions(client, agent, "SR-G1")
    assert [c["request"]["service_request_id"] for c in found["candidates"]] == ["SR-G3"]


def test_the_suggested_parent_is_marked_with_mark_duplicate(app, client, agent):
    pothole(app, "SR-CHILD")
    pothole(app, "SR-PARENT", north_m=30, days_before=1)
    [candidate] = suggestions(client, agent, "SR-CHILD")["candidates"]
    parent = candidate["request"]["service_request_id"]
    marked = client.post(
        "/open311/staff/requests/SR-CHILD/mark_duplicate",
        json={"parent": parent},
        headers=bearer(agent),
    )
    assert marked.status_code == 200, marked.json
    assert (marked.json["parent_service_request_id"], marked.json["close_reason"]) == (
        parent,
        "duplicate",
    )
    # A duplicate is nobody's likely parent; the parent has none left either.
    pothole(app, "SR-THIRD", north_m=10)
    assert [
        c["request"]["service_request_id"]
        for c in suggestions(client, agent, "SR-THIRD")["candidates"]
    ] == ["SR-PARENT"]


def test_another_department_may_not_ask_and_unknown_requests_are_404(app, client, agent):
    pothole(app, "SR-CHILD")
    streets_agent = make_staff(app, "agent", STREETS)
    refused = client.get(
        "/open311/staff/requests/SR-CHILD/likely-parents", headers=bearer(streets_agent)
    )
    assert refused.status_code == 403
    assert "CDOT" in refused.json[0]["description"]
    missing = client.get("/open311/staff/requests/SR-NONE/likely-parents", headers=bearer(agent))
    assert missing.status_code == 404
    anonymous = client.get("/open311/staff/requests/SR-CHILD/likely-parents")
    assert anonymous.status_code == 401


def test_likely_parents_are_read_only(app, client, agent):
    pothole(app, "SR-CHILD")
    response = client.post(
        "/open311/staff/requests/SR-CHILD/likely-parents", json={}, headers=bearer(agent)
    )
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
