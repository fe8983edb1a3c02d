"""Double opt-in: an email or phone subscribed through the API gets one confirmation
message (through the outbox, the worker and a real SMTP server) and nothing else until
its owner presses the button on the page its link opens (opening the link alone changes
nothing: mail scanners open every link in a message); forged links are 404 pages, old ones expire, and asking
again sends at most one confirmation an hour. The filer's own address and a partner's
account_id need no confirmation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from lxml import etree

from open311.extensions import db
from open311.models import Notification, NotificationKind, Subscription
from open311.models.base import utcnow
from open311.notifications.subscriptions import LinkKeys, confirmation_token, unsubscribe_token
from tests.builders import bearer, make_staff, pothole_form
from tests.notifications.conftest import (
    ANONYMOUS,
    news,
    notifications,
    press_the_button,
    row_id,
    send_outbox,
)

CDOT = "CDOT - Department of Transportation"
NEIGHBOUR = "neighbour@example.org"
CONFIRM_LINK = re.compile(r"http://localhost(/open311/confirm/\S+)")


def file(client, api_key, **overrides):
    response = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, **{**ANONYMOUS, **overrides})
    )
    assert response.status_code == 200, response.json
    return response.json[0]["service_request_id"]


def follow(client, api_key, number, fmt="json", **who):
    response = client.post(
        f"/open311/v2/requests/{number}/subscriptions.{fmt}", data={"api_key": api_key, **who}
    )
    assert response.status_code == 201, response.data
    return response


def act(app, client, number, action, **fields):
    token = make_staff(app, "agent", CDOT, email=f"{action}@cdot.example")
    response = client.post(
        f"/open311/staff/requests/{number}/{action}", json=fields, headers=bearer(token)
    )
    assert response.status_code == 200, response.json


def confirm_path(message) -> str:
    [path] = CONFIRM_LINK.findall(message.get_content())
    return path


def the_subscription(app, subscription_id: str | int) -> Subscription:
    """The subscription a reply names (its public id), or the one stored under this id."""
    stored_id = (
        subscription_id if isinstance(subscription_id, int) else row_id(app, subscription_id)
    )
    with app.app_context():
        subscription = db.session.get(Subscription, stored_id)
        db.session.expunge_all()
        return subscription


def stored(app):
    """Every row of the subscription and notification tables, as they are now."""
    with app.app_context():
        return [
            db.session.execute(sa.select(model.__table__).order_by(model.id)).all()
            for model in (Subscription, Notification)
        ]


def sent_back(app, subscription_id: str, ago: timedelta) -> None:
    """As if the subscription's last confirmation had been sent `ago`."""
    stored_id = row_id(app, subscription_id)
    with app.app_context():
        db.session.execute(
            sa.update(Subscription)
            .where(Subscription.id == stored_id)
            .values(confirmation_sent_at=utcnow() - ago)
        )
        db.session.commit()


def test_a_pending_email_gets_only_the_confirmation_until_the_link_is_followed(
    app, client, api_key, mailbox
):
    number = file(client, api_key)
    [entry] = follow(client, api_key, number, email=NEIGHBOUR).json
    assert entry["state"] == "pending"
    assert send_outbox(app).delivered == 1
    [confirmation] = mailbox.messages
    assert confirmation["To"] == NEIGHBOUR
    assert confirmation["Subject"] == "Please confirm your subscription"
    assert confirmation["List-Unsubscribe"] is None  # nothing to stop yet
    body = confirmation.get_content()
    assert f"Someone asked for updates about service request {number} to be sent" in body
    assert "If it was not you, ignore this message" in body
    [row] = notifications(app)
    assert (row.kind, row.service_request_id, row.payload["follows"]) == (
        NotificationKind.CONFIRMATION, None, f"service request {number}",
    )  # fmt: skip

    act(app, client, number, "acknowledge", public_note="We have your report.")
    assert news(app) == []  # the change is not even queued for a pending address
    send_outbox(app)
    assert len(mailbox.messages) == 1

    page = press_the_button(client, confirm_path(confirmation))
    assert page.status_code == 200
    assert page.content_type.startswith("text/html")
    assert b"Subscription confirmed" in page.data
    assert f"service request {number}".encode() in page.data
    # Asked again, the reply is the one any address gets (issue 14: it tells nothing of
    # who follows what); nothing more is sent, as the address follows already.
    assert follow(client, api_key, number, email=NEIGHBOUR).json[0]["state"] == "pending"
    assert len(notifications(app, kind=NotificationKind.CONFIRMATION)) == 1

    act(app, client, number, "schedule", scheduled_for="2031-05-04")
    assert send_outbox(app).delivered == 1
    [_, update] = mailbox.messages
    assert update["To"] == NEIGHBOUR
    assert update["Subject"] == f"Work scheduled for 2031-05-04 ({number})"
    assert "/open311/unsubscribe/" in update["List-Unsubscribe"]
    again = client.get(confirm_path(confirmation))  # confirmed already: it says so, no button
    assert again.status_code == 200
    assert b"Subscription confirmed" in again.data
    assert b"<form" not in again.data
    assert client.post(confirm_path(confirmation)).status_code == 200


