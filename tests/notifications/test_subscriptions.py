"""Who follows what: filing subscribes the filer, residents follow requests, areas and
circles, partners register webhooks; every public change queues notifications in the
transaction of the change, and unsubscribe links work without login (a button on the
page they open: opening it changes nothing)."""

from __future__ import annotations

import sqlalchemy as sa
from lxml import etree

from open311.extensions import db
from open311.models import Channel, DeliveryState, Subscription
from tests.builders import CITY_HALL, bearer, make_staff, pothole_form
from tests.conftest import new_api_key
from tests.notifications.conftest import (
    ANONYMOUS,
    confirm,
    news,
    notifications,
    press_the_button,
)

CDOT = "CDOT - Department of Transportation"
WRIGLEY_FIELD = {"lat": "41.948438", "long": "-87.655333"}  # ward 44, far from City Hall


def file(client, api_key, **overrides):
    response = client.post("/open311/v2/requests.json", data=pothole_form(api_key, **overrides))
    assert response.status_code == 200, response.json
    return response.json[0]["service_request_id"]


def subscriptions(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Subscription).order_by(Subscription.id)).all()
        db.session.expunge_all()
        return list(rows)


def load_areas(app):
    result = app.test_cli_runner().invoke(args=["open311", "load-chicago-areas"])
    assert result.exit_code == 0, result.output


def test_filing_with_an_email_and_a_phone_follows_the_request_and_queues_its_filing(
    app, client, api_key
):
    number = file(client, api_key)
    followers = subscriptions(app)
    assert {(s.channel, s.address) for s in followers} == {
        (Channel.EMAIL, "resident@example.org"),
        (Channel.SMS, "3125550100"),
        (Channel.ACCOUNT, "account-1"),
    }
    queued = notifications(app)
    # The account is told through its partner's accounts webhook: this partner has none.
    assert sorted(n.channel.value for n in queued) == ["email", "sms"]
    assert {n.payload["action"] for n in queued} == {"filed"}
    assert {n.payload["service_request_id"] for n in queued} == {number}
    assert len({n.key for n in queued}) == 2
    assert all(n.payload["notification_id"] == n.key for n in queued)


def test_a_replayed_post_queues_nothing_twice(app, client, api_key):
    form = pothole_form(api_key)
    first = client.post("/open311/v2/requests.json", data=form).json
    again = client.post("/open311/v2/requests.json", data=form).json
    assert first == again
    assert len(subscriptions(app)) == 3
    assert len(notifications(app)) == 2


def test_each_public_change_is_queued_with_the_change_and_internal_notes_are_not(
    app, client, api_key
):
    number = file(client, api_key, phone=None, account_id=None)
    agent = make_staff(app, "agent", CDOT, email="agent@cdot.example")
    act = lambda action, **fields: client.post(  # noqa: E731
        f"/open311/staff/requests/{number}/{action}", json=fields, headers=bearer(agent)
    )
    assert act("acknowledge", public_note="We have your report.").status_code == 200
    assert act("note", internal_note="crew says it is deep").status_code == 200
    assert act("schedule", scheduled_for="2031-05-04").status_code == 200
    assert act("close", reason="completed", public_note="Patched.").status_code == 200
    queued = [n.payload for n in notifications(app)]
    assert [(p["action"], p["summary"], p["note"]) for p in queued] == [
        ("filed", "Request filed", None),
        ("acknowledge", "Request acknowledged", "We have your report."),
        ("schedule", "Work scheduled for 2031-05-04", None),
        ("close", "Request closed (completed)", "Patched."),
    ]
    assert queued[-1]["status"] == "closed"
    assert "crew says" not in str(queued)


def test_a_failed_change_queues_nothing(app, client, api_key):
    number = file(client, api_key, phone=None, account_id=None)
    agent = make_staff(app, "agent", CDOT, email="agent@cdot.example")
    before = len(notifications(app))
    refused = client.post(f"/open311/staff/requests/{number}/start", json={}, headers=bearer(agent))
    assert refused.status_code == 409
    assert len(notifications(app)) == before


