"""Reporting by text: whole conversations through the Twilio-compatible adapter, with a
local provider on a real socket taking our replies and signing the webhooks it sends."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from open311.extensions import db
from open311.models import (
    Channel,
    Service,
    ServiceRequest,
    SmsConversation,
    SmsMessage,
    Subscription,
)
from tests.estimates.test_estimates import add_history, closed_history, learn
from tests.sms.provider import CITY_NUMBER, Provider

RESIDENT = "+13125550142"


def converse(provider: Provider, client: FlaskClient, phone: str, body: str) -> list[str]:
    """Text the app; the replies it sent the provider for this text."""
    before = len(provider.to(phone))
    response = provider.text(client, phone, body)
    assert response.status_code == 200, response.data
    assert b"<Response></Response>" in response.data  # replies go through the API
    return provider.to(phone)[before:]


def stored(app: Flask, model: type, *where: sa.ColumnElement[bool]) -> list:
    with app.app_context():
        return list(db.session.scalars(sa.select(model).where(*where)))


def file_a_pothole(provider: Provider, client: FlaskClient, phone: str = RESIDENT) -> str:
    [menu] = converse(provider, client, phone, "Deep pothole in the street")
    assert "1. Pothole in Street Complaint" in menu
    [question] = converse(provider, client, phone, "1")
    assert question.startswith("Where is the pothole?\n1. Traffic lane\n2. Curb lane")
    [where] = converse(provider, client, phone, "2")
    assert where.startswith("Where is it?")
    [read_back] = converse(provider, client, phone, "121 N LaSalle St")
    assert read_back == "Is it at 121 N LA SALLE ST, CHICAGO, IL, 60601? Reply YES or NO."
    [filed] = converse(provider, client, phone, "yes please")
    return filed


def test_a_whole_filing_by_text(app, client, provider):
    add_history(app, closed_history("PHF", [float(d) for d in range(1, 41)]))
    learn(app)
    filed = file_a_pothole(provider, client)
    assert filed.startswith("Thank you. Your request number is SR")
    assert "Most requests like this are done in 5 to 36 days." in filed
    number = filed.split("number is ")[1].split(".")[0]
    [request] = stored(app, ServiceRequest, ServiceRequest.number == number)
    assert (request.channel, request.service_code) == ("sms", "PHF")
    assert request.attributes == {"WHEREIST": "CURB"}
    assert request.description == "Deep pothole in the street"
    assert request.address == "121 N LA SALLE ST, CHICAGO, IL, 60601"
    assert request.phone is None  # kept only for a resident who asks for updates

    [yes] = converse(provider, client, RESIDENT, "YES")
    assert yes == f"We will text you when {number} changes. Text STOP to stop all texts."
    [follows] = stored(app, Subscription, Subscription.address == RESIDENT)
    assert follows.channel is Channel.SMS
    assert follows.confirmed_at is not None


def test_each_reply_goes_out_with_basic_auth_and_comes_back_with_its_receipt(app, client, provider):
    converse(provider, client, RESIDENT, "graffiti on my garage")
    [sent] = provider.sent
    assert (sent["To"], sent["From"]) == (RESIDENT, CITY_NUMBER)
    assert sent["StatusCallback"] == "http://localhost/sms/twilio/status"
    assert provider.refusals == []
    assert provider.receipt(client, sent["sid"], "delivered").status_code == 204
    [out] = stored(app, SmsMessage, SmsMessage.direction == "out")
    assert (out.provider_id, out.status) == (sent["sid"], "delivered")
    provider.receipt(client, sent["sid"], "sent")  # late, out of order: the final one stays
    [out] = stored(app, SmsMessage, SmsMessage.direction == "out")
    assert out.status == "delivered"


def test_a_status_query_by_number(app, client, provider):
    filed = file_a_pothole(provider, client)
    number = filed.split("number is ")[1].split(".")[0]
    [status] = converse(provider, client, "+13125550199", f"status of {number.lower()}?")
    assert status.startswith(f"{number} (Pothole in Street Complaint) is open.")
    [unknown] = converse(provider, client, "+13125550199", "SR26-99999999")
    assert unknown == "We found no public request SR26-99999999. Check the number."


def test_the_same_text_delivered_twice_is_answered_once(app, client, provider):
    assert provider.text(client, RESIDENT, "graffiti", sid="SM" + "a" * 32).status_code == 200
    assert provider.text(client, RESIDENT, "graffiti", sid="SM" + "a" * 32).status_code == 200
    assert len(provider.to(RESIDENT)) == 1
    assert len(stored(app, SmsMessage, SmsMessage.direction == "in")) == 1


def test_stop_confirms_once_then_silence_until_start(app, client, provider):
    converse(provider, client, RESIDENT, "graffiti")
    [stopped] = converse(provider, client, RESIDENT, "Stop")
    assert stopped.startswith("311: you will get no more texts")
    assert converse(provider, client, RESIDENT, "1") == []
    assert converse(provider, client, RESIDENT, "STOP") == []
    [welcome] = converse(provider, client, RESIDENT, "START")
    assert welcome.startswith("311: welcome.")
    [menu] = converse(provider, client, RESIDENT, "graffiti")
    assert menu.startswith("Which is it?")


def test_stop_cancels_the_phones_updates(app, client, provider):
    file_a_pothole(provider, client)
    converse(provider, client, RESIDENT, "yes")
    converse(provider, client, RESIDENT, "STOP")
    [follows] = stored(app, Subscription, Subscription.address == RESIDENT)
    assert follows.cancelled_at is not None


def test_help_answers_at_any_step_without_losing_it(app, client, provider):
    converse(provider, client, RESIDENT, "pothole")
    [help_] = converse(provider, client, RESIDENT, "HELP")
    assert "STOP to stop texts" in help_
    assert "call 911" in help_
    [question] = converse(provider, client, RESIDENT, "1")
    assert question.startswith("Where is the pothole?")


def test_spanish_from_the_first_text_and_on_request(app, client, provider):
    [menu] = converse(provider, client, RESIDENT, "hay un bache en la calle")
    assert menu.startswith("¿Cuál es? Responda con su número:")
    assert "0. Ninguno de estos" in menu
    with app.app_context():
        assert db.session.scalar(sa.select(SmsConversation.language)) == "es"
    other = "+13125550143"
    [english] = converse(provider, client, other, "pothole")
    assert english.startswith("Which is it?")
    [spanish] = converse(provider, client, other, "ESPAÑOL")
    assert spanish.startswith("¿Cuál es?")


def test_an_address_we_cannot_place_is_asked_again(app, client, provider):
    converse(provider, client, RESIDENT, "pothole")
    converse(provider, client, RESIDENT, "1")
    converse(provider, client, RESIDENT, "1")
    [again] = converse(provider, client, RESIDENT, "99999 N Nowhere Blvd")
    assert again.startswith("We could not find that address in the city.")
    [read_back] = converse(provider, client, RESIDENT, "121 N LaSalle St")
    assert read_back.startswith("Is it at 121 N LA SALLE ST")


def test_a_wrong_answer_gets_the_apis_words_and_the_question_again(app, client, provider):
    converse(provider, client, RESIDENT, "pothole")
    converse(provider, client, RESIDENT, "1")
    [refused] = converse(provider, client, RESIDENT, "7")
    assert refused.startswith(
        "That answer does not fit: '7' is not one of TRAFFIC, CURB, CROSSWALK"
    )
    assert "Where is the pothole?" in refused


def test_an_emergency_gets_the_911_reply_first(app, client, provider):
    first, menu = converse(
        provider, client, RESIDENT, "house fire at my neighbours, garbage everywhere"
    )
    assert first.startswith("If this is an emergency happening now, call 911")
    assert menu.startswith("Which is it?")


def test_a_bad_signature_is_refused_and_nothing_is_stored(app, client, provider):
    response = provider.text(client, RESIDENT, "pothole", token="not-the-token")
    assert response.status_code == 403
    unsigned = client.post("/sms/twilio", data={"From": RESIDENT, "Body": "x", "MessageSid": "SM1"})
    assert unsigned.status_code == 403
    odd = client.post(  # a header's bytes beyond ASCII (was a 500)
        "/sms/twilio",
        data={"From": RESIDENT, "Body": "x", "MessageSid": "SM2"},
        headers={"X-Twilio-Signature": "sign\u00e9"},
    )
    assert odd.status_code == 403
    assert stored(app, SmsMessage) == []
    assert stored(app, SmsConversation) == []
    assert provider.sent == []


def test_an_idle_conversation_ends_after_30_minutes(app, client, provider):
    converse(provider, client, RESIDENT, "pothole")
    with app.app_context():
        row = db.session.scalars(sa.select(SmsConversation)).one()
        row.last_text_at = row.last_text_at - timedelta(minutes=31)
        db.session.commit()
    [menu] = converse(provider, client, RESIDENT, "graffiti")  # not an answer to the menu
    assert menu.startswith("Which is it?")
    assert "Graffiti" in menu


def test_the_providers_texts_are_not_held_to_a_per_address_limit(app, client, provider):
    app.config["RATE_LIMIT_WRITES_PER_ADDRESS"] = "2 per minute"
    for phone in ("+13125550001", "+13125550002", "+13125550003"):
        assert converse(provider, client, phone, "graffiti")


def test_without_an_auth_token_every_webhook_is_refused(app, client, provider):
    app.extensions["open311.sms.account"] = replace(
        app.extensions["open311.sms.account"], auth_token=""
    )
    assert provider.text(client, RESIDENT, "pothole", token="").status_code == 403
    assert stored(app, SmsMessage) == []


def test_a_service_withdrawn_mid_conversation_starts_it_again(app, client, provider):
    converse(provider, client, RESIDENT, "pothole")
    with app.app_context():
        db.session.get(Service, "PHF").active = False
        db.session.commit()
    [sorry] = converse(provider, client, RESIDENT, "1")
    assert sorry == "Sorry, we lost track. Tell us again what is wrong and where."
    with app.app_context():
        assert db.session.scalar(sa.select(SmsConversation.step)) == "idle"


def test_control_characters_are_dropped_before_anything_is_stored(app, client, provider):
    [menu] = converse(provider, client, RESIDENT, "graf\x00fiti\x07")
    assert menu.startswith("Which is it?")
    [received] = stored(app, SmsMessage, SmsMessage.direction == "in")
    assert received.body == "graffiti"


def test_an_emergency_mid_conversation_gets_the_911_reply_first(app, client, provider):
    converse(provider, client, RESIDENT, "pothole")
    converse(provider, client, RESIDENT, "1")
    first, question = converse(provider, client, RESIDENT, "someone is bleeding here")
    assert first.startswith("If this is an emergency happening now, call 911")
    assert question.startswith("That answer does not fit")


def test_every_required_question_is_asked_in_order_and_checked(app, client, provider):
    with app.app_context():
        pothole = db.session.get(Service, "PHF")
        pothole.attributes = [
            {**question, "required": question["code"] in {"WHEREIST", "HAZARDS", "HOWMANY"}}
            for question in pothole.attributes
        ]
        db.session.commit()
    converse(provider, client, RESIDENT, "pothole")
    [where] = converse(provider, client, RESIDENT, "1")
    assert where.startswith("Where is the pothole?")
    [hazards] = converse(provider, client, RESIDENT, "curb lane")  # a choice by its name
    assert hazards.startswith("Any hazards?\n1. Standing water")
    assert hazards.endswith("Reply with one or more numbers, such as 1 3.")
    [how_many] = converse(provider, client, RESIDENT, "1 and 3")
    assert how_many == "How many potholes?\nReply with a number."
    [too_many] = converse(provider, client, RESIDENT, "500")
    assert too_many.startswith("That answer does not fit: 500 is above the maximum 100")
    converse(provider, client, RESIDENT, "3")
    converse(provider, client, RESIDENT, "121 N LaSalle St")
    [filed] = converse(provider, client, RESIDENT, "Sí")
    number = filed.split("number is ")[1].split(".")[0]
    [request] = stored(app, ServiceRequest, ServiceRequest.number == number)
    assert request.attributes == {"WHEREIST": "CURB", "HAZARDS": ["WATER", "WIDE"], "HOWMANY": 3}


def test_an_address_in_the_first_text_is_read_back_instead_of_asked(app, client, provider):
    converse(provider, client, RESIDENT, "pothole in front of 121 N LaSalle St, deep one")
    [read_back] = converse(provider, client, RESIDENT, "1")  # the service: then the question
    assert read_back.startswith("Where is the pothole?")
    [confirm] = converse(provider, client, RESIDENT, "1")
    assert confirm == "Is it at 121 N LA SALLE ST, CHICAGO, IL, 60601? Reply YES or NO."
    [where] = converse(provider, client, RESIDENT, "no")
    assert where.startswith("Where is it?")


def test_a_reply_the_provider_refused_is_sent_again_by_the_cli(app, client, provider):
    account = app.extensions["open311.sms.account"]
    app.extensions["open311.sms.account"] = replace(account, auth_token="wrong")
    signed = provider.text(client, RESIDENT, "graffiti")  # signed with the right token
    assert signed.status_code == 403  # the app checks with the wrong one: nothing stored
    app.extensions["open311.sms.account"] = replace(account, api_url="http://127.0.0.1:9")
    assert converse(provider, client, RESIDENT, "graffiti") == []  # refused: nothing arrived
    [failed] = stored(app, SmsMessage, SmsMessage.direction == "out")
    assert failed.status == "failed"
    assert "Connection refused" in (failed.error or "")

    result = app.test_cli_runner().invoke(args=["open311", "resend-sms"])
    assert result.exit_code == 0, result.output
    assert "1 of 1 replies sent" in result.output
    [menu] = provider.to(RESIDENT)
    assert menu.startswith("Which is it?")
    [sent] = stored(app, SmsMessage, SmsMessage.direction == "out")
    assert (sent.status, sent.provider_id) == ("sent", provider.sent[0]["sid"])
    again = app.test_cli_runner().invoke(args=["open311", "resend-sms"])
    assert "0 of 0 replies sent" in again.output
