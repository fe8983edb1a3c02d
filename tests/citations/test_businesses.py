"""One business however its citations spell it: a licence when there is one, else its
name at its address, joined over both keys (open311/citations/parties.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from open311.citations import parties
from open311.extensions import db
from open311.models import ServiceRequest
from tests.builders import bearer, make_staff, pothole_form
from tests.citations.test_citations import CDOT, cite

# (name, licence, address) pairs that are one business …
SAME = [
    (("ACME INC.", "BL-100", "100 W Randolph St"), ("Acme, Inc", None, "100 W. RANDOLPH STREET")),
    (("Acme, Inc", None, "100 W Randolph St"), ("ACME", None, "100 West Randolph Street")),
    (("The Acme Co.", None, "5 N State St"), ("ACME CORP", None, "5 N STATE ST, CHICAGO")),
    (("Smith & Sons LLC", None, "9 E Lake St"), ("SMITH AND SONS", None, "9 E LAKE ST")),
    (("Joe's Pizza", "bl 1234567", "1 W Elm St"), ("JOES PIZZA CORP", "BL1234567", None)),
    (("Joe's Pizza", "BL-1", "1 W Elm St"), ("Pizza Palace", "bl 1", "77 S Wacker Dr")),
    (("Café Olé Inc", None, "3 S Halsted Ave"), ("CAFE OLE", None, "3 S HALSTED AVENUE")),
]
# … and pairs that are not.
DIFFERENT = [
    (("ACME INC.", None, "100 W Randolph St"), ("ACME INC.", None, "200 W Randolph St")),
    (("ACME INC.", "BL-100", "100 W Randolph St"), ("ACME INC.", "BL-200", "200 W Lake St")),
    (("Acme", None, "100 W Randolph St"), ("Acme Tools", None, "100 W Randolph St")),
    (("Acme", None, "100 W Randolph St"), ("Acme", None, "100 E Randolph St")),
    (("Acme", None, "100 W Randolph St"), ("Acme", None, None)),
    (("The Co", None, "1 W Elm St"), ("Co", None, "1 W Elm Ave")),
]


def one_party(one: tuple, other: tuple) -> bool:
    groups = parties.group([parties.keys_of_citation(*one), parties.keys_of_citation(*other)])
    return len(groups) == 1


@pytest.mark.parametrize(("one", "other"), SAME)
def test_spellings_of_one_business_are_one_party(one, other):
    assert one_party(one, other)
    assert one_party(other, one)


@pytest.mark.parametrize(("one", "other"), DIFFERENT)
def test_different_businesses_are_different_parties(one, other):
    assert not one_party(one, other)


def test_a_licence_joins_through_a_third_citation():
    # Without the middle citation the first and last share no key; with it, one party.
    first = ("Acme, Inc", None, "100 W Randolph St")
    middle = ("ACME INC.", "BL-100", "100 W Randolph St")
    last = ("Acme Hardware", "bl 100", "4 S State St")
    assert not one_party(first, last)
    keys = [parties.keys_of_citation(*c) for c in (first, middle, last)]
    assert parties.group(keys) == [[0, 1, 2]]


def test_repeat_parties_finds_the_business_cited_with_and_without_its_licence(app, client, api_key):
    agent = make_staff(app, "agent", CDOT, email="agent@cdot.example")
    numbers = [
        client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
            "service_request_id"
        ]
        for _ in range(3)
    ]
    with_licence = {"party_name": "ACME INC.", "licence_number": "BL-100",
                    "party_address": "100 W Randolph St", "cited_on": "2026-11-01"}  # fmt: skip
    without = {"party_name": "Acme, Inc", "licence_number": None,
               "party_address": "100 W. RANDOLPH STREET", "cited_on": "2026-11-20"}  # fmt: skip
    elsewhere = {"party_name": "Acme, Inc", "licence_number": None,
                 "party_address": "9 E Lake St", "cited_on": "2026-11-21"}  # fmt: skip
    for number, fields in zip(numbers, (with_licence, without, elsewhere), strict=True):
        assert cite(client, agent, number, **fields).status_code == 201

    reply = client.get("/open311/staff/citations/parties?min=2", headers=bearer(agent))
    assert reply.status_code == 200
    [party] = reply.json["parties"]
    assert (party["party_key"], party["citations"], party["party_name"]) == (
        "licence:BL100",
        2,
        "Acme, Inc",
    )
    assert (party["first_cited_on"], party["last_cited_on"]) == ("2026-11-01", "2026-11-20")
    everyone = client.get("/open311/staff/citations/parties?min=1", headers=bearer(agent))
    assert sorted(p["party_key"] for p in everyone.json["parties"]) == [
        "licence:BL100", "name:ACME@9 E LAKE ST"
    ]  # fmt: skip


def filed(client, form: dict) -> str:
    reply = client.post("/open311/v2/requests.json", data=form)
    assert reply.status_code == 200, reply.json
    return reply.json[0]["service_request_id"]


def test_complaints_at_a_partys_address_count_beside_its_citations(app, client, api_key):
    agent = make_staff(app, "agent", CDOT, email="agent@cdot.example")
    numbers = [
        filed(client, pothole_form(api_key, description=f"Pothole {n}", device_id=f"d{n}"))
        for n in range(3)
    ]
    assert len(set(numbers)) == 3
    cited, complaint, elsewhere = numbers
    fields = {"party_name": "ACME INC.", "licence_number": "BL-100",
              "party_address": "100 W Elm St", "cited_on": "2026-11-01"}  # fmt: skip
    assert cite(client, agent, cited, **fields).status_code == 201
    addresses = {
        cited: "1 N State St",  # the citation's own request: counted as a citation only
        complaint: "100 W ELM STREET, Chicago, IL",
        elsewhere: "102 W Elm St",
    }
    with app.app_context():
        for number, address in addresses.items():
            db.session.execute(
                sa.update(ServiceRequest)
                .where(ServiceRequest.number == number)
                .values(address=address, agency_responsible=CDOT)
            )
        db.session.commit()

    reply = client.get("/open311/staff/citations/parties?min=2", headers=bearer(agent))
    assert reply.status_code == 200
    [party] = reply.json["parties"]
    assert (party["party_key"], party["citations"], party["complaints"]) == ("licence:BL100", 1, 1)
    # One citation alone is not a repeat offender; with its complaint it is (min counts both).
    assert (
        client.get("/open311/staff/citations/parties?min=3", headers=bearer(agent)).json["parties"]
        == []
    )


def test_a_complaint_where_two_parties_were_cited_counts_for_neither(app, client, api_key):
    agent = make_staff(app, "agent", CDOT, email="agent@cdot.example")
    numbers = [
        filed(client, pothole_form(api_key, description=f"Pothole {n}", device_id=f"d{n}"))
        for n in range(3)
    ]
    assert len(set(numbers)) == 3
    for number, name in zip(numbers, ("ACME INC.", "Bolt Tools"), strict=False):
        fields = {"party_name": name, "licence_number": None,
                  "party_address": "100 W Elm St", "cited_on": "2026-11-01"}  # fmt: skip
        assert cite(client, agent, number, **fields).status_code == 201
    with app.app_context():
        db.session.execute(
            sa.update(ServiceRequest)
            .where(ServiceRequest.number == numbers[2])
            .values(address="100 W Elm St", agency_responsible=CDOT)
        )
        db.session.commit()
    reply = client.get("/open311/staff/citations/parties?min=1", headers=bearer(agent))
    assert sorted((p["party_key"], p["complaints"]) for p in reply.json["parties"]) == [
        ("name:ACME@100 W ELM ST", 0), ("name:BOLT TOOLS@100 W ELM ST", 0)
    ]  # fmt: skip