def test_opening_the_confirmation_link_changes_nothing_until_its_button_is_pressed(
    app, client, api_key, mailbox
):
    number = file(client, api_key)
    [entry] = follow(client, api_key, number, email=NEIGHBOUR).json
    send_outbox(app)
    path = confirm_path(mailbox.messages[0])
    before = stored(app)
    for _ in range(3):  # a mail scanner, a link preview, then the owner reading the page
        page = client.get(path)
        assert page.status_code == 200
        assert b"Confirm your subscription" in page.data
        assert f"Updates about service request {number} will be sent".encode() in page.data
        assert b"Subscription confirmed" not in page.data
    assert client.head(path).status_code == 200
    assert stored(app) == before
    assert the_subscription(app, entry["subscription_id"]).confirmed_at is None
    act(app, client, number, "acknowledge", public_note="Seen.")
    assert news(app) == []  # still pending: nothing is queued for it

    pressed = press_the_button(client, path)
    assert pressed.status_code == 200
    assert b"Subscription confirmed" in pressed.data
    assert the_subscription(app, entry["subscription_id"]).confirmed_at is not None
    act(app, client, number, "schedule", scheduled_for="2031-05-04")
    assert [n.address for n in news(app)] == [NEIGHBOUR]


def test_a_pending_service_follower_hears_of_new_requests_only_once_confirmed(
    app, client, api_key, mailbox
):
    response = client.post(
        "/open311/v2/subscriptions.xml",
        data={"api_key": api_key, "email": NEIGHBOUR, "service_code": "PHF"},
    )
    assert response.status_code == 201
    entry = etree.fromstring(response.data).find("subscription")
    assert entry.findtext("state") == "pending"
    before = file(client, api_key)
    send_outbox(app)
    [confirmation] = mailbox.messages
    assert "updates about new Pothole in Street Complaint requests" in confirmation.get_content()
    assert news(app) == []
    assert press_the_button(client, confirm_path(confirmation)).status_code == 200
    after = file(client, api_key, description="Another pothole")
    send_outbox(app)
    assert [m["Subject"] for m in mailbox.messages[1:]] == [f"Request filed ({after})"]
    assert before not in str([m["Subject"] for m in mailbox.messages])


def test_a_pending_phone_gets_one_text_with_the_link(app, client, api_key, sms):
    number = file(client, api_key)
    [entry] = follow(client, api_key, number, phone="3125550199").json
    assert entry["state"] == "pending"
    act(app, client, number, "acknowledge", public_note="Seen.")
    send_outbox(app)
    [(phone, text, _)] = sms.sent
    assert phone == "3125550199"
    assert "/open311/confirm/" in text
    assert "acknowledged" not in text
    [path] = re.findall(r"http://localhost(/open311/confirm/\S+)", text)
    assert press_the_button(client, path).status_code == 200
    act(app, client, number, "schedule", scheduled_for="2031-05-04")
    send_outbox(app)
    assert len(sms.sent) == 2
    assert "Work scheduled" in sms.sent[1][1]