def test_a_resident_follows_a_request_in_json_and_xml_once(app, client, api_key):
    number = file(client, api_key, **ANONYMOUS)
    url = f"/open311/v2/requests/{number}/subscriptions"
    created = client.post(
        f"{url}.json", data={"api_key": api_key, "email": "Neighbour@Example.org"}
    )
    assert created.status_code == 201
    [entry] = created.json
    assert (entry["channel"], entry["follows"], entry["value"], entry["radius"]) == (
        "email",
        "service_request",
        number,
        None,
    )
    assert entry["state"] == "pending"  # until the address's owner confirms
    again = client.post(f"{url}.xml", data={"api_key": api_key, "email": "neighbour@example.org"})
    assert again.status_code == 201
    assert (
        etree.fromstring(again.data).findtext("subscription/subscription_id")
        == entry["subscription_id"]
    )
    assert etree.fromstring(again.data).findtext("subscription/state") == "pending"
    assert b"neighbour@example.org" not in again.data  # who follows is private
    assert [(s.channel, s.address) for s in subscriptions(app)] == [
        (Channel.EMAIL, "neighbour@example.org")
    ]


def test_bad_follows_are_refused_in_the_callers_format_and_store_nothing(app, client, api_key):
    number = file(client, api_key, **ANONYMOUS)
    url = f"/open311/v2/requests/{number}/subscriptions"
    cases = [
        (f"{url}.json", {"api_key": api_key}, 400, "exactly one of email"),
        (
            f"{url}.json",
            {"api_key": api_key, "email": "a@example.org", "phone": "3125550100"},
            400,
            "exactly one",
        ),
        (f"{url}.json", {"api_key": api_key, "email": "not-an-email"}, 400, "email"),
        (f"{url}.json", {"api_key": api_key, "phone": "call me"}, 400, "phone"),
        (f"{url}.json", {"email": "a@example.org"}, 403, "api_key"),
        (f"{url}.json", {"api_key": "wrong", "email": "a@example.org"}, 403, "api_key"),
        (
            "/open311/v2/requests/SR99-00000001/subscriptions.json",
            {"api_key": api_key, "email": "a@example.org"},
            404,
            "SR99",
        ),
    ]
    for path, form, status, words in cases:
        response = client.post(path, data=form)
        assert response.status_code == status, (form, response.json)
        assert words in response.json[0]["description"]
    xml = client.post(f"{url}.xml", data={"api_key": api_key})
    assert xml.status_code == 400
    assert etree.fromstring(xml.data).findtext("error/code") == "400"
    assert subscriptions(app) == []


def test_area_and_radius_subscribers_hear_of_new_requests_in_their_area_only(app, client, api_key):
    load_areas(app)
    ward = client.post(
        "/open311/v2/subscriptions.json",
        data={"api_key": api_key, "email": "ward42@example.org", "ward": "42"},
    )
    circle = client.post(
        "/open311/v2/subscriptions.xml",
        data={"api_key": api_key, "phone": "3125550111", "radius": "300", **CITY_HALL},
    )
    service = client.post(
        "/open311/v2/subscriptions.json",
        data={"api_key": api_key, "account_id": "fan-1", "service_code": "GRAF"},
    )
    assert (ward.status_code, circle.status_code, service.status_code) == (201, 201, 201)
    assert ward.json[0]["follows"] == "ward"
    assert ward.json[0]["value"] == "42"
    assert etree.fromstring(circle.data).findtext("subscription/radius") == "300.0"
    assert [ward.json[0]["state"], service.json[0]["state"]] == [
        "pending",
        "active",
    ]  # account_id: at once
    confirm(app, client, ward.json[0]["subscription_id"])
    confirm(app, client, etree.fromstring(circle.data).findtext("subscription/subscription_id"))
    at_city_hall = file(client, api_key, **ANONYMOUS)
    far_away = file(client, api_key, **ANONYMOUS, **WRIGLEY_FIELD)
    told = {(n.address, n.payload["service_request_id"]) for n in news(app)}
    assert told == {("ward42@example.org", at_city_hall), ("3125550111", at_city_hall)}
    assert far_away not in str(told)


