"""The request page's photos (hide one with a reason), the staff page, and the throttle
counted in Redis when one is configured."""

from __future__ import annotations

import io
import os
import uuid

import pytest
import sqlalchemy as sa

from open311.extensions import db
from open311.models import RequestEvent, RequestPhoto, Staff
from tests.builders import pothole_form
from tests.conftest import make_app
from tests.console.conftest import CDOT, PASSWORD, Browser, add_staff
from tests.media import photos

REDIS_URL = os.environ.get("OPEN311_TEST_REDIS_URL", "")


def filed_with_a_photo(client, api_key) -> str:
    data = pothole_form(api_key)
    data["media"] = [(io.BytesIO(photos.jpeg((800, 600))), "hole.jpg")]
    response = client.post("/open311/v2/requests.json", data=data,
                           content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 200, response.data
    return response.json[0]["service_request_id"]


def test_an_agent_hides_a_photo_with_a_reason(app, browser, api_key):
    number = filed_with_a_photo(browser.client, api_key)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    page = browser.get(f"/console/requests/{number}").get_data(as_text=True)
    assert "Photo 1 from the reporter" in page
    empty = browser.post(f"/console/requests/{number}/photos/1/hide", {"reason": "  "})
    assert empty.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(RequestPhoto.hidden_at)) is None
    done = browser.post(f"/console/requests/{number}/photos/1/hide", {"reason": "A face"})
    assert done.status_code == 303
    page = browser.get(f"/console/requests/{number}").get_data(as_text=True)
    assert "Photo 1 is hidden: A face" in page
    with app.app_context():
        assert db.session.scalar(sa.select(RequestPhoto.hidden_reason)) == "A face"


def test_a_call_taker_may_not_hide_a_photo(app, browser, api_key):
    number = filed_with_a_photo(browser.client, api_key)
    browser.sign_in(add_staff(app, "call_taker", CDOT, "c@city.example"))
    page = browser.get(f"/console/requests/{number}").get_data(as_text=True)
    assert "Hide photo" not in page
    refused = browser.post(f"/console/requests/{number}/photos/1/hide", {"reason": "x"})
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(RequestPhoto.hidden_at)) is None
        hidden = sa.select(RequestEvent).where(RequestEvent.action == "hide_photo")
        assert db.session.scalars(hidden).all() == []


def test_an_administrator_adds_staff_who_then_sign_in(app, browser):
    browser.sign_in(add_staff(app, "administrator", CDOT, "root@city.example"))
    browser.get("/console/staff")
    form = {"name": "New Agent", "email": "new@city.example", "role": "agent",
            "department": CDOT, "password": "a long enough password"}  # fmt: skip
    short = browser.post("/console/staff", {**form, "password": "short"})
    assert short.status_code == 303
    with app.app_context():  # nothing kept of a refused form
        assert db.session.scalar(sa.select(Staff).where(Staff.email == form["email"])) is None
    assert browser.post("/console/staff", form).status_code == 303
    page = browser.get("/console/staff").get_data(as_text=True)
    assert "new@city.example" in page
    newcomer = Browser(app.test_client())
    assert newcomer.sign_in(form["email"], form["password"]).status_code == 303
    assert newcomer.get("/console/queue").status_code == 200


def test_an_agent_may_not_open_the_staff_page(app, browser):
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    assert browser.get("/console/staff").status_code == 403
    refused = browser.post("/console/staff", {"name": "X", "email": "x@city.example",
                                              "role": "administrator", "department": CDOT,
                                              "password": PASSWORD})  # fmt: skip
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(Staff).where(Staff.email == "x@city.example")) is None


@pytest.fixture
def redis_prefix():
    if not REDIS_URL:
        pytest.skip("OPEN311_TEST_REDIS_URL is not set (.ci/run sets it)")
    import redis

    prefix = f"open311-test-{uuid.uuid4().hex}"
    connection = redis.Redis.from_url(REDIS_URL)
    yield connection, prefix
    for key in connection.scan_iter(match=f"*{prefix}*"):
        connection.delete(key)


def test_redis_counts_failed_sign_ins_for_every_worker(app, database_url, redis_prefix):
    connection, prefix = redis_prefix
    email = add_staff(app, "agent", CDOT, "r@city.example")
    settings = {"REDIS_URL": REDIS_URL, "RATE_LIMIT_KEY_PREFIX": prefix}
    workers = [Browser(make_app(database_url, **settings).test_client()) for _ in range(2)]
    for n in range(9):
        assert workers[n % 2].sign_in(email, f"wrong {n}").status_code == 401
    assert workers[1].sign_in(email, PASSWORD).status_code == 429
    stored = [key.decode() for key in connection.scan_iter(match=f"*{prefix}*")]
    assert any("console-sign-in-failures" in key for key in stored), stored
