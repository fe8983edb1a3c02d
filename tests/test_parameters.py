"""Input read strictly at the edge: JSON bodies, UTF-8, and one value per parameter.

Each case failed on main before: a 500, an empty form answered with a misleading
403, or a repeated parameter whose first value silently won.
"""

from __future__ import annotations

import pytest
from lxml import etree

from tests.builders import CITY_HALL, bearer, make_staff, pothole_form, stored_requests

CALL_CENTRE = "CDOT - Department of Transportation"
NUMERIC_CITY_HALL = {"lat": 41.883637, "long": -87.630231}


def errors_of(response) -> tuple[set[int], str]:
    """The codes and the descriptions of an <errors> reply, JSON or XML."""
    if response.content_type.startswith("text/xml"):
        root = etree.fromstring(response.data)
        codes = {int(code) for code in root.xpath("/errors/error/code/text()")}
        return codes, " ".join(root.xpath("/errors/error/description/text()"))
    return {e["code"] for e in response.json}, " ".join(e["description"] for e in response.json)


def assert_refused(response, *words: str) -> None:
    codes, descriptions = errors_of(response)
    assert response.status_code == 400, response.data
    assert codes == {400}
    for word in words:
        assert word in descriptions, descriptions


@pytest.fixture
def call_taker(app) -> dict[str, str]:
    return bearer(make_staff(app, "call_taker", CALL_CENTRE))


# --- the staff API's JSON bodies ---------------------------------------------------------


def test_a_call_taker_files_with_lat_and_long_as_json_numbers(app, client, call_taker):
    body = {"service_code": "GRAF", **NUMERIC_CITY_HALL, "description": "Tagged wall"}
    response = client.post("/open311/staff/requests", json=body, headers=call_taker)
    assert response.status_code == 201, response.data
    assert response.json["lat"] == pytest.approx(41.883637)
    assert response.json["long"] == pytest.approx(-87.630231)
    assert stored_requests(app) == 1


def test_json_numbers_answer_number_questions(app, client, call_taker):
    body = {
        "service_code": "PHF",
        **NUMERIC_CITY_HALL,
        "attribute[WHEREIST]": "TRAFFIC",
        "attribute[HAZARDS][]": ["WATER", "DEEP"],
        "attribute[HOWMANY]": 3,
    }
    response = client.post("/open311/staff/requests", json=body, headers=call_taker)
    assert response.status_code == 201, response.data
    number = response.json["service_request_id"]
    shown = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json[0]
    assert shown["attributes"] == {
        "WHEREIST": "TRAFFIC",
        "HAZARDS": ["WATER", "DEEP"],
        "HOWMANY": 3,
    }


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"lat": True}, ["lat"]),
        ({"lat": [41.88, 41.89]}, ["lat"]),
        ({"lat": {"degrees": 41}}, ["lat"]),
        ({"service_code": 7}, ["service_code"]),
        ({"lat": 141.8}, ["lat"]),
        ({"attribute[WHEREIST]": [["TRAFFIC"]]}, ["attribute[WHEREIST]"]),
    ],
    ids=["boolean", "list", "object", "number for text", "out of range", "nested list"],
)
def test_wrong_json_types_are_400s_naming_the_field(app, client, call_taker, overrides, words):
    body = {"service_code": "GRAF", **NUMERIC_CITY_HALL, **overrides}
    response = client.post("/open311/staff/requests", json=body, headers=call_taker)
    assert_refused(response, *words)
    assert stored_requests(app) == 0


@pytest.mark.parametrize("depth", [1025, 100_000])
def test_a_deeply_nested_json_body_is_a_400_naming_the_body(app, client, call_taker, depth):
    deep = b"[" * depth + b"]" * depth
    response = client.post(
        "/open311/staff/requests", data=deep, content_type="application/json", headers=call_taker
    )
    assert_refused(response, "body")
    wrapped = b'{"service_code": "GRAF", "description": ' + deep + b"}"
    response = client.post(
        "/open311/staff/requests", data=wrapped, content_type="application/json", headers=call_taker
    )
    assert_refused(response, "body")
    assert stored_requests(app) == 0


@pytest.mark.parametrize("depth", [10, 1020])
def test_a_nested_value_is_a_400_naming_the_field(app, client, call_taker, depth):
    deep = b"[" * depth + b"]" * depth
    body = b'{"service_code": "GRAF", "lat": 41.88, "long": -87.63, "description": ' + deep + b"}"
    response = client.post(
        "/open311/staff/requests", data=body, content_type="application/json", headers=call_taker
    )
    assert_refused(response, "description" if depth == 10 else "body")
    assert stored_requests(app) == 0