def test_bad_area_subscriptions_are_refused(app, client, api_key):
    load_areas(app)
    base = {"api_key": api_key, "email": "a@example.org"}
    cases = [
        ({}, 400, "follow exactly one"),
        ({"ward": "42", "community_area": "32"}, 400, "follow exactly one"),
        ({"ward": "99"}, 400, "no ward '99'"),
        ({"radius": "300"}, 400, "lat and long, or address_string"),
        ({"lat": "41.88", "long": "-87.63"}, 400, "radius"),
        ({"radius": "90000", **CITY_HALL}, 400, "radius"),
        ({"radius": "300", "lat": "40.7", "long": "-74.0"}, 400, "outside"),
        ({"service_code": "NOPE"}, 404, "NOPE"),
    ]
    for form, status, words in cases:
        response = client.post("/open311/v2/subscriptions.json", data={**base, **form})
        assert response.status_code == status, (form, response.json)
        assert words in " ".join(e["description"] for e in response.json), response.json
    assert subscriptions(app) == []


def test_a_partner_registers_lists_and_deletes_webhooks(app, client, api_key, receiver):
    load_areas(app)
    number = file(client, api_key, **ANONYMOUS)
    created = client.post(
        "/open311/v2/webhooks.xml",
        data={
            "api_key": api_key,
            "url": receiver.url("/hook"),
            "service_code": "GRAF",
            "ward": "42",
            "service_request_id": number,
        },
    )
    assert created.status_code == 201
    hook = etree.fromstring(created.data).find("webhook")
    secret, webhook_id = hook.findtext("secret"), hook.findtext("webhook_id")
    assert secret.startswith("whsec_")
    assert hook.xpath("filters/filter/follows/text()") == ["service", "ward", "service_request"]
    listed = client.get(f"/open311/v2/webhooks.json?api_key={api_key}")
    assert [w["webhook_id"] for w in listed.json] == [webhook_id]
    assert "secret" not in listed.json[0]
    assert secret.encode() not in listed.data
    one = client.get(f"/open311/v2/webhooks/{webhook_id}.json", headers=bearer(api_key))
    assert one.json[0]["filters"][2] == {"follows": "service_request", "value": number}
    deleted = client.delete(f"/open311/v2/webhooks/{webhook_id}.json", headers=bearer(api_key))
    assert deleted.status_code == 200
    assert deleted.json[0]["deleted_datetime"]
    assert client.get(f"/open311/v2/webhooks.json?api_key={api_key}").json == []
    assert client.get(f"/open311/v2/webhooks/{webhook_id}.xml?api_key={api_key}").status_code == 404


def test_another_partners_webhook_is_not_found(app, client, api_key, receiver):
    hook = client.post(
        "/open311/v2/webhooks.json",
        data={"api_key": api_key, "url": receiver.url("/a"), "service_code": "PHF"},
    ).json[0]
    other = new_api_key(app, "Other partner")
    for method in ("get", "delete"):
        response = getattr(client, method)(
            f"/open311/v2/webhooks/{hook['webhook_id']}.json", headers=bearer(other)
        )
        assert response.status_code == 404
    assert client.get("/open311/v2/webhooks.json", headers=bearer(other)).json == []


def test_bad_webhooks_are_refused_and_store_nothing(app, client, api_key):
    base = {"api_key": api_key, "url": "https://partner.example/hook"}
    cases = [
        ({"url": "", "service_code": "PHF"}, 400, "url"),
        ({"url": "ftp://partner.example/x", "service_code": "PHF"}, 400, "url"),
        ({}, 400, "Say what to send"),
        ({"accounts": "maybe", "service_code": "PHF"}, 400, "accounts"),
        ({"service_code": "NOPE"}, 404, "NOPE"),
        ({"service_request_id": "SR99-00000001"}, 404, "SR99-00000001"),
        ({"ward": "42"}, 400, "no ward '42'"),  # no areas loaded in this test
        ({"service_request_id": ",".join(f"SR26-{i:08d}" for i in range(101))}, 400, "at most 100"),
    ]
    for form, status, words in cases:
        response = client.post("/open311/v2/webhooks.json", data={**base, **form})
        assert response.status_code == status, (form, response.json)
        assert words in " ".join(e["description"] for e in response.json), response.json
    assert (
        client.post(
            "/open311/v2/webhooks.json", data={"url": base["url"], "service_code": "PHF"}
        ).status_code
        == 403
    )
    assert client.get("/open311/v2/webhooks.json").status_code == 403
    assert subscriptions(app) == []


