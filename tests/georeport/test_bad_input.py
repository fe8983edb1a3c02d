"""Every bad POST gets a clear error in the caller's format and stores nothing."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.builders import pothole_form, stored_guards, stored_requests

# (overrides of a valid pothole POST, HTTP status, words the error must contain)
BAD_POSTS = {
    "unknown service": ({"service_code": "NOPE"}, 404, ["service_code", "NOPE"]),
    "inactive service": ({"service_code": "OLD"}, 404, ["service_code", "OLD"]),
    "no service code": ({"service_code": ""}, 400, ["service_code"]),
    "no location": ({"lat": None, "long": None}, 400, ["lat", "long"]),
    "unplaceable address": (
        {"lat": None, "long": None, "address_string": "4 Privet Drive, Little Whinging"},
        400,
        ["address_string", "Privet"],
    ),
    "address_id alone": ({"lat": None, "long": None, "address_id": "545483"}, 400, ["address_id"]),
    "lat without long": ({"long": None}, 400, ["lat"]),
    "zero zero": ({"lat": "0", "long": "0"}, 400, ["0,0"]),
    "outside the city": ({"lat": "40.7128", "long": "-74.0060"}, 400, ["outside"]),
    "latitude out of range": ({"lat": "141.8"}, 400, ["lat"]),
    "latitude not a number": ({"lat": "north"}, 400, ["lat"]),
    "latitude nan": ({"lat": "nan"}, 400, ["lat"]),
    "missing required attribute": ({"attribute[WHEREIST]": None}, 400, ["WHEREIST required"]),
    "unknown option key": ({"attribute[WHEREIST]": "SKY"}, 400, ["WHEREIST", "SKY"]),
    "two values for a single list": (
        {"attribute[WHEREIST]": ["TRAFFIC", "CURB"]},
        400,
        ["WHEREIST"],
    ),
    "unknown multivalue key": (
        {"attribute[HAZARDS][]": ["WATER", "LAVA"]},
        400,
        ["HAZARDS", "LAVA"],
    ),
    "number not a number": ({"attribute[HOWMANY]": "several"}, 400, ["HOWMANY", "number"]),
    "number above maximum": ({"attribute[HOWMANY]": "1000"}, 400, ["HOWMANY", "maximum"]),
    "malformed datetime attribute": (
        {"attribute[NOTICED]": "last tuesday"},
        400,
        ["NOTICED", "W3C"],
    ),
    "string with a line break": ({"attribute[LANDMARK]": "one\ntwo"}, 400, ["LANDMARK", "line"]),
    "unknown attribute code": ({"attribute[COLOUR]": "red"}, 400, ["COLOUR"]),
    "oversize description": ({"description": "x" * 4001}, 400, ["description", "4000"]),
    "media_url not a url": ({"media_url": "photo.jpg"}, 400, ["media_url"]),
    "media_url ftp": ({"media_url": "ftp://example.org/a.jpg"}, 400, ["media_url"]),
    "media_url too long": ({"media_url": "https://example.org/" + "a" * 2100}, 400, ["media_url"]),
    "bad email": ({"email": "not-an-email"}, 400, ["email"]),
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("case", BAD_POSTS, ids=list(BAD_POSTS))
def test_bad_post_is_refused_with_an_error_naming_the_field(app, client, api_key, case, fmt):
    overrides, status, words = BAD_POSTS[case]
    response = client.post(f"/open311/v2/requests.{fmt}", data=pothole_form(api_key, **overrides))
    assert response.status_code == status
    if fmt == "json":
        codes = [error["code"] for error in response.json]
        descriptions = " ".join(error["description"] for error in response.json)
    else:
        root = etree.fromstring(response.data)
        codes = [int(code) for code in root.xpath("/errors/error/code/text()")]
        descriptions = " ".join(root.xpath("/errors/error/description/text()"))
    assert set(codes) == {status}
    for word in words:
        assert word in descriptions
    assert stored_requests(app) == 0
    assert stored_guards(app) == 0


def test_several_problems_are_reported_together(client, api_key):
    form = pothole_form(api_key, **{"attribute[WHEREIST]": None, "attribute[HOWMANY]": "many"})
    descriptions = [
        error["description"] for error in client.post("/open311/v2/requests.json", data=form).json
    ]
    assert "WHEREIST required" in descriptions
    assert any("HOWMANY" in d for d in descriptions)


@pytest.mark.parametrize(
    "path", ["/open311/v2/nothing.json", "/open311/v2/requests/SR26-99999999.json"]
)
def test_unknown_paths_and_requests_are_404_in_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json[0]["code"] == 404


def test_wrong_method_is_405_in_the_callers_format(client):
    response = client.delete("/open311/v2/services.xml")
    assert response.status_code == 405
    assert etree.fromstring(response.data).findtext("error/code") == "405"


def test_oversize_body_is_413_in_format_and_stores_nothing(app, client, api_key):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post(
        "/open311/v2/requests.json", data=pothole_form(api_key, description="x" * 2000)
    )
    assert response.status_code == 413
    assert response.json[0]["code"] == 413
    assert stored_requests(app) == 0


@pytest.mark.parametrize(
    "url",
    [
        "/open311/v2/requests.json?service_code=%00",
        "/open311/v2/requests.xml?ward=42%00",
        "/open311/v2/requests/SR26%00.json",
        "/open311/feeds/requests.csv?community_area=%00",
        "/open311/staff/queue?service_code=%00",
    ],
)
def test_a_nul_byte_in_a_path_or_query_is_a_400_not_a_500(client, url):
    """PostgreSQL text cannot hold NUL: it is refused before any query (schemathesis found it)."""
    response = client.get(url)
    assert response.status_code == 400
    assert b"NUL bytes" in response.data