def test_unknown_keys_are_ignored_whatever_their_value(app, client, call_taker):
    body = {"service_code": "GRAF", **NUMERIC_CITY_HALL, "client": {"app": "call centre", "v": [2]}}
    response = client.post("/open311/staff/requests", json=body, headers=call_taker)
    assert response.status_code == 201, response.data


@pytest.mark.parametrize(
    "body",
    [
        b'{"service_code": "GRAF", "description": "caf\xe9"}',  # Latin-1, not UTF-8
        b'{"service_code": "GRAF", "description": "\xed\xa0\x80"}',  # an encoded surrogate
    ],
)
def test_json_that_is_not_utf8_is_a_400_naming_the_body(app, client, call_taker, body):
    response = client.post(
        "/open311/staff/requests", data=body, content_type="application/json", headers=call_taker
    )
    assert_refused(response, "body", "UTF-8")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"GRAF"', b"{", b'{"lat": NaN}'])
def test_json_that_is_not_an_object_is_a_400_naming_the_body(client, call_taker, body):
    response = client.post(
        "/open311/staff/requests", data=body, content_type="application/json", headers=call_taker
    )
    assert_refused(response, "body")


def test_a_key_repeated_in_a_json_object_is_a_400_naming_it(app, client, call_taker):
    body = b'{"service_code": "GRAF", "lat": 41.88, "long": -87.63, "lat": 41.95}'
    response = client.post(
        "/open311/staff/requests", data=body, content_type="application/json", headers=call_taker
    )
    assert_refused(response, "lat", "2 times")
    assert stored_requests(app) == 0


def test_staff_form_fields_keep_every_answer_of_a_multivaluelist(app, client, call_taker):
    form = {
        "service_code": "PHF",
        **CITY_HALL,
        "attribute[WHEREIST]": "TRAFFIC",
        "attribute[HAZARDS][]": ["WATER", "DEEP"],
    }
    response = client.post("/open311/staff/requests", data=form, headers=call_taker)
    assert response.status_code == 201, response.data
    number = response.json["service_request_id"]
    shown = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json[0]
    assert shown["attributes"] == {"WHEREIST": "TRAFFIC", "HAZARDS": ["WATER", "DEEP"]}


# --- form bodies that are not UTF-8 ------------------------------------------------------

NOT_UTF8_FORMS = {
    "raw Latin-1 byte": b"&description=caf\xe9",
    "escaped Latin-1 byte": b"&description=caf%E9",
    "escaped in a name": b"&descr%FFiption=x",
}


def _urlencoded(api_key: str, tail: bytes) -> bytes:
    return f"api_key={api_key}&service_code=GRAF&lat=41.883637&long=-87.630231".encode() + tail


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("tail", NOT_UTF8_FORMS.values(), ids=list(NOT_UTF8_FORMS))
def test_a_form_that_is_not_utf8_is_a_400_naming_the_body(app, client, api_key, fmt, tail):
    response = client.post(
        f"/open311/v2/requests.{fmt}",
        data=_urlencoded(api_key, tail),
        content_type="application/x-www-form-urlencoded",
    )
    assert_refused(response, "body", "UTF-8")
    assert stored_requests(app) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/open311/v2/subscriptions.json",
        "/open311/v2/requests/SR26-00000001/subscriptions.xml",
        "/open311/v2/requests/SR26-00000001/feedback.json",
        "/open311/v2/requests/SR26-00000001/answer.xml",
        "/open311/v2/servicerequestupdates.json",
        "/open311/v2/webhooks.xml",
    ],
)
def test_every_georeport_post_refuses_a_body_that_is_not_utf8(client, api_key, path):
    body = f"api_key={api_key}&email=caf".encode() + b"\xe9@example.org"
    response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert_refused(response, "body", "UTF-8")