def test_an_account_follower_is_told_through_its_partners_accounts_webhook(
    app, client, api_key, receiver
):
    client.post(
        "/open311/v2/webhooks.json",
        data={"api_key": api_key, "url": receiver.url("/accounts"), "accounts": "true"},
    )
    number = file(client, api_key, email=None, phone=None)
    [queued] = notifications(app)
    assert (queued.channel, queued.payload["account_id"], queued.payload["service_request_id"]) == (
        Channel.WEBHOOK, "account-1", number,
    )  # fmt: skip


def test_two_partners_users_with_the_same_account_id_are_two_followers(
    app, client, api_key, receiver
):
    other_key = new_api_key(app, "Second partner")
    load_areas(app)
    for key, path in ((api_key, "/first"), (other_key, "/second")):
        client.post(
            "/open311/v2/webhooks.json",
            data={"api_key": key, "url": receiver.url(path), "accounts": "true"},
        )
    first = client.post(
        "/open311/v2/subscriptions.json", data={"api_key": api_key, "account_id": "7", "ward": "42"}
    )
    second = client.post(
        "/open311/v2/subscriptions.json",
        data={"api_key": other_key, "account_id": "7", "ward": "42"},
    )
    again = client.post(
        "/open311/v2/subscriptions.json",
        data={"api_key": other_key, "account_id": "7", "ward": "42"},
    )
    assert (first.status_code, second.status_code) == (201, 201)
    ids = [r.json[0]["subscription_id"] for r in (first, second, again)]
    assert ids[0] != ids[1]
    assert ids[1] == ids[2]
    at_city_hall = file(client, api_key, **ANONYMOUS)
    told = [
        (n.webhook_id, n.payload["account_id"])
        for n in news(app)
        if n.payload["service_request_id"] == at_city_hall
    ]
    assert len(told) == 2
    assert len({hook for hook, _ in told}) == 2
    assert {account for _, account in told} == {"7"}


def test_unsubscribe_links_show_a_button_that_works_without_login_and_twice(app, client, api_key):
    from open311.notifications.subscriptions import LinkKeys, unsubscribe_token

    number = file(client, api_key, phone=None, account_id=None)
    [follow] = subscriptions(app)
    path = f"/open311/unsubscribe/{unsubscribe_token(LinkKeys.from_config(app.config), follow.id)}"
    for _ in range(3):  # a mail scanner or a link preview opens it: nothing happens
        page = client.get(path)
        assert page.status_code == 200
        assert page.content_type.startswith("text/html")
        assert b"Stop these messages?" in page.data
        assert number.encode() in page.data
    assert subscriptions(app)[0].cancelled_at is None
    assert [n.state for n in notifications(app)] == [DeliveryState.PENDING]

    assert b"You are unsubscribed" in press_the_button(client, path).data
    again = client.post(path)
    assert again.status_code == 200
    assert b"You are unsubscribed" in again.data
    assert subscriptions(app)[0].cancelled_at is not None
    assert [n.state for n in notifications(app)] == [
        DeliveryState.CANCELLED
    ]  # queued, now never sent
    opened = client.get(path)  # unsubscribed already: it says so, no button
    assert b"You are unsubscribed" in opened.data
    assert b"<form" not in opened.data
    for method in ("get", "post"):
        forged = getattr(client, method)(f"{path[:-2]}xx")
        assert forged.status_code == 404
        assert b"not valid" in forged.data
        signed_elsewhere = unsubscribe_token(LinkKeys("another-secret"), follow.id)
        assert (
            getattr(client, method)(f"/open311/unsubscribe/{signed_elsewhere}").status_code == 404
        )


def test_the_cli_registers_lists_and_deletes_a_webhook(app, receiver):
    from tests.conftest import create_key

    with app.app_context():
        api_key, _ = create_key(db.session(), "CLI partner")
        db.session.commit()
        key_id = api_key.id
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=["open311", "add-webhook", str(key_id), receiver.url("/cli"), "--service-code", "PHF"]
    )
    assert added.exit_code == 0, added.output
    assert "signing secret: whsec_" in added.output
    listed = runner.invoke(args=["open311", "list-webhooks", str(key_id)])
    assert receiver.url("/cli") in listed.output
    webhook_id = listed.output.split("\t")[0]
    assert runner.invoke(args=["open311", "delete-webhook", str(key_id), webhook_id]).exit_code == 0
    assert runner.invoke(args=["open311", "list-webhooks", str(key_id)]).output == ""
    bad = runner.invoke(
        args=["open311", "add-webhook", str(key_id), receiver.url("/cli"), "--service-code", "NOPE"]
    )
    assert bad.exit_code != 0
    assert "NOPE" in bad.output
    assert runner.invoke(args=["open311", "list-webhooks", "999"]).exit_code != 0


