"""The notifications' SMS channel sends through the adapter for real: the outbox worker
hands each text to the local provider, which checks the account's Basic auth."""

from __future__ import annotations

from open311.models import DeliveryState
from open311.sms.twilio import signature
from tests.builders import pothole_form
from tests.notifications.conftest import notifications, send_outbox
from tests.sms.provider import APP_ORIGIN, AUTH_TOKEN, CITY_NUMBER, twilio_signature

PHONE = "+13125550100"


def file_with_phone(client, api_key, **overrides):
    form = pothole_form(api_key, email=None, account_id=None, phone=PHONE, **overrides)
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 200, response.json
    return response.json[0]["service_request_id"]


def test_the_outbox_texts_a_filer_through_the_provider(app, client, api_key, provider):
    app.config["PUBLIC_BASE_URL"] = "https://311.example.org"
    number = file_with_phone(client, api_key)
    assert send_outbox(app).delivered == 1
    [sent] = provider.sent
    assert (sent["To"], sent["From"]) == (PHONE, CITY_NUMBER)
    assert number in sent["Body"]
    assert sent["StatusCallback"] == "https://311.example.org/sms/twilio/status"


def test_a_refused_text_is_kept_as_the_notifications_error(app, client, api_key, provider):
    app.config["SMS_TWILIO_AUTH_TOKEN"] = "a-wrong-token"
    file_with_phone(client, api_key)
    assert send_outbox(app).delivered == 0
    [pending] = notifications(app, state=DeliveryState.PENDING)
    assert "HTTP 401: Authenticate" in (pending.last_error or "")
    assert provider.refusals == ["authentication"]
    assert provider.sent == []


def test_our_signature_matches_the_providers_own():
    params = {"From": PHONE, "Body": "a b&c=é", "MessageSid": "SM1", "To": CITY_NUMBER}
    url = "https://311.example.org/sms/twilio?x=1"
    assert signature(AUTH_TOKEN, url, params.items()) == twilio_signature(AUTH_TOKEN, url, params)


def test_the_signature_of_the_providers_published_example():
    """The worked example of the provider's security documentation (a voice call's
    webhook to a URL with a query), with its auth token 12345."""
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_stop_cancels_what_was_queued_for_the_phone(app, client, api_key, provider):
    file_with_phone(client, api_key)  # the filer follows by text: one text queued
    provider.text(client, PHONE, "STOP")
    assert notifications(app, state=DeliveryState.CANCELLED)
    assert send_outbox(app).delivered == 0
    assert [m["Body"][:4] for m in provider.sent] == ["311:"]  # the STOP confirmation only


def test_the_receipts_of_the_outbox_texts_are_recorded_on_their_rows(
    app, client, api_key, provider
):
    app.config["PUBLIC_BASE_URL"] = APP_ORIGIN  # the provider calls back the test client
    file_with_phone(client, api_key)
    file_with_phone(client, api_key, description="A second pothole", device_id="device-2")
    assert send_outbox(app).delivered == 2
    first, second = provider.sent
    by_sid = {n.provider_message_id: n for n in notifications(app)}
    assert set(by_sid) == {first["sid"], second["sid"]}
    assert all(n.provider_status is None for n in by_sid.values())

    assert provider.receipt(client, first["sid"], "sent").status_code == 204
    assert provider.receipt(client, first["sid"], "delivered").status_code == 204
    assert provider.receipt(client, first["sid"], "sent").status_code == 204  # late: ignored
    assert provider.receipt(client, second["sid"], "failed").status_code == 204
    rows = {n.provider_message_id: n for n in notifications(app)}
    delivered, failed = rows[first["sid"]], rows[second["sid"]]
    assert (delivered.provider_status, delivered.provider_error) == ("delivered", None)
    assert delivered.last_error is None
    assert (failed.provider_status, failed.provider_error) == ("failed", "30006")
    assert failed.last_error == "provider: failed (error 30006)"


def test_an_unsigned_receipt_changes_no_notification(app, client, api_key, provider):
    app.config["PUBLIC_BASE_URL"] = APP_ORIGIN
    file_with_phone(client, api_key)
    assert send_outbox(app).delivered == 1
    [sent] = provider.sent
    params = {"MessageSid": sent["sid"], "MessageStatus": "failed", "ErrorCode": "30006"}
    forged = provider.post(client, "/sms/twilio/status", params, "not-the-auth-token")
    assert forged.status_code == 403
    [row] = notifications(app)
    assert (row.provider_message_id, row.provider_status) == (sent["sid"], None)
