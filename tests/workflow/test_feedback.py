"""Feedback: the reporter rates a completed request; a low rating soon after reopens it."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from lxml import etree

from open311.accounts.keys import create_key
from open311.database import begin_write
from open311.errors import Forbidden
from open311.extensions import db
from open311.models import ApiKey, Feedback, RequestEvent, Stage
from open311.models.base import utcnow
from open311.workflow.actions import Actor, Step, perform
from open311.workflow.feedback import REOPEN_NOTE
from open311.workflow.transitions import Action
from tests.builders import bearer, make_staff, pothole_form

CDOT = "CDOT - Department of Transportation"
COMMENT = "Still a crater; my email is jo@example.org"


@pytest.fixture
def agent(app):
    return make_staff(app, "agent", CDOT, email="agent@cdot.example")


def filed(client, api_key):
    return client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
        "service_request_id"
    ]


def close(client, token, number, reason="completed"):
    response = client.post(
        f"/open311/staff/requests/{number}/close",
        json={"reason": reason, "public_note": "Pothole patched."},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.json


@pytest.fixture
def completed(client, api_key, agent):
    number = filed(client, api_key)
    close(client, agent, number)
    return number


def rate(client, number, api_key, rating="1", suffix="json", **extra):
    form = {"api_key": api_key, "rating": rating, "comment": COMMENT, **extra}
    return client.post(f"/open311/v2/requests/{number}/feedback.{suffix}", data=form)


def counts(app):
    with app.app_context():
        feedback = db.session.scalar(sa.select(sa.func.count()).select_from(Feedback))
        events = db.session.scalar(sa.select(sa.func.count()).select_from(RequestEvent))
        return feedback, events


def test_a_good_rating_is_kept_privately_and_the_request_stays_closed(
    app, client, api_key, agent, completed
):
    response = rate(client, completed, api_key, rating="5")
    assert response.status_code == 200, response.json
    assert response.json[0]["status"] == "closed"
    history = client.get(f"/open311/staff/requests/{completed}", headers=bearer(agent)).json[
        "history"
    ]
    assert (history[-1]["action"], history[-1]["actor"], history[-1]["staff_id"]) == (
        "feedback",
        "reporter",
        None,
    )
    assert history[-1]["details"] == {"rating": 5, "reopens": False}
    assert history[-1]["internal_note"] == COMMENT
    for suffix in ("json", "xml"):
        body = client.get(f"/open311/v2/requests/{completed}.{suffix}?extensions=true").data
        assert b"crater" not in body
        assert b"feedback" not in body


def test_a_low_rating_reopens_for_review_and_a_supervisor_closes_again(
    app, client, api_key, agent, completed
):
    response = rate(client, completed, api_key, rating="2", suffix="xml")
    assert response.status_code == 200
    assert etree.fromstring(response.data).findtext("request/status") == "open"
    seen = client.get(f"/open311/v2/requests/{completed}.json?extensions=true").json[0]
    assert (seen["status"], seen["status_notes"]) == ("open", REOPEN_NOTE)
    assert seen["notes"][-1]["type"] == "reopen_for_review"
    assert b"crater" not in client.get(f"/open311/v2/requests/{completed}.xml?extensions=true").data

    work = client.get(f"/open311/staff/requests/{completed}", headers=bearer(agent)).json
    assert work["stage"] == "reopened"
    assert [e["action"] for e in work["history"]][-2:] == ["feedback", "reopen_for_review"]
    assert work["history"][-1]["actor"] == "reporter"
    with app.app_context():
        assert db.session.scalar(sa.select(Feedback.reopened)) is True

    supervisor = make_staff(app, "supervisor", CDOT, email="boss@cdot.example")
    close(client, supervisor, completed)
    assert client.get(f"/open311/v2/requests/{completed}.json").json[0]["status"] == "closed"
    # One rating per request and key, even after it was reopened and closed again.
    before = counts(app)
    again = rate(client, completed, api_key, rating="1")
    assert again.status_code == 409
    assert counts(app) == before


def test_a_low_rating_after_the_window_is_kept_but_reopens_nothing(app, client, api_key, completed):
    with app.app_context():
        begin_write(db.session())
        db.session.execute(sa.update(RequestEvent).values(at=utcnow() - timedelta(days=15)))
        db.session.commit()
    response = rate(client, completed, api_key, rating="1")
    assert response.status_code == 200
    assert response.json[0]["status"] == "closed"
    with app.app_context():
        assert db.session.scalar(sa.select(Feedback.reopened)) is False


def test_the_window_comes_from_the_config(app, client, api_key, completed):
    with app.app_context():
        begin_write(db.session())
        db.session.execute(sa.update(RequestEvent).values(at=utcnow() - timedelta(days=15)))
        db.session.commit()
    app.config["FEEDBACK_REOPEN_DAYS"] = 30
    assert rate(client, completed, api_key, rating="1").json[0]["status"] == "open"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"rating": ""}, "rating"),
        ({"rating": "0"}, "rating"),
        ({"rating": "6"}, "rating"),
        ({"rating": "3.5"}, "rating"),
        ({"rating": "bad"}, "rating"),
        ({"comment": "x" * 4001}, "comment"),
    ],
)
def test_bad_feedback_is_400_naming_the_field_and_stores_nothing(
    app, client, api_key, completed, form, field
):
    before = counts(app)
    for suffix in ("json", "xml"):
        response = client.post(
            f"/open311/v2/requests/{completed}/feedback.{suffix}",
            data={"api_key": api_key, "rating": "1", **form},
        )
        assert response.status_code == 400
        description = (
            response.json[0]["description"]
            if suffix == "json"
            else etree.fromstring(response.data).findtext("error/description")
        )
        assert description.startswith(f"{field}:")
    assert counts(app) == before


def test_only_requests_closed_as_completed_take_feedback(app, client, api_key, agent):
    still_open = filed(client, api_key)
    refused = rate(client, still_open, api_key)
    assert refused.status_code == 409
    assert "is new" in refused.json[0]["description"]
    not_ours = filed(client, api_key)
    close(client, agent, not_ours, reason="not_city_responsibility")
    before = counts(app)
    assert "not_city_responsibility" in rate(client, not_ours, api_key).json[0]["description"]
    assert counts(app) == before


def test_only_the_filing_key_gives_feedback_and_unknown_requests_are_404(
    app, client, api_key, completed
):
    with app.app_context():
        begin_write(db.session())
        _, other_key = create_key(db.session(), "Another partner")
        db.session.commit()
    before = counts(app)
    assert rate(client, completed, other_key).status_code == 403
    assert rate(client, completed, "not-a-key").status_code == 403
    assert (
        client.post(
            f"/open311/v2/requests/{completed}/feedback.json", data={"rating": "1"}
        ).status_code
        == 403
    )
    assert rate(client, "SR26-99999999", api_key).status_code == 404
    assert counts(app) == before
    assert client.get(f"/open311/v2/requests/{completed}.json").json[0]["status"] == "closed"


def test_a_reporter_may_answer_and_reopen_for_review_but_do_nothing_else(
    app, client, api_key, completed
):
    with app.app_context():
        session = db.session()
        key = session.scalars(sa.select(ApiKey)).one()
        for action in sorted(set(Action) - {Action.ANSWER, Action.REOPEN_FOR_REVIEW}):
            with pytest.raises(Forbidden):
                perform(
                    session,
                    completed,
                    Step(action=action, public_note="x"),
                    Actor.reporter(key),
                    time_zone=ZoneInfo("America/Chicago"),
                )
        session.rollback()
    assert client.get(f"/open311/staff/requests/{completed}/reopen_for_review").status_code in (
        401,
        405,
    )
    staff_try = client.post(
        f"/open311/staff/requests/{completed}/reopen_for_review",
        json={},
        headers=bearer(make_staff(app, "supervisor", CDOT)),
    )
    assert staff_try.status_code == 400
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(RequestEvent.to_stage).order_by(RequestEvent.id.desc()).limit(1)
            )
            is Stage.CLOSED
        )
