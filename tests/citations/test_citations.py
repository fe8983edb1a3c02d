"""Citations (CITE): recorded by the request's department, audited, listed by party, never public."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from open311.citations.parties import name_key, party_key
from open311.extensions import db
from open311.models import Citation, RequestEvent
from tests.builders import bearer, make_staff, pothole_form

CDOT = "CDOT - Department of Transportation"
STREETS = "Streets and Sanitation"
CITATION = {
    "party_kind": "business",
    "party_name": "Joe's Pizza, Inc.",
    "licence_number": "BL-1234567",
    "party_address": "100 W Randolph St",
    "violation_code": "10-8-480",
    "cited_on": "2026-11-30",
    "fine_amount": "250.00",
    "internal_note": "Grease dumped in the alley drain",
}


@pytest.fixture
def agent(app):
    return make_staff(app, "agent", CDOT, email="agent@cdot.example")


@pytest.fixture
def number(client, api_key):
    return client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
        "service_request_id"
    ]


def cite(client, token, number, **fields):
    return client.post(
        f"/open311/staff/requests/{number}/citations",
        json={**CITATION, **fields},
        headers=bearer(token),
    )


def stored(app):
    with app.app_context():
        citations = db.session.scalar(sa.select(sa.func.count()).select_from(Citation))
        events = db.session.scalar(sa.select(sa.func.count()).select_from(RequestEvent))
        return citations, events


def test_a_citation_is_recorded_and_audited_but_never_public(app, client, agent, number):
    before = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json[0]
    response = cite(client, agent, number)
    assert response.status_code == 201, response.json
    cited = response.json
    assert cited["service_request_id"] == number
    assert (cited["party_name"], cited["fine_amount"], cited["status"]) == (
        "Joe's Pizza, Inc.",
        "250.00",
        "issued",
    )
    assert (cited["department"], cited["violation_code"], cited["cited_on"]) == (
        CDOT,
        "10-8-480",
        "2026-11-30",
    )

    history = client.get(f"/open311/staff/requests/{number}", headers=bearer(agent)).json["history"]
    assert history[-1]["action"] == "cite"
    assert history[-1]["public_note"] is None
    assert history[-1]["internal_note"] == "Grease dumped in the alley drain"
    assert history[-1]["details"] == {
        "citation_id": cited["id"],
        "violation_code": "10-8-480",
        "fine_amount": "250.00",
    }
    assert history[-1]["from_stage"] == history[-1]["to_stage"] == "new"

    for suffix in ("json", "xml"):
        body = client.get(f"/open311/v2/requests/{number}.{suffix}?extensions=true").data
        for secret in (
            b"Pizza",
            b"10-8-480",
            b"250.00",
            b"BL-1234567",
            b"Randolph",
            b"cite",
            b"alley drain",
        ):
            assert secret not in body, (suffix, secret)
    after = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json[0]
    assert after == before  # not even updated_datetime moves


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"party_name": None}, "party_name"),
        ({"party_kind": "company"}, "party_kind"),
        ({"violation_code": "<script>"}, "violation_code"),
        ({"cited_on": "30/11/2026"}, "cited_on"),
        ({"fine_amount": "-5"}, "fine_amount"),
        ({"fine_amount": "lots"}, "fine_amount"),
        ({"fine_amount": "NaN"}, "fine_amount"),
        ({"licence_number": None, "party_address": None}, "licence_number"),
    ],
)
def test_bad_citations_are_400_naming_the_field_and_store_nothing(
    app, client, agent, number, change, field
):
    before = stored(app)
    fields = {key: value for key, value in {**CITATION, **change}.items() if value is not None}
    response = client.post(
        f"/open311/staff/requests/{number}/citations", json=fields, headers=bearer(agent)
    )
    assert response.status_code == 400
    assert response.json[0]["description"].startswith(f"{field}:")
    assert stored(app) == before


@pytest.mark.parametrize(
    ("role", "department"),
    [("agent", STREETS), ("supervisor", STREETS), ("call_taker", CDOT), ("administrator", CDOT)],
)
def test_only_the_requests_department_may_cite(app, client, number, role, department):
    token = make_staff(app, role, department)
    before = stored(app)
    assert cite(client, token, number).status_code == 403
    assert stored(app) == before


def test_unknown_request_is_404(client, agent):
    assert cite(client, agent, "SR26-99999999").status_code == 404


def test_citations_are_listed_by_party_under_any_spelling_of_its_name_or_licence(
    app, client, api_key, agent
):
    numbers = [
        client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
            "service_request_id"
        ]
        for _ in range(3)
    ]
    assert cite(client, agent, numbers[0]).status_code == 201
    assert (
        cite(
            client,
            agent,
            numbers[1],
            party_name="JOES PIZZA",
            licence_number="bl 1234567",
            cited_on="2026-12-01",
            fine_amount="500",
        ).status_code
        == 201
    )
    assert (
        cite(
            client,
            agent,
            numbers[2],
            party_name="Ann Other",
            party_kind="person",
            licence_number=None,
        ).status_code
        == 201
    )

    for asked in ("joes pizza", "The Joe's Pizza LLC", "BL1234567"):
        found = client.get(
            "/open311/staff/citations", query_string={"party": asked}, headers=bearer(agent)
        ).json
        assert found["count"] == 2, asked
        assert [c["service_request_id"] for c in found["citations"]] == [numbers[1], numbers[0]]

    parties = client.get("/open311/staff/citations/parties", headers=bearer(agent)).json
    assert parties["department"] == CDOT
    [repeat] = parties["parties"]
    assert repeat == {
        "party_key": "licence:BL1234567",
        "party_kind": "business",
        "party_name": "JOES PIZZA",
        "licence_number": "bl 1234567",
        "citations": 2,
        "complaints": 0,
        "fines_total": "750.00",
        "first_cited_on": "2026-11-30",
        "last_cited_on": "2026-12-01",
    }
    everyone = client.get("/open311/staff/citations/parties?min=1", headers=bearer(agent)).json[
        "parties"
    ]
    assert [(p["party_name"], p["citations"]) for p in everyone] == [
        ("JOES PIZZA", 2),
        ("Ann Other", 1),
    ]


def test_citation_lists_check_their_input_and_the_department(app, client, agent):
    assert (
        client.get("/open311/staff/citations", headers=bearer(agent))
        .json[0]["description"]
        .startswith("party:")
    )
    bad_min = client.get("/open311/staff/citations/parties?min=zero", headers=bearer(agent))
    assert (bad_min.status_code, bad_min.json[0]["description"][:4]) == (400, "min:")
    other = client.get(
        f"/open311/staff/citations/parties?department={STREETS}", headers=bearer(agent)
    )
    assert other.status_code == 403
    admin = make_staff(app, "administrator", CDOT)
    assert client.get("/open311/staff/citations?party=x", headers=bearer(admin)).status_code == 403


def test_a_status_change_is_checked_and_audited(app, client, agent, number):
    cited = cite(client, agent, number).json
    url = f"/open311/staff/citations/{cited['id']}/status"
    contested = client.post(
        url, json={"status": "contested", "internal_note": "Owner disputes"}, headers=bearer(agent)
    )
    assert (contested.status_code, contested.json["status"]) == (200, "contested")
    paid = client.post(url, json={"status": "paid"}, headers=bearer(agent))
    assert paid.json["status"] == "paid"

    before = stored(app)
    final = client.post(url, json={"status": "issued"}, headers=bearer(agent))
    assert final.status_code == 409
    assert "paid" in final.json[0]["description"]
    assert client.post(url, json={"status": "forgiven"}, headers=bearer(agent)).status_code == 400
    streets = make_staff(app, "supervisor", STREETS)
    assert (
        client.post(url, json={"status": "dismissed"}, headers=bearer(streets)).status_code == 403
    )
    assert (
        client.post(
            "/open311/staff/citations/999999/status", json={"status": "paid"}, headers=bearer(agent)
        ).status_code
        == 404
    )
    assert stored(app) == before

    history = client.get(f"/open311/staff/requests/{number}", headers=bearer(agent)).json["history"]
    changes = [
        (e["details"]["from"], e["details"]["to"])
        for e in history
        if e["action"] == "citation_status"
    ]
    assert changes == [("issued", "contested"), ("contested", "paid")]
    assert "cite" not in client.get(f"/open311/v2/requests/{number}.json?extensions=true").text


def test_party_names_normalise_spelling_but_not_identity():
    assert (
        name_key("Joe's Pizza, Inc.")
        == name_key("JOES PIZZA")
        == name_key("The Joe\u2019s Pizza LLC")
        == "JOES PIZZA"
    )
    assert name_key("Café & Co") == "CAFE AND"
    assert name_key("Inc") == "INC"  # a name is never normalised away
    assert party_key("Joe's Pizza", " bl-123 ") == "licence:BL123"
    assert party_key("Joe's Pizza", None) == "name:JOES PIZZA"


def test_control_characters_are_dropped_not_stored_or_fatal(app, client, agent, number):
    cited = cite(client, agent, number, party_name="Joe's\x00 Pizza\x14")
    assert cited.status_code == 201
    assert cited.json["party_name"] == "Joe's Pizza"
    found = client.get(
        "/open311/staff/citations", query_string={"party": "joes\x14 pizza"}, headers=bearer(agent)
    )
    assert (found.status_code, found.json["count"]) == (200, 1)
    # NUL in a query string is refused everywhere (database.py), before any query sees it.
    refused = client.get(
        "/open311/staff/citations", query_string={"party": "joes\x00 pizza"}, headers=bearer(agent)
    )
    assert refused.status_code == 400
