"""Emails in the resident's language: a subscription's `language` (en by default, es from
the site or asked through the API) decides the words the worker writes."""

from __future__ import annotations

import pytest

from open311.notifications.channels import Words, summary_in
from tests.builders import pothole_form
from tests.notifications.conftest import ANONYMOUS, send_outbox


@pytest.mark.parametrize(
    ("english", "spanish"),
    [
        ("Request filed", "Solicitud presentada"),
        ("Work scheduled for 2026-12-24", "Trabajo programado: 2026-12-24"),
        ("Request transferred to CDOT", "Solicitud transferida: CDOT"),
        ("Closed as a duplicate of SR26-00000001", "Cerrada por estar duplicada: SR26-00000001"),
        ("Request closed (not city responsibility)", "Solicitud cerrada (no le corresponde a la Ciudad)"),
        ("Something a later version says", "Something a later version says"),
    ],
)  # fmt: skip
def test_a_summary_in_spanish_keeps_its_details(english, spanish):
    assert summary_in(Words("es"), english) == spanish
    assert summary_in(Words("en"), english) == english


def file(client, api_key) -> str:
    response = client.post("/open311/v2/requests.json", data=pothole_form(api_key, **ANONYMOUS))
    assert response.status_code == 200, response.json
    return str(response.json[0]["service_request_id"])


def test_the_api_may_ask_for_spanish_emails(app, client, api_key, mailbox):
    number = file(client, api_key)
    response = client.post(
        f"/open311/v2/requests/{number}/subscriptions.json",
        data={"api_key": api_key, "email": "vecina@example.org", "language": "es"},
    )
    assert response.status_code == 201, response.json
    send_outbox(app)
    [message] = mailbox.messages
    assert message["Subject"] == "Confirme su suscripción"
    assert message["Content-Language"] == "es"
    assert f"novedades sobre la solicitud de servicio {number}" in message.get_content()


def test_api_subscriptions_are_english_unless_asked(app, client, api_key, mailbox):
    response = client.post(
        "/open311/v2/subscriptions.json",
        data={
            "api_key": api_key,
            "email": "neighbour@example.org",
            "service_code": "PHF",
            "language": "",
        },
    )
    assert response.status_code == 201, response.json
    send_outbox(app)
    [message] = mailbox.messages
    assert message["Subject"] == "Please confirm your subscription"
    assert message["Content-Language"] == "en"
    assert (
        "Someone asked for updates about new Pothole in Street Complaint" in message.get_content()
    )


def test_another_language_is_refused_and_nothing_is_stored(app, client, api_key, mailbox):
    number = file(client, api_key)
    response = client.post(
        f"/open311/v2/requests/{number}/subscriptions.json",
        data={"api_key": api_key, "email": "vecina@example.org", "language": "fr"},
    )
    assert response.status_code == 400
    assert response.json[0]["description"] == "language: one of en, es."
    send_outbox(app)
    assert mailbox.messages == []
