"""A retried POST returns the original request instead of filing a second one."""

from __future__ import annotations

import sqlalchemy as sa

from open311.extensions import db
from open311.models import Notification, Subscription
from open311.service_requests import actions
from tests.builders import pothole_form, stored_guards, stored_requests


def post(client, form, **headers):
    return client.post("/open311/v2/requests.json", data=form, headers=headers)


def test_a_retried_post_returns_the_original_id(app, client, api_key):
    first = post(client, pothole_form(api_key)).json[0]["service_request_id"]
    again = post(client, pothole_form(api_key)).json[0]["service_request_id"]
    assert again == first
    assert stored_requests(app) == 1


def test_whitespace_and_coordinate_noise_do_not_make_a_new_request(app, client, api_key):
    first = post(client, pothole_form(api_key)).json[0]["service_request_id"]
    noisy = pothole_form(
        api_key, description="Deep  pothole in the\r\nright lane", lat="41.8836371"
    )
    assert post(client, noisy).json[0]["service_request_id"] == first
    assert stored_requests(app) == 1


def test_different_content_is_a_different_request(app, client, api_key):
    first = post(client, pothole_form(api_key)).json[0]["service_request_id"]
    other = post(client, pothole_form(api_key, description="Another one")).json[0][
        "service_request_id"
    ]
    assert other != first
    assert stored_requests(app) == 2


def test_after_the_window_the_same_content_is_a_new_report(app, client, api_key):
    app.config["REPLAY_WINDOW_SECONDS"] = 0
    first = post(client, pothole_form(api_key)).json[0]["service_request_id"]
    assert post(client, pothole_form(api_key)).json[0]["service_request_id"] != first
    assert stored_requests(app) == 2


def test_idempotency_key_returns_the_original_even_after_the_window(app, client, api_key):
    first = post(client, pothole_form(api_key), **{"Idempotency-Key": "abc-1"}).json[0][
        "service_request_id"
    ]
    app.config["REPLAY_WINDOW_SECONDS"] = 0
    again = post(client, pothole_form(api_key), **{"Idempotency-Key": "abc-1"})
    assert again.status_code == 200
    assert again.json[0]["service_request_id"] == first
    assert stored_requests(app) == 1


def test_idempotency_key_reused_for_different_content_is_409(app, client, api_key):
    post(client, pothole_form(api_key), **{"Idempotency-Key": "abc-2"})
    response = post(
        client, pothole_form(api_key, description="different"), **{"Idempotency-Key": "abc-2"}
    )
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json[0]["description"]
    assert stored_requests(app) == 1


def test_a_batch_replay_returns_the_original_token(app, client, api_key):
    form = {"api_key": api_key, "service_code": "SCB", "lat": "41.9", "long": "-87.7"}
    first = post(client, form).json[0]
    assert post(client, form).json[0] == first
    assert stored_requests(app) == 1


def _as_if_the_first_copy_were_not_committed_yet(monkeypatch):
    """The first look for an earlier copy finds none, as when two copies of a POST race:
    the second then meets the first one's guard when it stores its own."""
    looks = []
    real = actions._earlier_copy

    def first_look_misses(*args, **kwargs):
        looks.append(1)
        return None if len(looks) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(actions, "_earlier_copy", first_look_misses)


def test_a_copy_that_loses_the_race_answers_with_the_winner(app, client, api_key, monkeypatch):
    first = post(client, pothole_form(api_key, email="racer@example.org")).json[0]
    _as_if_the_first_copy_were_not_committed_yet(monkeypatch)
    again = post(client, pothole_form(api_key, email="racer@example.org"))
    assert again.status_code == 200
    assert again.json[0]["service_request_id"] == first["service_request_id"]
    assert stored_requests(app) == 1
    assert stored_guards(app) == 1


def test_the_losing_copy_leaves_no_subscription_nor_notification(app, client, api_key, monkeypatch):
    post(client, pothole_form(api_key, email="racer@example.org"))
    before = _outbox_rows(app)
    _as_if_the_first_copy_were_not_committed_yet(monkeypatch)
    post(client, pothole_form(api_key, email="racer@example.org"))
    assert _outbox_rows(app) == before


def test_a_racing_key_reused_for_different_content_is_409(app, client, api_key, monkeypatch):
    post(client, pothole_form(api_key), **{"Idempotency-Key": "abc-3"})
    _as_if_the_first_copy_were_not_committed_yet(monkeypatch)
    response = post(
        client, pothole_form(api_key, description="different"), **{"Idempotency-Key": "abc-3"}
    )
    assert response.status_code == 409
    assert stored_requests(app) == 1


def _outbox_rows(app):
    with app.app_context():
        count = sa.select(sa.func.count())
        subscriptions = db.session.scalar(count.select_from(Subscription))
        notifications = db.session.scalar(count.select_from(Notification))
    return subscriptions, notifications
