"""The worker delivers the outbox: signed webhooks to a real HTTP server, email to a
real SMTP server with a working unsubscribe link, texts to a plugged-in gateway;
bad receivers are retried with backoff and parked without slowing anyone else."""

from __future__ import annotations

import itertools
import time
from urllib.parse import urlsplit

import pytest

from open311.models import DeliveryState
from tests.builders import pothole_form
from tests.notifications.conftest import create_webhook, drain, notifications, send_outbox

ANONYMOUS = {"email": None, "phone": None, "account_id": None}


def file(client, api_key, **overrides):
    response = client.post("/open311/v2/requests.json", data=pothole_form(api_key, **overrides))
    assert response.status_code == 200, response.json
    return response.json[0]["service_request_id"]


def test_webhooks_arrive_signed_with_the_notification_id(app, client, api_key, receiver):
    create_webhook(client, api_key, receiver, "/hook", service_code="PHF")
    numbers = [file(client, api_key, **ANONYMOUS, description=f"Pothole {i}") for i in range(3)]
    tally = send_outbox(app)
    assert (tally.delivered, tally.retrying, tally.parked) == (3, 0, 0)
    arrivals = receiver.at("/hook")
    assert all(a.signed for a in arrivals)
    assert sorted(a.body["service_request_id"] for a in arrivals) == numbers
    assert all(a.idempotency_key == a.notification_id for a in arrivals)
    assert {a.body["action"] for a in arrivals} == {"filed"}
    assert arrivals[0].body.keys() == {
        "notification_id", "service_request_id", "service_code", "status", "action", "summary",
        "note", "occurred_datetime",
    }  # fmt: skip
    rows = notifications(app)
    assert {r.state for r in rows} == {DeliveryState.DELIVERED}
    assert {r.key for r in rows} == {a.notification_id for a in arrivals}
    assert send_outbox(app).delivered == 0  # delivered is never sent again


def test_a_forged_signature_is_refused_by_the_receiver_and_retried(app, client, api_key, receiver):
    create_webhook(client, api_key, receiver, "/hook", service_code="PHF")
    receiver.secrets["/hook"] = "whsec_not_the_secret"
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    file(client, api_key, **ANONYMOUS)
    assert drain(app).parked == 1
    [row] = notifications(app)
    assert row.last_error.startswith("HTTP 401")
    assert [a.signed for a in receiver.at("/hook")] == [False, False]


def test_email_arrives_with_a_working_unsubscribe_link(app, client, api_key, mailbox):
    number = file(client, api_key, phone=None, account_id=None)
    assert send_outbox(app).delivered == 1
    [message] = mailbox.messages
    assert message["To"] == "resident@example.org"
    assert number in message["Subject"]
    assert "Request filed" in message["Subject"]
    body = message.get_content()
    link = message["List-Unsubscribe"].strip().strip("<>")
    assert link in body
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [row] = notifications(app)
    assert message["Message-ID"].startswith(f"<{row.key}@")
    page = client.get(urlsplit(link).path)  # the link works without login, and opening it
    assert page.status_code == 200
    assert b"Stop these messages?" in page.data
    # RFC 8058: a mail client's one-click unsubscribe POSTs this body to the header's URL.
    one_click = client.post(urlsplit(link).path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert b"You are unsubscribed" in one_click.data
    client.post(
        f"/open311/v2/requests/{number}/subscriptions.json",
        data={"api_key": api_key, "phone": "3125550199"},
    )
    from tests.builders import bearer, make_staff

    agent = make_staff(app, "agent", "CDOT - Department of Transportation")
    client.post(
        f"/open311/staff/requests/{number}/acknowledge",
        json={"public_note": "Seen."},
        headers=bearer(agent),
    )
    send_outbox(app)
    assert len(mailbox.messages) == 1  # unsubscribed: no email for the acknowledgement


def test_texts_go_through_the_plugged_in_gateway(app, client, api_key, sms):
    number = file(client, api_key, email=None, account_id=None)
    assert send_outbox(app).delivered == 1
    [(phone, text, notification_id)] = sms.sent
    assert phone == "3125550100"
    assert number in text
    assert "/open311/unsubscribe/" in text
    assert notification_id == notifications(app)[0].key


@pytest.mark.slow
def test_a_bad_receiver_is_retried_with_backoff_then_parked_while_a_good_one_is_served_at_once(
    app, client, api_key, receiver
):
    app.config.update(
        OUTBOX_MAX_ATTEMPTS=3, OUTBOX_BACKOFF_SECONDS=0.3, OUTBOX_BACKOFF_MAX_SECONDS=5
    )
    receiver.behaviour.update({"/error": "error", "/slow": "slow", "/good": "ok"})
    for path in ("/error", "/slow", "/good"):
        create_webhook(client, api_key, receiver, path, service_code="PHF")
    started = time.monotonic()
    number = file(client, api_key, **ANONYMOUS)
    tally = drain(app)
    assert (tally.delivered, tally.parked, tally.retrying) == (1, 2, 4)
    [good] = receiver.at("/good")
    assert good.at - started < 1.0  # not held up by the timeouts next to it
    for path in ("/error", "/slow"):
        tries = [a.at for a in receiver.at(path)]
        assert len(tries) == 3
        gaps = [later - earlier for earlier, later in itertools.pairwise(tries)]
        assert gaps[0] >= 0.3, gaps  # 0.3 s, then doubled
        assert gaps[1] >= 0.6, gaps
    parked = {
        r.payload["service_request_id"]: r for r in notifications(app, state=DeliveryState.PARKED)
    }
    reasons = sorted(r.last_error for r in notifications(app, state=DeliveryState.PARKED))
    assert reasons[0].startswith("HTTP 500 from http://127.0.0.1")
    assert "/error" in reasons[0]
    assert "timed out" in reasons[1]
    assert "/slow" in reasons[1]
    assert list(parked) == [number]
    assert {r.attempts for r in notifications(app, state=DeliveryState.PARKED)} == {3}


def test_a_deleted_webhook_gets_nothing_more(app, client, api_key, receiver):
    hook = create_webhook(client, api_key, receiver, "/hook", service_code="PHF")
    file(client, api_key, **ANONYMOUS)
    client.delete(f"/open311/v2/webhooks/{hook['webhook_id']}.json", data={"api_key": api_key})
    file(client, api_key, **ANONYMOUS, description="Another pothole")
    assert send_outbox(app).delivered == 0
    assert receiver.arrivals == []
    assert [r.state for r in notifications(app)] == [DeliveryState.CANCELLED]


def test_the_cli_sends_once(app, client, api_key, receiver):
    create_webhook(client, api_key, receiver, "/hook", service_code="PHF")
    file(client, api_key, **ANONYMOUS)
    result = app.test_cli_runner().invoke(args=["open311", "send-outbox", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 delivered, 0 to retry, 0 parked" in result.output
    assert len(receiver.at("/hook")) == 1