def test_a_request_under_review_tells_its_area_only_once_the_city_accepts_it(app, client, api_key):
    from tests.areas.test_areas import CITY_HALL as CITY_HALL_AREAS

    load_areas(app)
    ward = client.post(
        "/open311/v2/subscriptions.json",
        data={"api_key": api_key, "email": "ward@example.org", "ward": CITY_HALL_AREAS["ward"]},
    )
    confirm(app, client, ward.json[0]["subscription_id"])
    form = {
        "api_key": api_key,
        "service_code": "BBA",
        **CITY_HALL,
        "description": "Porch collapsing",
        "email": "filer@example.org",
    }
    assert client.post("/open311/v2/requests.json", data=form).status_code == 200
    assert news(app) == []  # not public yet: nobody is told, the filer follows
    [filer] = [s for s in subscriptions(app) if s.address == "filer@example.org"]
    with app.app_context():
        from open311.models import ServiceRequest

        number = db.session.scalar(
            sa.select(ServiceRequest.number).where(ServiceRequest.id == filer.service_request_id)
        )
    result = app.test_cli_runner().invoke(
        args=["open311", "review", number, "--accept", "--note", "Inspection scheduled"]
    )
    assert result.exit_code == 0, result.output
    told = {(n.address, n.payload["action"], n.payload["note"]) for n in news(app)}
    assert told == {
        ("filer@example.org", "accept", "Inspection scheduled"),
        ("ward@example.org", "accept", "Inspection scheduled"),
    }


def test_a_rejected_request_tells_its_filer_and_no_one_else(app, client, api_key):
    load_areas(app)
    ward = client.post(
        "/open311/v2/subscriptions.json",
        data={"api_key": api_key, "email": "ward@example.org", "ward": "42"},
    )
    confirm(app, client, ward.json[0]["subscription_id"])
    form = {
        "api_key": api_key,
        "service_code": "BBA",
        **CITY_HALL,
        "description": "Porch",
        "email": "filer@example.org",
    }
    client.post("/open311/v2/requests.json", data=form)
    [filer] = [s for s in subscriptions(app) if s.address == "filer@example.org"]
    with app.app_context():
        from open311.models import ServiceRequest

        number = db.session.scalar(
            sa.select(ServiceRequest.number).where(ServiceRequest.id == filer.service_request_id)
        )
    app.test_cli_runner().invoke(
        args=["open311", "review", number, "--reject", "--note", "Not a city building"]
    )
    assert [(n.address, n.payload["action"]) for n in news(app)] == [
        ("filer@example.org", "reject")
    ]


def test_a_partners_public_update_is_told_and_a_citation_is_not(app, client, api_key):
    """History rows beside the workflow (record()) notify only what the public may see."""
    from tests.georeport.test_servicerequestupdates import fms_update

    number = file(client, api_key, phone=None, account_id=None)
    agent = make_staff(app, "agent", CDOT, email="agent@cdot.example")
    cited = client.post(
        f"/open311/staff/requests/{number}/citations",
        json={
            "party_kind": "business", "party_name": "Acme Paving", "licence_number": "BL-2291", "violation_code": "10-20-100",
            "cited_on": "2026-12-01", "fine_amount": "250.00",
        },
        headers=bearer(agent),
    )  # fmt: skip
    assert cited.status_code == 201, cited.json
    updated = client.post(
        "/open311/v2/servicerequestupdates.json", data=fms_update(api_key, number)
    )
    assert updated.status_code == 200, updated.json
    queued = [n.payload for n in notifications(app)]
    assert [(p["action"], p["note"]) for p in queued] == [
        ("filed", None),
        ("partner_update", "It is still there and getting bigger."),
    ]
    assert "Acme" not in str(queued)
    assert "jo.fms" not in str(queued)