def test_a_multipart_field_that_is_not_utf8_is_a_400_naming_the_body(app, client, api_key):
    boundary = "b0undary"
    parts = [("api_key", api_key.encode()), ("service_code", b"GRAF"), ("description", b"caf\xe9")]
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
            for name, value in parts
        )
        + f"--{boundary}--\r\n".encode()
    )
    response = client.post(
        "/open311/v2/requests.json",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert_refused(response, "body", "UTF-8")
    assert stored_requests(app) == 0


def test_a_staff_form_that_is_not_utf8_is_a_400_naming_the_body(app, client, call_taker):
    body = b"service_code=GRAF&lat=41.883637&long=-87.630231&description=caf\xe9"
    response = client.post(
        "/open311/staff/requests",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=call_taker,
    )
    assert_refused(response, "body", "UTF-8")
    assert stored_requests(app) == 0


def test_utf8_text_in_a_form_is_kept(app, client, api_key):
    response = client.post(
        "/open311/v2/requests.json",
        data=_urlencoded(api_key, "&description=café ✓".encode()),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.data
    number = response.json[0]["service_request_id"]
    assert client.get(f"/open311/v2/requests/{number}.json").json[0]["description"] == "café ✓"


# --- one value per parameter -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "url",
    [
        "/open311/v2/requests.{fmt}?service_code=PHF&service_code=GRAF",
        "/open311/v2/requests.{fmt}?page=1&page=2",
        "/open311/v2/services/PHF.{fmt}?extensions=true&extensions=false",
        "/open311/v2/articles.{fmt}?q=pothole&q=graffiti",
    ],
)
def test_a_parameter_repeated_in_the_query_is_a_400_naming_it(client, fmt, url):
    response = client.get(url.format(fmt=fmt))
    name = url.split("?")[1].split("=")[0]
    assert_refused(response, name, "2 times", "query")


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("name", ["service_code", "lat", "description", "api_key"])
def test_a_parameter_repeated_in_the_body_is_a_400_naming_it(app, client, api_key, fmt, name):
    form = pothole_form(api_key)
    form[name] = [form[name], form[name]]
    response = client.post(f"/open311/v2/requests.{fmt}", data=form)
    assert_refused(response, name, "2 times", "body")
    assert stored_requests(app) == 0


def test_the_body_wins_over_the_query_when_each_has_the_key_once(app, client, api_key):
    """Reference 4.11: query and body are merged, the body winning; that is not a repeat."""
    response = client.post(
        "/open311/v2/requests.json?service_code=GRAF&description=from+the+query",
        data=pothole_form(api_key),
    )
    assert response.status_code == 200, response.data
    number = response.json[0]["service_request_id"]
    shown = client.get(f"/open311/v2/requests/{number}.json").json[0]
    assert (shown["service_code"], shown["description"]) == (
        "PHF",
        "Deep pothole in the right lane",
    )


def test_repeated_attribute_and_media_url_are_lists_not_repeats(app, client, api_key):
    """FixMyStreet and Boston repeat attribute[CODE] for multivaluelists (reference 4.6), and
    FixMyStreet repeats media_url for several photos; the first photo is kept."""
    form = pothole_form(
        api_key,
        **{
            "attribute[HAZARDS]": ["WATER", "DEEP"],
            "media_url": ["https://example.org/1.jpg", "https://example.org/2.jpg"],
        },
    )
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 200, response.data
    number = response.json[0]["service_request_id"]
    shown = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json[0]
    assert shown["media_url"] == "https://example.org/1.jpg"


def test_the_staff_queue_takes_repeated_list_filters_but_not_repeated_pages(app, client):
    token = bearer(make_staff(app, "supervisor", CALL_CENTRE))
    lists = client.get("/open311/staff/queue?stage=new&stage=assigned", headers=token)
    assert lists.status_code == 200, lists.data
    pages = client.get("/open311/staff/queue?page=1&page=2", headers=token)
    assert_refused(pages, "page", "2 times")


def test_a_repeated_feed_filter_is_a_400_naming_it(client):
    response = client.get("/open311/feeds/requests.csv?ward=42&ward=43")
    assert response.status_code == 400
    assert b"ward: sent 2 times" in response.data


# --- answers that look like JSON lists ---------------------------------------------------


def test_a_deeply_nested_answer_is_checked_not_a_500(app, client, api_key):
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, **{"attribute[WHEREIST]": deep})
    )
    assert_refused(response, "WHEREIST")
    shallow = '[["TRAFFIC"]]'  # double wrapping seen from a real app (reference 4.6)
    response = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, **{"attribute[WHEREIST]": shallow})
    )
    assert response.status_code == 200, response.data


# --- routing first ----------------------------------------------------------------------


def test_an_undeclared_method_is_405_even_with_a_nul_in_the_query(client):
    """schemathesis' TRACE with %00 in the query got the NUL 400 instead of 405 and Allow."""
    response = client.open("/open311/v2/requests.json?jurisdiction_id=%00", method="TRACE")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
