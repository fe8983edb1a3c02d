"""The call-taker's intake: search, the service's questions, the open requests nearby,
following instead of filing, filing (channel phone), and who may use it."""

from __future__ import annotations

import re

import sqlalchemy as sa

from open311.extensions import db
from open311.models import Subscription
from tests.builders import CITY_HALL, pothole_form, stored_request, stored_requests
from tests.console.conftest import CDOT, add_staff

ANSWERS = {**CITY_HALL, "attribute[WHEREIST]": "TRAFFIC", "description": "Caller: deep hole",
           "email": "caller@example.org", "first_name": "Ana"}  # fmt: skip


def call_taker(app, browser):
    browser.sign_in(add_staff(app, "call_taker", CDOT, "ct@city.example"))


def subscriptions(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) or 0


def test_search_finds_the_service_and_the_form_asks_its_questions(app, browser):
    call_taker(app, browser)
    home = browser.get("/console/queue").get_data(as_text=True)
    assert 'href="/console/intake"' in home
    found = browser.get("/console/intake?q=pothole").get_data(as_text=True)
    assert "/console/intake/PHF" in found
    form = browser.get("/console/intake/PHF").get_data(as_text=True)
    assert 'name="attribute[WHEREIST]"' in form
    assert 'name="address_string"' in form


def test_a_call_taker_files_for_a_caller(app, browser):
    call_taker(app, browser)
    checked = browser.post("/console/intake/PHF", {**ANSWERS, "step": "check"})
    assert checked.status_code == 200
    page = checked.get_data(as_text=True)
    assert "No open request of this service near that place." in page
    assert stored_requests(app) == 0
    filed = browser.post("/console/intake/PHF", {**ANSWERS, "step": "file"})
    assert filed.status_code == 303
    number = filed.headers["Location"].rsplit("/", 1)[-1]
    stored = stored_request(app, number)
    assert stored.channel == "phone"
    assert stored.email == "caller@example.org"
    assert stored.attributes == {"WHEREIST": "TRAFFIC"}
    shown = browser.get(filed.headers["Location"])
    assert shown.status_code == 200
    # The answer as the caller heard it, not its codes.
    assert "<dt>Where is the pothole?</dt><dd>Traffic lane</dd>" in shown.get_data(as_text=True)