def test_forged_confirmation_links_are_404_pages(app, client, api_key):
    number = file(client, api_key)
    [entry] = follow(client, api_key, number, email=NEIGHBOUR).json
    secret, subscription_id = (
        LinkKeys.from_config(app.config),
        row_id(app, entry["subscription_id"]),
    )
    token = confirmation_token(secret, subscription_id)
    forged = [
        f"{token[:-2]}xx",  # tampered
        confirmation_token(LinkKeys("another-secret"), subscription_id),  # signed with another key
        unsubscribe_token(secret, subscription_id),  # a real token, for the other link
        confirmation_token(secret, subscription_id + 1000),  # names nothing
        "not-a-token",
    ]
    for bad in forged:
        for method in ("get", "post"):
            page = getattr(client, method)(f"/open311/confirm/{bad}")
            assert page.status_code == 404, (bad, page.data)
            assert b"This link is not valid" in page.data
            assert page.content_type.startswith("text/html")
    assert the_subscription(app, subscription_id).confirmed_at is None
    assert (
        press_the_button(client, f"/open311/confirm/{token}").status_code == 200
    )  # the real one works


def test_an_unconfirmed_subscription_expires_and_asking_again_sends_a_new_link(
    app, client, api_key, mailbox
):
    number = file(client, api_key)
    [entry] = follow(client, api_key, number, email=NEIGHBOUR).json
    send_outbox(app)
    [first] = mailbox.messages
    sent_back(
        app, entry["subscription_id"], timedelta(days=7, minutes=1)
    )  # CONFIRMATION_VALID_DAYS = 7
    for method in ("get", "post"):
        expired = getattr(client, method)(confirm_path(first))
        assert expired.status_code == 410
        assert b"This link has expired" in expired.data
    act(app, client, number, "acknowledge", public_note="Seen.")
    assert news(app) == []  # expired is not confirmed
    [again] = follow(client, api_key, number, email=NEIGHBOUR).json
    assert (again["subscription_id"], again["state"]) == (entry["subscription_id"], "pending")
    send_outbox(app)
    [_, second] = mailbox.messages
    assert confirm_path(second) == confirm_path(first)  # the same subscription, a new week
    assert press_the_button(client, confirm_path(second)).status_code == 200


def test_a_link_within_its_week_still_works(app, client, api_key, mailbox):
    number = file(client, api_key)
    [entry] = follow(client, api_key, number, email=NEIGHBOUR).json
    send_outbox(app)
    sent_back(app, entry["subscription_id"], timedelta(days=6, hours=23))
    assert press_the_button(client, confirm_path(mailbox.messages[0])).status_code == 200


def test_a_cancelled_subscription_cannot_be_confirmed(app, client, api_key):
    number = file(client, api_key)
    [entry] = follow(client, api_key, number, email=NEIGHBOUR).json
    secret, subscription_id = (
        LinkKeys.from_config(app.config),
        row_id(app, entry["subscription_id"]),
    )
    assert (
        client.post(
            f"/open311/unsubscribe/{unsubscribe_token(secret, subscription_id)}"
        ).status_code
        == 200
    )
    for method in ("get", "post"):
        page = getattr(client, method)(
            f"/open311/confirm/{confirmation_token(secret, subscription_id)}"
        )
        assert page.status_code == 410
        assert b"cancelled" in page.data
    assert the_subscription(app, subscription_id).confirmed_at is None
    assert send_outbox(app).delivered == 0  # its queued confirmation is not sent either


