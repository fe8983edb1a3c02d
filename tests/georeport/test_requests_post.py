"""POST /requests: filing, numbers, keys, tokens, review, privacy, replays."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from lxml import etree

from open311.extensions import db
from open311.models import ServiceRequest
from tests.builders import CITY_HALL, pothole_form, stored_request, stored_requests

NUMBER = re.compile(r"^SR\d\d-\d{8}$")
PRIVATE_VALUES = ("resident@example.org", "Jo", "Resident", "3125550100", "device-1", "account-1")


def test_realtime_post_returns_a_chicago_style_number(client, api_key):
    response = client.post("/open311/v2/requests.json", data=pothole_form(api_key))
    assert response.status_code == 200
    [reply] = response.json
    assert NUMBER.match(reply["service_request_id"])
    assert "token" not in reply
    assert reply["service_notice"] == "Pothole repairs are generally completed within 7 days."


def test_posted_request_is_stored_with_its_answers_and_place(app, client, api_key):
    form = pothole_form(
        api_key, **{"attribute[HOWMANY]": "3", "attribute[HAZARDS][]": ["WATER", "DEEP"]}
    )
    number = client.post("/open311/v2/requests.json", data=form).json[0]["service_request_id"]
    stored = stored_request(app, number)
    assert stored.attributes == {"WHEREIST": "TRAFFIC", "HOWMANY": 3, "HAZARDS": ["WATER", "DEEP"]}
    assert (stored.lat, stored.long) == (41.883637, -87.630231)
    assert stored.email == "resident@example.org"
    assert stored.agency_responsible == "CDOT - Department of Transportation"


def test_numbers_count_up_within_the_year(client, api_key):
    first = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, description="one")
    ).json[0]
    second = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, description="two")
    ).json[0]
    a, b = (int(r["service_request_id"].split("-")[1]) for r in (first, second))
    assert b == a + 1


def test_xml_post_reply_has_the_id_and_no_token(client, api_key):
    response = client.post("/open311/v2/requests.xml", data=pothole_form(api_key))
    root = etree.fromstring(response.data)
    assert root.tag == "service_requests"
    assert NUMBER.match(root.findtext("request/service_request_id"))
    assert root.find("request/token") is None


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_private_reporter_fields_never_appear_in_public_output(client, api_key, fmt):
    number = client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
        "service_request_id"
    ]
    for path in (f"/open311/v2/requests/{number}.{fmt}", f"/open311/v2/requests.{fmt}"):
        body = client.get(path).data.decode()
        assert number in body
        for private in PRIVATE_VALUES:
            assert private not in body, (path, private)


def test_batch_service_returns_a_token_that_resolves_at_once(client, api_key):
    form = {"api_key": api_key, "service_code": "SCB", **CITY_HALL}
    [reply] = client.post("/open311/v2/requests.json", data=form).json
    assert set(reply) == {"token", "service_notice", "account_id"}
    [resolved] = client.get(f"/open311/v2/tokens/{reply['token']}.json").json
    assert resolved["token"] == reply["token"]
    assert NUMBER.match(resolved["service_request_id"])
    xml = etree.fromstring(client.get(f"/open311/v2/tokens/{reply['token']}.xml").data)
    assert xml.findtext("request/service_request_id") == resolved["service_request_id"]


def test_reviewed_service_stays_private_until_the_city_accepts_it(app, client, api_key):
    form = {
        "api_key": api_key,
        "service_code": "BBA",
        **CITY_HALL,
        "description": "Porch collapsing",
    }
    token = client.post("/open311/v2/requests.json", data=form).json[0]["token"]
    [pending] = client.get(f"/open311/v2/tokens/{token}.json").json
    assert pending == {"token": token}
    assert "Porch collapsing" not in client.get("/open311/v2/requests.json").data.decode()

    number = stored_number_for_token(app, token)
    result = app.test_cli_runner().invoke(
        args=["open311", "review", number, "--accept", "--note", "Inspection scheduled"]
    )
    assert result.exit_code == 0, result.output
    [accepted] = client.get(f"/open311/v2/tokens/{token}.json").json
    assert accepted == {"service_request_id": number, "token": token}
    [public] = client.get(f"/open311/v2/requests/{number}.json").json
    assert public["status_notes"] == "Inspection scheduled"


def stored_number_for_token(app, token):
    with app.app_context():
        return db.session.scalar(
            sa.select(ServiceRequest.number).where(ServiceRequest.token == token)
        )


def test_unknown_token_is_404_in_both_formats(client):
    assert client.get("/open311/v2/tokens/nope.json").status_code == 404
    response = client.get("/open311/v2/tokens/nope.xml")
    assert response.status_code == 404
    assert etree.fromstring(response.data).findtext("error/code") == "404"


@pytest.mark.parametrize("where", ["body", "query", "bearer"])
def test_api_key_is_accepted_from_body_query_or_bearer_header(client, api_key, where):
    form = pothole_form(api_key)
    del form["api_key"]
    query, headers = "", {}
    if where == "body":
        form["api_key"] = api_key
    elif where == "query":
        query = f"?api_key={api_key}"
    else:
        headers = {"Authorization": f"Bearer {api_key}"}
    response = client.post(f"/open311/v2/requests.json{query}", data=form, headers=headers)
    assert response.status_code == 200, response.json


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("key", [None, "", "not-a-key"])
def test_post_without_a_valid_key_is_403_and_stores_nothing(app, client, api_key, key, fmt):
    response = client.post(f"/open311/v2/requests.{fmt}", data=pothole_form(key))
    assert response.status_code == 403
    if fmt == "json":
        assert response.json[0]["code"] == 403
        assert "api_key" in response.json[0]["description"]
    else:
        assert etree.fromstring(response.data).findtext("error/code") == "403"
    assert stored_requests(app) == 0


def test_revoked_key_gets_403(app, client, api_key):
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["open311", "list-keys"]).output
    key_id = listing.split("\t")[0]
    assert api_key[:8] in listing
    assert api_key not in listing
    assert runner.invoke(args=["open311", "revoke-key", key_id]).exit_code == 0
    response = client.post("/open311/v2/requests.json", data=pothole_form(api_key))
    assert response.status_code == 403
    assert stored_requests(app) == 0


@pytest.mark.parametrize(
    "encoding",
    [
        {"attribute[HAZARDS][]": ["WATER", "DEEP"]},  # the spec
        {"attribute[HAZARDS]": ["WATER", "DEEP"]},  # repeated key (FixMyStreet, Boston)
        {"attribute[HAZARDS][0]": "WATER", "attribute[HAZARDS][1]": "DEEP"},  # indexed (node qs)
        {"attribute[HAZARDS]": "WATER,DEEP"},  # a comma list
        {"attribute[HAZARDS]": '[["WATER", "DEEP"]]'},  # double-wrapped (Bloomington's app)
    ],
)
def test_every_multivaluelist_encoding_gives_the_same_answer(app, client, api_key, encoding):
    number = client.post("/open311/v2/requests.json", data=pothole_form(api_key, **encoding)).json[
        0
    ]["service_request_id"]
    assert stored_request(app, number).attributes["HAZARDS"] == ["WATER", "DEEP"]


def test_empty_jurisdiction_is_absent_and_a_foreign_one_is_404(app, client, api_key):
    ok = client.post("/open311/v2/requests.json", data=pothole_form(api_key, jurisdiction_id=""))
    assert ok.status_code == 200
    ours = client.post(
        "/open311/v2/requests.json",
        data=pothole_form(api_key, jurisdiction_id="cityofchicago.org", description="other"),
    )
    assert ours.status_code == 200
    foreign = client.post(
        "/open311/v2/requests.json",
        data=pothole_form(api_key, jurisdiction_id="sfgov.org", description="third"),
    )
    assert foreign.status_code == 404
    assert "cityofchicago.org" in foreign.json[0]["description"]
    assert stored_requests(app) == 2


def test_media_url_is_stored_and_returned_as_one_string(client, api_key):
    url = "https://images.example.org/pothole.jpg"
    number = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, media_url=url)
    ).json[0]["service_request_id"]
    assert client.get(f"/open311/v2/requests/{number}.json").json[0]["media_url"] == url


def test_address_string_is_kept_and_coordinates_get_the_nearest_address(client, api_key):
    with_address = pothole_form(api_key, address_string="121 N LaSalle St")
    number = client.post("/open311/v2/requests.json", data=with_address).json[0][
        "service_request_id"
    ]
    assert (
        client.get(f"/open311/v2/requests/{number}.json").json[0]["address"] == "121 N LaSalle St"
    )
    # The City's 2014 Open311 record puts 1200 W 81ST ST, 60620 at exactly this point.
    halsted_and_81st = pothole_form(api_key, lat="41.74685764", long="-87.6536401", description="b")
    number = client.post("/open311/v2/requests.json", data=halsted_and_81st).json[0][
        "service_request_id"
    ]
    [stored] = client.get(f"/open311/v2/requests/{number}.json").json
    assert stored["address"].startswith("12")
    assert stored["address"].endswith(" W 81ST ST, CHICAGO, IL, 60620")
    assert stored["zipcode"] == "60620"


def test_address_alone_is_geocoded(client, api_key):
    form = pothole_form(api_key, lat=None, long=None, address_string="10259 S Halsted St")
    number = client.post("/open311/v2/requests.json", data=form).json[0]["service_request_id"]
    [stored] = client.get(f"/open311/v2/requests/{number}.json").json
    assert stored["address"].startswith("10259 S HALSTED ST, CHICAGO, IL")
    # The City recorded 10259 S HALSTED ST at 41.7069249, -87.6428397.
    assert abs(stored["lat"] - 41.7069249) < 0.0014
    assert abs(stored["long"] - -87.6428397) < 0.0018


def test_multipart_posts_are_accepted(client, api_key):
    import io

    from tests.media.photos import jpeg

    data = {**pothole_form(api_key), "media": (io.BytesIO(jpeg()), "photo.jpg")}
    response = client.post(
        "/open311/v2/requests.json", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    # A file that only starts like a JPEG is refused, not dropped (tests/media has the rest).
    data = {**pothole_form(api_key), "media": (io.BytesIO(b"\xff\xd8jpeg"), "photo.jpg")}
    response = client.post(
        "/open311/v2/requests.json", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response.json[0]["description"].startswith("media")


def test_unicode_and_xml_special_characters_round_trip(client, api_key):
    text = "Bache profond & <dangereux> près de l'école — 路面坑洞\r\nSecond line"
    number = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, description=text)
    ).json[0]["service_request_id"]
    assert client.get(f"/open311/v2/requests/{number}.json").json[0]["description"] == text
    xml = etree.fromstring(client.get(f"/open311/v2/requests/{number}.xml").data)
    assert xml.findtext("request/description") == text
