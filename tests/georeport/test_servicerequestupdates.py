"""FixMyStreet's servicerequestupdates (reference Part 2 §2.6), GET and POST, with its real field shapes."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from lxml import etree

from open311.accounts.keys import create_key
from open311.database import begin_write
from open311.extensions import db
from open311.models import PartnerUpdate, RequestEvent
from open311.models.base import utcnow
from open311.workflow import queries as workflow_queries
from tests.builders import bearer, make_staff, pothole_form

CDOT = "CDOT - Department of Transportation"
SECRET = "INTERNAL-ONLY"


@pytest.fixture
def supervisor(app):
    return make_staff(app, "supervisor", CDOT, email="boss@cdot.example")


@pytest.fixture
def other_key(app):
    with app.app_context():
        begin_write(db.session())
        _, plaintext = create_key(db.session(), "Another FixMyStreet")
        db.session.commit()
    return plaintext


@pytest.fixture
def number(client, api_key):
    return client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
        "service_request_id"
    ]


def act(client, token, number, action, **fields):
    response = client.post(
        f"/open311/staff/requests/{number}/{action}", json=fields, headers=bearer(token)
    )
    assert response.status_code == 200, response.json
    return response.json


def fms_update(api_key, number, update_id="8841", status="OPEN", **overrides):
    """What FixMyStreet's Open311 client posts for a comment (perllib/Open311.pm)."""
    form = {
        "api_key": api_key,
        "jurisdiction_id": "cityofchicago.org",
        "service_request_id": number,
        "update_id": update_id,
        "updated_datetime": "2026-12-03T10:15:07+00:00",
        "status": status,
        "description": "It is still there and getting bigger.",
        "first_name": "Jo",
        "last_name": "-",
        "email": "jo.fms@example.org",
        "phone": "07700900123",
        "media_url": "https://fixmystreet.example/photo/c/8841.0.full.jpeg",
        "attribute[title]": "Pothole",
        "service_code": "PHF",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def counts(app):
    with app.app_context():
        events = db.session.scalar(sa.select(sa.func.count()).select_from(RequestEvent))
        updates = db.session.scalar(sa.select(sa.func.count()).select_from(PartnerUpdate))
        return events, updates


def updates(client, key, suffix="json", **args):
    response = client.get(
        f"/open311/v2/servicerequestupdates.{suffix}", query_string={"api_key": key, **args}
    )
    assert response.status_code == 200, response.data
    return response


def test_get_lists_the_public_updates_of_the_last_two_hours_with_extended_statuses(
    client, api_key, supervisor, number
):
    act(
        client,
        supervisor,
        number,
        "acknowledge",
        public_note="We have your report.",
        internal_note=f"{SECRET} triage",
    )
    act(
        client, supervisor, number, "note", internal_note=f"{SECRET} alderman called"
    )  # no public effect
    act(client, supervisor, number, "assign", assignee="Crew 7")
    cited = client.post(
        f"/open311/staff/requests/{number}/citations",
        json={
            "party_kind": "person",
            "party_name": "A Driver",
            "party_address": "1 Main St",
            "violation_code": "9-64-100",
            "cited_on": "2026-12-01",
            "fine_amount": "75",
        },
        headers=bearer(supervisor),
    )
    assert cited.status_code == 201
    act(client, supervisor, number, "close", reason="completed", public_note="Pothole patched.")

    listed = updates(client, api_key).json
    assert [(u["status"], u["description"]) for u in listed] == [
        ("INVESTIGATING", "We have your report."),
        ("IN_PROGRESS", None),
        ("FIXED", "Pothole patched."),
    ]
    assert {u["service_request_id"] for u in listed} == {number}
    ids = [int(u["update_id"]) for u in listed]
    assert ids == sorted(set(ids))

    xml = updates(client, api_key, "xml").data
    root = etree.fromstring(xml)
    assert root.tag == "service_request_updates"
    assert root.xpath("request_update/update_id/text()") == [u["update_id"] for u in listed]
    assert root.xpath("request_update/status/text()") == ["INVESTIGATING", "IN_PROGRESS", "FIXED"]
    for body in (xml, updates(client, api_key).data):
        for secret in (SECRET.encode(), b"Crew 7", b"A Driver", b"9-64-100", b"@cdot.example"):
            assert secret not in body


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("not_city_responsibility", "NOT_COUNCILS_RESPONSIBILITY"),
        ("cancelled", "CANCELLED"),
        ("unable_to_locate", "NO_FURTHER_ACTION"),
    ],
)
def test_closing_reasons_map_to_fixmystreet_statuses(
    client, api_key, supervisor, number, reason, status
):
    act(client, supervisor, number, "close", reason=reason)
    assert [u["status"] for u in updates(client, api_key).json] == [status]


