"""Staff ask the reporter; the email's link lets them answer once, on the resident site.

A real SMTP server (aiosmtpd) receives the email from the real worker; the link is
taken from the message as a person would, and the answer goes through the page's form.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import lxml.html
import pytest
import sqlalchemy as sa

from open311.extensions import db
from open311.models import (
    DeliveryState,
    Notification,
    NotificationKind,
    RequestEvent,
    ServiceRequest,
    Subscription,
)
from open311.notifications.answer_links import answer_token
from open311.notifications.subscriptions import LinkKeys, unsubscribe_token
from tests.builders import bearer, make_staff, pothole_form
from tests.notifications.conftest import begin, notifications, send_outbox

CDOT = "CDOT - Department of Transportation"
QUESTION = "Is the pothole in the bike lane or the traffic lane?"
LINK = re.compile(r"http://localhost(/answer/[A-Za-z0-9._-]+)")


@pytest.fixture
def agent(app: Any) -> str:
    return make_staff(app, "agent", CDOT)


def file_pothole(client: Any, api_key: str, **overrides: Any) -> str:
    reply = client.post("/open311/v2/requests.json", data=pothole_form(api_key, **overrides))
    assert reply.status_code == 200, reply.json
    return str(reply.json[0]["service_request_id"])


def act(client: Any, token: str, number: str, action: str, **body: Any) -> Any:
    return client.post(
        f"/open311/staff/requests/{number}/{action}", json=body, headers=bearer(token)
    )


def asked(client: Any, agent: str, number: str, stage_first: str = "acknowledge") -> None:
    assert (
        act(client, agent, number, stage_first, public_note="We have your report.").status_code
        == 200
    )
    reply = act(client, agent, number, "ask_reporter", public_note=QUESTION)
    assert reply.status_code == 200, reply.json
    assert reply.json["stage"] == "awaiting_reporter"


def the_link(mailbox: Any) -> str:
    [message] = [m for m in mailbox.messages if m["Subject"].startswith("A question")]
    body = message.get_content()
    assert QUESTION in body
    found = LINK.search(body)
    assert found, body
    return found[1]


def form_of(page: Any) -> tuple[str, dict[str, str]]:
    [form] = lxml.html.fromstring(page.data).forms
    assert form.method == "POST"
    assert form.action is None
    return form.action, dict(form.fields)


def history(app: Any, number: str) -> list[RequestEvent]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(RequestEvent)
            .join(ServiceRequest, ServiceRequest.id == RequestEvent.service_request_id)
            .where(ServiceRequest.number == number)
            .order_by(RequestEvent.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def public(client: Any, number: str) -> dict[str, Any]:
    reply = client.get(f"/open311/v2/requests/{number}.json")
    assert reply.status_code == 200
    return dict(reply.json[0])


def test_the_reporter_answers_from_the_emailed_link_once(app, client, api_key, agent, mailbox):
    number = file_pothole(client, api_key)
    asked(client, agent, number)
    assert public(client, number)["status_notes"] == QUESTION

    # One question for the filer, instead of the news they would get otherwise.
    to_filer = notifications(app, address="resident@example.org")
    assert [(n.kind, n.payload["action"]) for n in to_filer if n.event_id] == [
        (NotificationKind.CHANGE, "acknowledge"),
        (NotificationKind.QUESTION, "ask_reporter"),
    ]
    assert send_outbox(app).parked == 0
    path = the_link(mailbox)

    page = client.get(path)
    assert page.status_code == 200
    assert QUESTION in page.get_data(as_text=True)
    _action, fields = form_of(page)
    assert fields["csrf_token"]

    # Without the form's token: refused, nothing stored.
    assert client.post(path, data={"answer": "Bike lane"}).status_code == 400
    # An empty answer: the form again with the problem, nothing stored.
    empty = client.post(path, data={**fields, "answer": "  "})
    assert empty.status_code == 400
    assert 'id="answer-error"' in empty.get_data(as_text=True)
    assert history(app, number)[-1].action == "ask_reporter"

    sent = client.post(path, data={**fields, "answer": "The bike lane, by the bus stop."})
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith(f"/requests/{number}")

    events = history(app, number)
    answer = events[-1]
    assert (answer.action, answer.actor_kind.value) == ("answer", "reporter")
    assert answer.internal_note == "The bike lane, by the bus stop."
    assert answer.public_note is None
    assert (answer.from_stage.value, answer.to_stage.value) == ("awaiting_reporter", "acknowledged")
    assert answer.details["question_event_id"] == events[-2].id
    shown = public(client, number)
    assert shown["status_notes"] == "We have your report."  # the question has left it
    assert "The bike lane" not in str(shown)  # the answer is the department's only
    staff_view = client.get(f"/open311/staff/requests/{number}", headers=bearer(agent)).json
    assert staff_view["stage"] == "acknowledged"
    assert staff_view["history"][-1]["internal_note"] == "The bike lane, by the bus stop."

    # The link worked once: the page and the form refuse it now, and nothing more is stored.
    again = client.get(path)
    assert again.status_code == 410
    assert "already been answered" in again.get_data(as_text=True)
    assert client.post(path, data={**fields, "answer": "Again"}).status_code == 410
    assert len(history(app, number)) == len(events)


def test_a_link_refused_when_forged_expired_or_overtaken(app, client, api_key, agent, mailbox):
    number = file_pothole(client, api_key)
    asked(client, agent, number)
    send_outbox(app)
    path = the_link(mailbox)
    keys = LinkKeys.from_config(app.config)
    with app.app_context():
        subscription_id = db.session.scalar(sa.select(Subscription.id).limit(1))
        question_id = history(app, number)[-1].id

    for bad in (
        "/answer/not-a-token",
        f"/answer/{answer_token(LinkKeys('another key of at least thirty-two chars!'), question_id)}",
        f"/answer/{unsubscribe_token(keys, subscription_id)}",  # signed, for something else
        f"/answer/{answer_token(keys, 10**6)}",  # names no question
        f"/answer/{answer_token(keys, history(app, number)[0].id)}",  # names no question either
    ):
        page = client.get(bad)
        assert page.status_code == 404, bad
        assert "text/html" in page.content_type

    # Expired: the link answers for QUESTION_LINK_VALID_DAYS after the question.
    with app.app_context():
        session = begin(app)
        question = session.get(RequestEvent, question_id)
        question.at -= timedelta(days=15)
        session.commit()
    page = client.get(path)
    assert page.status_code == 410
    assert "expired" in page.get_data(as_text=True)
    app.config["QUESTION_LINK_VALID_DAYS"] = 30
    assert client.get(path).status_code == 200

    # Staff pass on an answer given by phone: the link has nothing left to answer.
    reply = act(client, agent, number, "answer", answer="Bike lane (by phone)")
    assert reply.status_code == 200
    assert client.get(path).status_code == 410
    # A new question gets a new link; the first one still answers nothing.
    assert act(client, agent, number, "ask_reporter", public_note="Which side?").status_code == 200
    assert client.get(path).status_code == 410


def test_an_old_key_still_verifies_links_already_sent(app, client, api_key, agent, mailbox):
    number = file_pothole(client, api_key)
    asked(client, agent, number)
    send_outbox(app)
    path = the_link(mailbox)
    old = app.config["SECRET_KEY"]
    app.config.update(
        SECRET_KEY="a brand new key, at least thirty-two characters", SECRET_KEY_FALLBACKS=[old]
    )
    assert client.get(path).status_code == 200
    app.config.update(SECRET_KEY_FALLBACKS=[])
    assert client.get(path).status_code == 404


def test_a_filer_who_stopped_the_news_is_still_asked(app, client, api_key, agent, mailbox):
    number = file_pothole(client, api_key)
    with app.app_context():
        session = begin(app)
        for subscription in session.scalars(sa.select(Subscription)):
            subscription.cancelled_at = subscription.created_at
        session.commit()
    asked(client, agent, number)
    send_outbox(app)
    assert the_link(mailbox)
    assert not [m for m in mailbox.messages if not m["Subject"].startswith("A question")]


def test_no_question_email_without_an_email(app, client, api_key, agent, mailbox):
    number = file_pothole(client, api_key, email=None)
    asked(client, agent, number)
    with app.app_context():
        kinds = db.session.scalars(sa.select(Notification.kind)).all()
    assert NotificationKind.QUESTION not in kinds
    send_outbox(app)
    assert not [m for m in mailbox.messages if m["Subject"].startswith("A question")]


def test_a_question_asked_and_rolled_back_queues_nothing(app, client, api_key, agent):
    number = file_pothole(client, api_key)
    act(client, agent, number, "acknowledge")
    before = len(notifications(app))
    # A public note of 4001 characters is refused after nothing was written.
    assert act(client, agent, number, "ask_reporter", public_note="x" * 4001).status_code == 400
    assert len(notifications(app)) == before
    assert all(n.state is DeliveryState.PENDING for n in notifications(app))
