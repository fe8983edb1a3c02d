"""Each blueprint answers its own errors in its own format; the app answers the rest."""

from __future__ import annotations

import pytest
from flask import Blueprint, Response
from lxml import etree
from werkzeug.exceptions import BadRequest, MethodNotAllowed

from open311.edge import errors as edge_errors
from open311.edge.errors import install_error_handlers
from open311.errors import NotFound, ServiceUnavailable, TooManyRequests
from tests.builders import bearer, make_staff, pothole_form, stored_requests

CDOT = "CDOT - Department of Transportation"


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a bug")


def _descriptions(response) -> list[str]:
    if response.content_type.startswith("text/xml"):
        return etree.fromstring(response.data).xpath("/errors/error/description/text()")
    return [error["description"] for error in response.json]


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("json", "application/json"), ("xml", "text/xml")]
)
def test_an_unexpected_error_is_logged_and_answered_500_in_the_routes_format(
    client, monkeypatch, caplog, fmt, content_type
):
    monkeypatch.setattr("open311.catalog.queries.active_services", _boom)
    response = client.get(f"/open311/v2/services.{fmt}")
    assert response.status_code == 500
    assert response.content_type.startswith(content_type)
    assert _descriptions(response) == ["Internal error; the request was not stored."]
    assert "unhandled error on /open311/v2/services" in caplog.text
    assert "RuntimeError: a bug" in caplog.text


def test_an_unexpected_error_after_a_write_keeps_nothing(app, client, api_key, monkeypatch):
    monkeypatch.setattr("open311.georeport.payloads.post_reply", _boom)
    response = client.post("/open311/v2/requests.xml", data=pothole_form(api_key))
    assert response.status_code == 500
    assert response.content_type.startswith("text/xml")
    assert stored_requests(app) == 0


def test_the_staff_api_answers_its_errors_in_json(app, client, monkeypatch):
    token = make_staff(app, "agent", CDOT)
    missing = client.get("/open311/staff/requests/SR26-99999999", headers=bearer(token))
    assert (missing.status_code, missing.content_type) == (404, "application/json")
    monkeypatch.setattr("open311.staff.payloads.staff_member", _boom)
    broken = client.get("/open311/staff/me", headers=bearer(token))
    assert broken.status_code == 500
    assert broken.json == [
        {"code": 500, "description": "Internal error; the request was not stored."}
    ]


def test_the_feeds_answer_http_and_unexpected_errors_in_json(client, monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise BadRequest("A refusal from below.")

    monkeypatch.setattr("open311.feeds.views.request_filter", refuse)
    refused = client.get("/open311/feeds/requests.csv")
    assert refused.status_code == 400
    assert refused.json == [{"code": 400, "description": "A refusal from below."}]
    monkeypatch.setattr("open311.feeds.views.request_filter", _boom)
    broken = client.get("/open311/feeds/requests.geojson")
    assert broken.status_code == 500
    assert broken.json[0]["code"] == 500


@pytest.mark.parametrize(
    ("method", "path", "status", "content_type"),
    [
        ("GET", "/open311/v2/nothing.json", 404, "application/json"),
        ("GET", "/open311/v2/nothing.xml", 404, "text/xml"),
        ("GET", "/open311/v2/nothing", 404, "text/xml"),  # no suffix: XML (TolerantPaths)
        ("PUT", "/open311/v2/services.json", 405, "application/json"),
        ("GET", "/open311/staff/nothing", 404, "application/json"),
        ("POST", "/open311/staff/requests/SR26-1/likely-parents", 405, "application/json"),
        ("GET", "/open311/feeds/nothing.csv", 404, "application/json"),
        ("GET", "/nothing", 404, "text/html"),  # the resident site's page
        ("DELETE", "/", 405, "text/html"),
    ],
)
def test_paths_no_route_matched_answer_by_their_prefix(client, method, path, status, content_type):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.content_type.startswith(content_type)
    if status == 405:
        assert "GET" in response.headers["Allow"]
    if content_type == "text/html":
        assert b'<main id="main-content"' in response.data
    else:
        assert _descriptions(response)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/open311/v2/services.json", "application/json"), ("/open311/v2/services.xml", "text/xml")],
)
def test_an_outage_classified_as_such_is_a_503_with_retry_after(
    client, monkeypatch, caplog, path, content_type
):
    """`classify` is where exceptions from below become client errors (the database's outages)."""
    monkeypatch.setattr("open311.catalog.queries.active_services", _boom)
    monkeypatch.setattr(
        edge_errors,
        "classify",
        lambda error: ServiceUnavailable("The database is unavailable.", retry_after=7),
    )
    response = client.get(path)
    assert response.status_code == 503
    assert response.content_type.startswith(content_type)
    assert response.headers["Retry-After"] == "7"
    assert _descriptions(response) == ["The database is unavailable."]
    # The classifier logs the outage in one line (tests/live/test_outages.py): no traceback.
    assert "Traceback" not in caplog.text