def test_a_duplicate_is_duplicate_and_schedules_are_action_scheduled(
    client, api_key, supervisor, number
):
    parent = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, description="Another")
    ).json[0]["service_request_id"]
    act(client, supervisor, parent, "acknowledge")
    act(client, supervisor, parent, "schedule", scheduled_for="2030-01-02")
    act(
        client, supervisor, number, "mark_duplicate", parent=parent, public_note="Already reported."
    )
    assert [(u["service_request_id"], u["status"]) for u in updates(client, api_key).json] == [
        (parent, "INVESTIGATING"),
        (parent, "ACTION_SCHEDULED"),
        (number, "DUPLICATE"),
    ]


def test_the_window_is_both_dates_or_neither(app, client, api_key, supervisor, number):
    act(client, supervisor, number, "acknowledge", public_note="Seen.")
    with app.app_context():
        begin_write(db.session())
        db.session.execute(sa.update(RequestEvent).values(at=utcnow() - timedelta(hours=3)))
        db.session.commit()
    assert updates(client, api_key).json == []
    found = updates(
        client,
        api_key,
        start_date=(utcnow() - timedelta(hours=4)).isoformat(),
        end_date=utcnow().isoformat(),
    ).json
    assert [u["description"] for u in found] == ["Seen."]

    for args, starts in [
        ({"start_date": "2026-12-01T00:00:00Z"}, "start_date and end_date"),
        ({"end_date": "2026-12-01T00:00:00Z"}, "start_date and end_date"),
        ({"start_date": "yesterday", "end_date": "2026-12-01T00:00:00Z"}, "start_date:"),
        (
            {"start_date": "2026-12-02T00:00:00Z", "end_date": "2026-12-01T00:00:00Z"},
            "start_date must",
        ),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-12-01T00:00:00Z"},
            "start_date to end_date",
        ),
    ]:
        response = client.get(
            "/open311/v2/servicerequestupdates.xml", query_string={"api_key": api_key, **args}
        )
        assert response.status_code == 400, args
        assert etree.fromstring(response.data).findtext("error/description").startswith(starts)


def test_a_window_comes_whole_or_in_pages_and_is_never_cut_short(
    client, api_key, supervisor, number, monkeypatch
):
    for count in range(1, 6):
        act(client, supervisor, number, "note", public_note=f"Note {count}.")
    whole = [u["description"] for u in updates(client, api_key).json]
    assert whole == [f"Note {count}." for count in range(1, 6)]

    def page(suffix="json", **args):
        return updates(client, api_key, suffix, page_size="2", **args)

    assert [u["description"] for u in page(page="1").json] == ["Note 1.", "Note 2."]
    assert [u["description"] for u in page(page="3").json] == ["Note 5."]
    assert page(page="4").json == []  # past the end: empty, not the last page again
    assert etree.fromstring(page("xml", page="2").data).xpath(
        "request_update/description/text()"
    ) == ["Note 3.", "Note 4."]

    # A window with more updates than we answer at once is a 400 that says what to do,
    # never a silently shortened list (FixMyStreet would lose the rest).
    monkeypatch.setattr(workflow_queries, "WHOLE_WINDOW_LIMIT", 4)
    for suffix in ("json", "xml"):
        refused = client.get(
            f"/open311/v2/servicerequestupdates.{suffix}", query_string={"api_key": api_key}
        )
        assert refused.status_code == 400
        text = refused.data.decode()
        assert "more than 4 updates in this window" in text
        assert "page=1" in text
    assert len(page(page="1").json) == 2  # pages still work

    for args in ({"page": "0"}, {"page": "first"}, {"page_size": "-3"}):
        refused = client.get(
            "/open311/v2/servicerequestupdates.json", query_string={"api_key": api_key, **args}
        )
        assert refused.status_code == 400, args
        assert refused.json[0]["description"].startswith(next(iter(args)))