def form_key(page: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert found, "the intake form carries its own key"
    return found.group(1)


def test_the_same_form_filed_twice_files_once(app, browser):
    call_taker(app, browser)
    checked = browser.post("/console/intake/PHF", {**ANSWERS, "step": "check"})
    key = form_key(checked.get_data(as_text=True))
    assert key == form_key(checked.get_data(as_text=True))  # the checks keep it
    first = browser.post("/console/intake/PHF", {**ANSWERS, "idempotency_key": key, "step": "file"})
    again = browser.post("/console/intake/PHF", {**ANSWERS, "idempotency_key": key, "step": "file"})
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert stored_requests(app) == 1
    page = browser.get(again.headers["Location"]).get_data(as_text=True)
    number = again.headers["Location"].rsplit("/", 1)[-1]
    assert f"Request {number} was filed already for this caller." in page


def test_two_callers_with_the_same_words_get_a_request_each(app, browser):
    call_taker(app, browser)
    keys = [form_key(browser.get("/console/intake/PHF").get_data(as_text=True)) for _ in "ab"]
    assert keys[0] != keys[1]
    filed = [
        browser.post("/console/intake/PHF", {**ANSWERS, "idempotency_key": key, "step": "file"})
        for key in keys
    ]
    assert filed[0].headers["Location"] != filed[1].headers["Location"]
    assert stored_requests(app) == 2


def test_a_filed_form_sent_again_with_other_answers_is_refused_with_a_new_form(app, browser):
    call_taker(app, browser)
    key = form_key(browser.get("/console/intake/PHF").get_data(as_text=True))
    browser.post("/console/intake/PHF", {**ANSWERS, "idempotency_key": key, "step": "file"})
    changed = {**ANSWERS, "description": "Caller: two holes", "idempotency_key": key}
    refused = browser.post("/console/intake/PHF", {**changed, "step": "file"})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "This form was filed already with other answers" in page
    assert "Caller: two holes" in page  # the call-taker's answers are kept
    assert form_key(page) != key
    assert stored_requests(app) == 1
    filed = browser.post("/console/intake/PHF", {**changed, "idempotency_key": form_key(page),
                                                  "step": "file"})  # fmt: skip
    assert filed.status_code == 303
    assert stored_requests(app) == 2


def test_bad_answers_are_shown_beside_their_fields_and_nothing_is_stored(app, browser):
    call_taker(app, browser)
    bad = {**ANSWERS, "attribute[WHEREIST]": "", "lat": "", "long": "", "email": "not-an-email"}
    response = browser.post("/console/intake/PHF", {**bad, "step": "file"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="attr-WHEREIST-error"' in page
    assert 'id="address_string-error"' in page
    assert 'id="email-error"' in page
    assert stored_requests(app) == 0


def test_the_nearby_open_request_is_offered_and_following_files_nothing(app, browser, api_key):
    reported = browser.client.post("/open311/v2/requests.json", data=pothole_form(api_key))
    number = reported.json[0]["service_request_id"]
    call_taker(app, browser)
    checked = browser.post("/console/intake/PHF", {**ANSWERS, "step": "check"})
    page = checked.get_data(as_text=True)
    assert "Already reported?" in page
    assert f"/console/intake/follow/{number}" in page
    before = subscriptions(app)
    followed = browser.post(f"/console/intake/follow/{number}", {"email": "caller@example.org"})
    assert followed.status_code == 303
    assert stored_requests(app) == 1
    with app.app_context():
        added = db.session.scalars(
            sa.select(Subscription).where(Subscription.address == "caller@example.org")
        ).all()
    assert subscriptions(app) == before + 1
    assert len(added) == 1
    assert added[0].confirmed_at is None  # double opt-in: the caller is asked first
    assert added[0].confirmation_sent_at is not None


def test_a_request_elsewhere_is_not_offered(app, browser, api_key):
    browser.client.post("/open311/v2/requests.json",
                        data=pothole_form(api_key, lat="41.95", long="-87.70"))  # fmt: skip
    call_taker(app, browser)
    page = browser.post("/console/intake/PHF", {**ANSWERS, "step": "check"}).get_data(as_text=True)
    assert "No open request of this service near that place." in page


def test_staff_who_may_not_file_are_refused(app, browser):
    browser.sign_in(add_staff(app, "agent", CDOT, "agent@city.example"))
    queue = browser.get("/console/queue").get_data(as_text=True)
    assert 'href="/console/intake"' not in queue
    assert browser.get("/console/intake").status_code == 403
    assert browser.get("/console/intake/PHF").status_code == 403
    refused = browser.post("/console/intake/PHF", {**ANSWERS, "step": "file"})
    assert refused.status_code == 403
    assert stored_requests(app) == 0


def test_an_address_that_cannot_be_placed_is_shown_beside_it(app, browser):
    call_taker(app, browser)
    unplaced = {**ANSWERS, "lat": "", "long": "", "address_string": "99999 Nowhere Blvd"}
    response = browser.post("/console/intake/PHF", {**unplaced, "step": "check"})
    assert response.status_code == 400
    assert 'id="address_string-error"' in response.get_data(as_text=True)
    assert stored_requests(app) == 0


def test_following_without_the_callers_contact_stores_nothing(app, browser, api_key):
    reported = browser.client.post("/open311/v2/requests.json", data=pothole_form(api_key))
    number = reported.json[0]["service_request_id"]
    call_taker(app, browser)
    browser.get("/console/intake")
    before = subscriptions(app)
    refused = browser.post(f"/console/intake/follow/{number}", {"email": "", "phone": ""})
    assert refused.status_code == 303
    assert "exactly one of email, phone" in browser.get("/console/intake").get_data(as_text=True)
    assert subscriptions(app) == before
    assert (
        browser.post("/console/intake/follow/SR-NOT-THERE", {"email": "a@b.org"}).status_code == 404
    )
