"""The resident site without a browser: every page, the form's one validation path, CSRF."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from open311.accounts.keys import SITE_KEY_NAME
from open311.extensions import db
from open311.models import ApiKey, Feedback, ServiceRequest
from tests.builders import CITY_HALL, bearer, make_staff, pothole_form

CDOT = "CDOT - Department of Transportation"
OUTSIDE_CHICAGO = {"lat": "41.5868", "long": "-87.3464"}  # Gary, Indiana


def token_of(client: FlaskClient, path: str = "/services/PHF") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]


def file_pothole(client: FlaskClient, **fields: str) -> str:
    form = {"csrf_token": token_of(client), **CITY_HALL, "attribute[WHEREIST]": "CURB", **fields}
    response = client.post("/services/PHF", data=form)
    assert response.status_code == 303, response.text
    return response.headers["Location"].split("/")[2]


def test_home_has_the_911_notice_search_and_track_box(client):
    page = client.get("/?q=pothole")
    assert page.status_code == 200
    assert "call 911" in page.text
    assert 'href="/services/PHF"' in page.text
    assert 'action="/track"' in page.text


def test_service_page_has_a_control_for_every_datatype(client):
    page = client.get("/services/PHF").text
    assert 'type="radio" name="attribute[WHEREIST]" value="CURB"' in page
    assert 'type="checkbox" name="attribute[HAZARDS][]" value="WATER"' in page
    assert 'name="attribute[HOWMANY]" type="text" value="" inputmode="decimal"' in page
    assert 'name="attribute[NOTICED]" type="datetime-local"' in page
    assert 'id="attr-LANDMARK" name="attribute[LANDMARK]" type="text"' in page
    assert '<textarea class="usa-textarea" id="attr-DETAILS" name="attribute[DETAILS]"' in page
    assert "reported to IDOT" in page  # variable = false: a statement, not a question
    assert 'name="attribute[NOTE]"' not in page
    assert "<script>" not in page
    assert " style=" not in page


def test_a_post_without_the_csrf_token_is_refused_and_stores_nothing(app, client):
    response = client.post("/services/PHF", data={**CITY_HALL, "attribute[WHEREIST]": "CURB"})
    assert response.status_code == 400
    assert "This form has expired" in response.text
    token_of(client)  # the visitor has a token; the form sends another, not in ASCII (a 500)
    forged = {**CITY_HALL, "attribute[WHEREIST]": "CURB", "csrf_token": "jeton-\u00fc"}
    response = client.post("/services/PHF", data=forged)
    assert response.status_code == 400
    assert "This form has expired" in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest)) == 0


def test_the_georeport_api_needs_no_csrf_token(client, api_key):
    response = client.post("/open311/v2/requests.json", data=pothole_form(api_key))
    assert response.status_code == 200, response.json


def test_errors_come_from_the_api_rules_beside_each_field_and_in_a_summary(app, client):
    form = {
        "csrf_token": token_of(client),
        "attribute[HOWMANY]": "lots",
        "email": "not-an-email",
    }
    page = client.post("/services/PHF", data=form)
    assert page.status_code == 400
    summary = page.text[page.text.index("There is a problem") :]
    for anchor in ("#address_string", "#attr-WHEREIST", "#attr-HOWMANY", "#email"):
        assert f'href="{anchor}"' in summary
    # The same words the API gives for the same input.
    assert "&#39;lots&#39; is not a number" in page.text
    assert 'id="attr-HOWMANY-error"' in page.text
    assert 'aria-describedby="email-hint email-error"' in page.text
    assert 'value="lots"' in page.text  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest)) == 0


def test_a_pin_outside_the_city_is_refused_beside_the_place(client):
    form = {"csrf_token": token_of(client), **OUTSIDE_CHICAGO, "attribute[WHEREIST]": "CURB"}
    page = client.post("/services/PHF", data=form)
    assert page.status_code == 400
    assert "That place is outside the city" in page.text
    assert 'href="#address_string"' in page.text


def test_filing_goes_through_the_domain_as_channel_web_with_the_site_key(app, client):
    number = file_pothole(client, description="Deep hole", email="jo@example.org")
    done = client.get(f"/requests/{number}/done")
    assert done.status_code == 200
    assert number in done.text
    with app.app_context():
        stored = db.session.scalar(sa.select(ServiceRequest).where(ServiceRequest.number == number))
        key = db.session.get(ApiKey, stored.api_key_id)
        assert (stored.channel, key.name) == ("web", SITE_KEY_NAME)
        assert stored.attributes == {"WHEREIST": "CURB"}
        assert stored.address.endswith("CHICAGO, IL, 60602")  # reverse geocoded from the pin


def test_an_address_alone_places_the_request(app, client):
    number = file_pothole(client, lat="", long="", address_string="121 N LaSalle St")
    with app.app_context():
        stored = db.session.scalar(sa.select(ServiceRequest).where(ServiceRequest.number == number))
        assert stored.lat == pytest.approx(41.8836, abs=0.002)


def test_track_page_shows_the_timeline_and_the_track_box_redirects(client):
    number = file_pothole(client)
    assert (
        client.get(f"/track?number={number.lower()}").headers["Location"] == f"/requests/{number}"
    )
    page = client.get(f"/requests/{number}")
    assert page.status_code == 200
    assert "Pothole in Street Complaint" in page.text
    assert 'id="follow"' in page.text


def test_an_unknown_request_gets_an_html_page_with_the_api_words(client):
    page = client.get("/requests/SR00-404")
    assert page.status_code == 404
    assert page.content_type.startswith("text/html")
    assert "No service request &#39;SR00-404&#39;." in page.text


def test_feedback_once_completed_through_the_api_rules(app, client):
    number = file_pothole(client)
    staff = make_staff(app, "agent", CDOT, email="agent@cdot.example")
    closed = client.post(
        f"/open311/staff/requests/{number}/close",
        json={"reason": "completed", "public_note": "Pothole patched."},
        headers=bearer(staff),
    )
    assert closed.status_code == 200, closed.json
    page = client.get(f"/requests/{number}")
    assert 'id="feedback"' in page.text
    assert "Pothole patched." in page.text
    form = {"csrf_token": token_of(client, f"/requests/{number}"), "rating": "5"}
    assert client.post(f"/requests/{number}/feedback", data=form).status_code == 303
    again = client.post(f"/requests/{number}/feedback", data=form)
    assert "feedback already" in client.get(again.headers["Location"]).text
    with app.app_context():
        assert db.session.scalar(sa.select(Feedback.rating)) == 5


def test_spanish_from_accept_language_then_the_remembered_switch(client):
    spanish = client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert "¿Qué necesita?" in spanish.text
    assert '<html lang="es">' in spanish.text
    switched = client.get("/language/en?next=/help")
    assert switched.headers["Location"] == "/help"
    english = client.get("/", headers={"Accept-Language": "es"})
    assert "What do you need?" in english.text
    assert client.get("/language/es?next=https://evil.example/").headers["Location"] == "/"


def test_help_pages_render_articles_as_html(client):
    assert client.get("/help").status_code == 200
    assert client.get("/help/nothing-here").status_code == 404


def test_the_map_data_is_geojson_and_the_pin_address_is_reverse_geocoded(client):
    city = client.get("/map/city.geojson").json
    assert city["features"][0]["properties"]["kind"] == "city"
    place = client.get("/map/place.json?" + "lat=41.883637&long=-87.630231").json
    assert place["inside"] is True
    assert "CHICAGO" in place["address"]
    assert client.get("/map/place.json?lat=41.5868&long=-87.3464").json == {
        "inside": False,
        "address": None,
    }


def test_near_me_lists_requests_around_an_address_with_the_api_filters(client):
    number = file_pothole(client)
    page = client.get("/near?address=121+N+LaSalle+St&service_code=PHF&status=open")
    assert page.status_code == 200
    assert f'href="/requests/{number}"' in page.text
    far = client.get("/near?address=10259+S+Halsted+St")
    assert f'href="/requests/{number}"' not in far.text
    bad = client.get("/near?service_code=PHF&start_date=yesterday")
    assert bad.status_code == 400
    assert "start_date" in bad.text  # the API's own words
    assert client.get("/near").status_code == 200


def test_a_double_submit_files_once_but_two_browsers_file_twice(app, client):
    form = {"csrf_token": token_of(client), **CITY_HALL, "attribute[WHEREIST]": "CURB"}
    first = client.post("/services/PHF", data=form).headers["Location"]
    again = client.post("/services/PHF", data=form).headers["Location"]
    assert first == again  # the API's replay rule: the same browser, the same report
    other = app.test_client()
    neighbour = {**form, "csrf_token": token_of(other)}
    assert other.post("/services/PHF", data=neighbour).headers["Location"] != first


@pytest.mark.parametrize(
    "path",
    [
        "/map/place.json?lat=nan&long=1",
        "/map/place.json?lat=91&long=0",
        "/map/place.json",
        "/near?page=abc&service_code=PHF",
        "/near?community_area=nowhere",
        "/near?status=lost",
        "/near?address=%00",
        "/language/xx?next=//evil.example",
        "/help?q=%3Cscript%3E",
        "/help?q=" + "x" * 5000,
        "/?q=%22OR%20NEAR(",
        "/track?number=%25",
        "/services/NOPE",
        "/requests/x/done",
    ],
)
def test_odd_input_gets_a_page_never_a_500(client, path):
    assert client.get(path).status_code < 500


def test_odd_form_input_gets_the_form_back_never_a_500(client):
    token = token_of(client)
    for form in (
        {"attribute[NOPE]": "x", "lat": "abc", "long": "1e400"},
        {"attribute[WHEREIST]": ["CURB", "TRAFFIC"], **CITY_HALL},
        {"attribute[HOWMANY]": "1e999", "attribute[NOTICED]": "someday", **CITY_HALL},
        {
            "description": "x" * 5000,
            "address_string": "nowhere at all",
            "attribute[WHEREIST]": "CURB",
        },
    ):
        response = client.post("/services/PHF", data={"csrf_token": token, **form})
        assert response.status_code == 400, response.text
        assert "There is a problem" in response.text