def test_get_needs_a_key(client):
    assert client.get("/open311/v2/servicerequestupdates.json").status_code == 403
    assert client.get("/open311/v2/servicerequestupdates.xml?api_key=wrong").status_code == 403


def test_a_fixmystreet_update_adds_a_public_note_without_the_commenter(
    app, client, api_key, other_key, supervisor, number
):
    response = client.post(
        "/open311/v2/servicerequestupdates.xml", data=fms_update(api_key, number)
    )
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    assert root.tag == "service_request_updates"
    update_id = root.findtext("request_update/update_id")

    seen = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json[0]
    assert seen["status"] == "open"
    assert seen["notes"][-1] == {
        "datetime": seen["updated_datetime"],
        "summary": "Update from the reporter",
        "type": "partner_update",
        "description": "It is still there and getting bigger.",
    }
    # The partner does not get its own update back; another key (or FixMyStreet's
    # other cobrand) does, as a plain OPEN note with the photo.
    assert updates(client, api_key).json == []
    [theirs] = updates(client, other_key).json
    assert theirs == {
        "update_id": update_id,
        "service_request_id": number,
        "status": "OPEN",
        "updated_datetime": seen["updated_datetime"],
        "description": "It is still there and getting bigger.",
        "media_url": "https://fixmystreet.example/photo/c/8841.0.full.jpeg",
    }
    staff_view = client.get(f"/open311/staff/requests/{number}", headers=bearer(supervisor)).text
    for body in (
        client.get(f"/open311/v2/requests/{number}.xml?extensions=true").text,
        updates(client, other_key, "xml").text,
        staff_view,
    ):
        assert "jo.fms@example.org" not in body
        assert "07700900123" not in body
    assert '"partner_datetime":"2026-12-03T10:15:07+00:00"' in staff_view


def test_a_replayed_update_is_stored_once_and_gets_the_same_update_id(app, client, api_key, number):
    first = client.post("/open311/v2/servicerequestupdates.json", data=fms_update(api_key, number))
    before = counts(app)
    again = client.post("/open311/v2/servicerequestupdates.json", data=fms_update(api_key, number))
    assert again.status_code == 200
    assert again.json == first.json
    assert counts(app) == before
    other = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, description="Other")
    ).json[0]["service_request_id"]
    clash = client.post("/open311/v2/servicerequestupdates.json", data=fms_update(api_key, other))
    assert clash.status_code == 409
    assert counts(app)[1] == before[1]


@pytest.mark.parametrize("status", ["CLOSED", "FIXED", "fixed", "NOT_COUNCILS_RESPONSIBILITY"])
def test_a_partner_never_closes_our_request(app, client, api_key, supervisor, number, status):
    response = client.post(
        "/open311/v2/servicerequestupdates.json", data=fms_update(api_key, number, status=status)
    )
    assert response.status_code == 200
    assert client.get(f"/open311/v2/requests/{number}.json").json[0]["status"] == "open"
    work = client.get(f"/open311/staff/requests/{number}", headers=bearer(supervisor)).json
    assert work["stage"] == "new"
    assert work["history"][-1]["details"]["status"] == status.upper()