def _html_errors(pairs: list[tuple[int, str]], status: int) -> Response:
    items = "".join(f"<li>{description}</li>" for _, description in pairs)
    return Response(
        f"<!doctype html><ul>{items}</ul>", status=status, content_type="text/html; charset=utf-8"
    )


def _pages() -> Blueprint:
    """A blueprint that renders its errors as HTML, as the resident site will."""
    pages = Blueprint("pages", __name__, url_prefix="/pages")
    install_error_handlers(pages, _html_errors)

    @pages.get("/missing")
    def missing() -> Response:
        raise NotFound("No such page.")

    @pages.get("/busy")
    def busy() -> Response:
        raise TooManyRequests("Slow down.", retry_after=30)

    @pages.get("/method")
    def method() -> Response:
        raise MethodNotAllowed(valid_methods=["POST"])

    @pages.get("/boom")
    def boom() -> Response:
        raise RuntimeError("a bug")

    return pages


@pytest.mark.parametrize(
    ("path", "status", "words", "header"),
    [
        ("/pages/missing", 404, "<li>No such page.</li>", None),
        ("/pages/busy", 429, "<li>Slow down.</li>", ("Retry-After", "30")),
        ("/pages/method", 405, "<li>The method is not allowed", ("Allow", "POST")),
        ("/pages/boom", 500, "<li>Internal error; the request was not stored.</li>", None),
    ],
)
def test_a_blueprint_plugs_in_its_own_rendering(app, path, status, words, header):
    app.register_blueprint(_pages())
    response = app.test_client().get(path)
    assert response.status_code == status
    assert response.content_type == "text/html; charset=utf-8"
    assert words in response.data.decode()
    if header:
        assert response.headers[header[0]] == header[1]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_answer_lists_20_problems_then_says_how_many_more(app, client, api_key, fmt):
    """A 2.4 MB form of 100,000 unknown attributes once got an 8 MB answer."""
    unknown = {f"attribute[X{n}]": "1" for n in range(100_000)}
    response = client.post(f"/open311/v2/requests.{fmt}", data=pothole_form(api_key, **unknown))
    assert response.status_code == 400
    descriptions = _descriptions(response)
    assert len(descriptions) == 21
    listed = {f"attribute[X{n}] is not a question of this service" for n in range(100_000)}
    assert len(set(descriptions[:20]) & listed) == 20
    assert descriptions[20] == "and 99980 more problems."
    assert len(response.data) < 4000
    assert stored_requests(app) == 0


@pytest.mark.parametrize(("count", "listed"), [(1, 1), (20, 20), (21, 21), (22, 21), (500, 21)])
def test_at_most_20_problems_are_listed_and_the_rest_counted(count, listed):
    pairs = [(400, f"problem {n}") for n in range(count)]
    shown = edge_errors.at_most(pairs, edge_errors.MAX_PROBLEMS)
    assert len(shown) == listed
    assert shown[:20] == pairs[:20]
    if count > 21:
        assert shown[-1] == (400, f"and {count - 20} more problems.")
    else:
        assert shown == pairs