def test_asking_again_sends_at_most_one_confirmation_an_hour(app, client, api_key, mailbox):
    number = file(client, api_key)
    [entry] = follow(client, api_key, number, email=NEIGHBOUR).json
    as_xml = etree.fromstring(follow(client, api_key, number, "xml", email=NEIGHBOUR).data)
    assert as_xml.findtext("subscription/subscription_id") == entry["subscription_id"]
    assert as_xml.findtext("subscription/state") == "pending"
    assert follow(client, api_key, number, email=NEIGHBOUR).json == [entry]
    confirmations = notifications(app, kind=NotificationKind.CONFIRMATION)
    assert len(confirmations) == 1
    sent_back(app, entry["subscription_id"], timedelta(minutes=59))
    follow(client, api_key, number, email=NEIGHBOUR)
    assert len(notifications(app, kind=NotificationKind.CONFIRMATION)) == 1
    sent_back(
        app, entry["subscription_id"], timedelta(minutes=61)
    )  # CONFIRMATION_RESEND_SECONDS = 3600
    follow(client, api_key, number, email=NEIGHBOUR)
    assert len(notifications(app, kind=NotificationKind.CONFIRMATION)) == 2
    assert send_outbox(app).delivered == 2
    assert [m["To"] for m in mailbox.messages] == [NEIGHBOUR, NEIGHBOUR]


def test_the_reply_does_not_tell_whether_an_address_filed_the_request(
    app, client, api_key, mailbox
):
    """Issue 14: one answer for every address, in both formats; the filer, who follows
    already, is sent nothing more, and a stranger gets the one confirmation."""
    filer = "filer@example.org"
    number = file(client, api_key, email=filer)
    with app.app_context():  # the filer's subscription dates from a filing a day ago
        db.session.execute(sa.update(Subscription).values(created_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    for fmt in ("json", "xml"):
        replies = {
            who: follow(client, api_key, number, fmt, email=who) for who in (filer, NEIGHBOUR)
        }
        if fmt == "json":
            entries = {who: reply.json[0] for who, reply in replies.items()}
        else:
            entries = {
                who: {e.tag: e.text for e in etree.fromstring(reply.data)[0]}
                for who, reply in replies.items()
            }
        mine, theirs = entries[filer], entries[NEIGHBOUR]
        assert list(mine) == list(theirs)  # the same fields, in the same order
        differ = {key for key in mine if mine[key] != theirs[key]}
        assert differ <= {"subscription_id", "created_datetime"}
        assert mine["state"] == theirs["state"] == "pending"
        for entry in (mine, theirs):  # neither the row's number nor the filing's time
            assert re.fullmatch(r"[0-9a-f]{20}", entry["subscription_id"])
            asked = datetime.fromisoformat(entry["created_datetime"])
            assert abs(asked - datetime.now(UTC)) < timedelta(minutes=1)
    send_outbox(app)
    # The worker delivers several messages at once: in whatever order they finish.
    assert sorted((m["To"], m["Subject"]) for m in mailbox.messages) == sorted([
        (filer, f"Request filed ({number})"), (NEIGHBOUR, "Please confirm your subscription"),
    ])  # fmt: skip
    act(app, client, number, "acknowledge", public_note="Seen.")
    # Filed, then acknowledged: the filer still hears; the stranger not before confirming.
    assert [n.address for n in news(app)] == [filer, filer]


def test_the_filer_and_a_partners_account_need_no_confirmation(app, client, api_key, mailbox):
    number = file(client, api_key, email="filer@example.org")
    [entry] = follow(client, api_key, number, account_id="partner-user-7").json
    assert entry["state"] == "active"
    assert notifications(app, kind=NotificationKind.CONFIRMATION) == []
    send_outbox(app)
    [filed] = mailbox.messages  # the filer hears at once, as before
    assert filed["To"] == "filer@example.org"
    assert filed["Subject"] == f"Request filed ({number})"
    with app.app_context():
        states = db.session.execute(
            sa.select(Subscription.address, Subscription.confirmed_at)
        ).all()
    assert all(confirmed_at is not None for _, confirmed_at in states)
    assert {address for address, _ in states} == {"filer@example.org", "partner-user-7"}


def test_the_confirmation_link_uses_the_public_base_url(app, client, api_key, mailbox):
    app.config["PUBLIC_BASE_URL"] = "https://311.city.example/"
    number = file(client, api_key)
    follow(client, api_key, number, email=NEIGHBOUR)
    send_outbox(app)
    [link] = re.findall(
        r"https://311\.city\.example/open311/confirm/\S+", mailbox.messages[0].get_content()
    )
    assert press_the_button(client, urlsplit(link).path).status_code == 200