@pytest.mark.parametrize("status", ["OPEN", "REOPEN"])
def test_open_or_reopen_on_a_closed_request_reopens_it_for_review(
    client, api_key, supervisor, number, status
):
    act(client, supervisor, number, "close", reason="completed", public_note="Pothole patched.")
    response = client.post(
        "/open311/v2/servicerequestupdates.json",
        data=fms_update(api_key, number, status=status, description="Not fixed at all."),
    )
    assert response.status_code == 200
    seen = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json[0]
    assert (seen["status"], seen["status_notes"]) == ("open", "Not fixed at all.")
    assert seen["notes"][-1]["type"] == "reopen_for_review"
    work = client.get(f"/open311/staff/requests/{number}", headers=bearer(supervisor)).json
    assert work["stage"] == "reopened"
    assert work["history"][-1]["id"] == int(response.json[0]["update_id"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_request_id": None}, "service_request_id"),
        ({"update_id": None}, "update_id"),
        ({"update_id": "x" * 65}, "update_id"),
        ({"status": None}, "status"),
        ({"status": "BROKEN"}, "status"),
        ({"updated_datetime": "03/12/2026"}, "updated_datetime"),
        ({"media_url": "photo.jpeg"}, "media_url"),
        ({"description": "x" * 4001}, "description"),
    ],
)
def test_bad_updates_are_400_naming_the_field_and_store_nothing(
    app, client, api_key, number, change, field
):
    before = counts(app)
    response = client.post(
        "/open311/v2/servicerequestupdates.xml", data=fms_update(api_key, number, **change)
    )
    assert response.status_code == 400
    descriptions = etree.fromstring(response.data).xpath("error/description/text()")
    assert any(d.startswith(f"{field}:") for d in descriptions), descriptions
    assert counts(app) == before


def test_only_the_filing_key_updates_a_request(app, client, api_key, other_key, number):
    before = counts(app)
    assert (
        client.post(
            "/open311/v2/servicerequestupdates.json", data=fms_update(other_key, number)
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/open311/v2/servicerequestupdates.json", data=fms_update(None, number)
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/open311/v2/servicerequestupdates.json", data=fms_update(api_key, "SR26-99999999")
        ).status_code
        == 404
    )
    assert counts(app) == before


def test_copies_of_one_update_racing_are_stored_once(app, client, api_key, number):
    """FixMyStreet retries on a timeout: copies may arrive together."""
    copies = 4
    replies: list[tuple[int, bytes]] = []
    barrier = threading.Barrier(copies)

    def send() -> None:
        racer = app.test_client()
        barrier.wait()
        response = racer.post(
            "/open311/v2/servicerequestupdates.json", data=fms_update(api_key, number)
        )
        replies.append((response.status_code, response.data))

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(replies) == copies
    assert {status for status, _ in replies} == {200}
    assert len({body for _, body in replies}) == 1
    assert counts(app)[1] == 1
    with app.app_context():
        partner_rows = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RequestEvent)
            .where(RequestEvent.action == "partner_update")
        )
    assert partner_rows == 1


def test_several_photos_keep_the_first_and_the_jurisdiction_is_checked(
    client, api_key, other_key, number
):
    form = fms_update(api_key, number)
    form["media_url"] = [
        "https://fixmystreet.example/photo/1.jpeg",
        "https://fixmystreet.example/photo/2.jpeg",
    ]
    assert client.post("/open311/v2/servicerequestupdates.json", data=form).status_code == 200
    [update] = updates(client, other_key).json
    assert update["media_url"] == "https://fixmystreet.example/photo/1.jpeg"
    wrong = client.post(
        "/open311/v2/servicerequestupdates.json",
        data=fms_update(api_key, number, jurisdiction_id="other.gov"),
    )
    assert wrong.status_code == 404
