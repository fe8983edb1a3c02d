"""A retried POST returns the original request instead of filing a second one."""

from __future__ import annotations

from tests.builders import pothole_form, stored_requests


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
