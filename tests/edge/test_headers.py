"""Security headers (issue 14, item 9): nosniff everywhere; on pages a CSP without inline
code, no framing and a referrer policy; HSTS only when served over HTTPS."""

from __future__ import annotations

import pytest
from flask import Response

from open311.edge.headers import content_security_policy
from tests.conftest import make_app

PAGE = "/test-page"
EVERY_KIND = [
    ("GET", "/open311/v2/services.json"),  # JSON
    ("GET", "/open311/v2/services.xml"),  # XML
    ("GET", "/open311/feeds/requests.csv"),  # a feed
    ("GET", "/open311/unsubscribe/forged.token"),  # an HTML page (a 404)
    ("GET", "/open311/v2/nothing.json"),  # an error no route owns
    ("PUT", "/open311/v2/services.json"),  # a 405
    ("GET", "/nothing"),  # plain text
    ("OPTIONS", "/open311/v2/services.json"),
]


@pytest.fixture
def page_client(app):
    """The app with one plain HTML page, as the site's pages will be."""

    @app.get(PAGE)
    def page() -> Response:
        return Response("<!doctype html><title>t</title>", content_type="text/html; charset=utf-8")

    return app.test_client()


@pytest.mark.parametrize(("method", "path"), EVERY_KIND)
def test_every_response_says_nosniff(client, method, path):
    assert client.open(path, method=method).headers["X-Content-Type-Options"] == "nosniff"


def test_pages_get_a_policy_that_allows_no_inline_code_and_no_other_origin(page_client):
    policy = page_client.get(PAGE).headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    # and the map's tile server (MAP_TILES_URL, OpenStreetMap's by default), images only
    assert directives["img-src"] == "'self' data: https://tile.openstreetmap.org"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in policy


def test_pages_may_not_be_framed(page_client):
    headers = page_client.get(PAGE).headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_tell_other_sites_only_our_origin(page_client):
    assert page_client.get(PAGE).headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_a_page_whose_url_holds_a_token_sends_no_referrer(client):
    page = client.get("/open311/unsubscribe/forged.token")
    assert page.content_type.startswith("text/html")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" in page.headers  # the other page headers stay


def test_api_answers_carry_no_page_headers(client):
    headers = client.get("/open311/v2/services.json").headers
    assert "Content-Security-Policy" not in headers
    assert "X-Frame-Options" not in headers


@pytest.mark.parametrize(
    ("setting", "img_src"),
    [
        ("https://tile.openstreetmap.org", "'self' data: https://tile.openstreetmap.org"),
        (
            "https://a.tiles.example, https://b.tiles.example",
            "'self' data: https://a.tiles.example https://b.tiles.example",
        ),
        (["https://tiles.example"], "'self' data: https://tiles.example"),
    ],
)
def test_more_image_sources_come_from_the_config(setting, img_src):
    policy = content_security_policy({"CSP_IMG_SOURCES": setting})
    assert f"img-src {img_src};" in policy


@pytest.mark.parametrize("setting", ["'unsafe-inline'", "https://x.example; script-src *"])
def test_an_image_source_cannot_open_the_policy(setting):
    with pytest.raises(ValueError, match="CSP_IMG_SOURCES"):
        content_security_policy({"CSP_IMG_SOURCES": setting})


def test_hsts_only_when_served_over_https(database_url):
    plain = make_app(database_url).test_client().get("/nothing")
    assert "Strict-Transport-Security" not in plain.headers
    secure = make_app(database_url, SERVED_OVER_HTTPS=True).test_client()
    for path in ("/open311/v2/nothing.json", "/open311/unsubscribe/forged.token"):
        assert secure.get(path).headers["Strict-Transport-Security"] == "max-age=31536000"
