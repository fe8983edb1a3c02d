"""A partner develops against /open311/sandbox/v2/: the same API, its own keys and store,
and nothing filed there reaches production's lists, queue or feeds."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

from open311 import sandbox
from tests.builders import bearer, make_staff, pothole_form, stored_requests
from tests.media import photos
from tests.observability.conftest import sample

SANDBOX = "/open311/sandbox/v2"
PRODUCTION = "/open311/v2"
FILED = "open311_service_requests_filed_total"
CDOT = "CDOT - Department of Transportation"  # the test catalogue's pothole department


def file_in_sandbox(client, key: str, fmt: str = "json", **overrides: str) -> str:
    response = client.post(f"{SANDBOX}/requests.{fmt}", data=pothole_form(key, **overrides))
    assert response.status_code == 200, response.data
    if fmt == "json":
        return str(response.json[0]["service_request_id"])
    return str(etree.fromstring(response.data).findtext("request/service_request_id"))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_partner_files_reads_back_and_lists_in_the_sandbox(client, sandbox_key, fmt):
    number = file_in_sandbox(client, sandbox_key, fmt, description="Sandbox pothole")
    one = client.get(f"{SANDBOX}/requests/{number}.{fmt}")
    listed = client.get(f"{SANDBOX}/requests.{fmt}")
    assert one.status_code == listed.status_code == 200
    if fmt == "json":
        assert one.json[0]["description"] == "Sandbox pothole"
        assert [r["service_request_id"] for r in listed.json] == [number]
    else:
        assert etree.fromstring(one.data).findtext("request/description") == "Sandbox pothole"
        ids = etree.fromstring(listed.data).xpath(
            "/service_requests/request/service_request_id/text()"
        )
        assert ids == [number]


def test_the_sandbox_serves_production_catalogue(client):
    production = client.get(f"{PRODUCTION}/services.json").json
    assert client.get(f"{SANDBOX}/services.json").json == production
    definition = client.get(f"{SANDBOX}/services/PHF.xml")
    assert etree.fromstring(definition.data).findtext("service_code") == "PHF"


def test_what_is_filed_in_the_sandbox_never_reaches_production(app, client, sandbox_key):
    number = file_in_sandbox(client, sandbox_key)
    assert stored_requests(app) == 0  # production's store holds nothing
    for fmt in ("json", "xml"):
        assert client.get(f"{PRODUCTION}/requests/{number}.{fmt}").status_code == 404
        assert number.encode() not in client.get(f"{PRODUCTION}/requests.{fmt}").data
    for feed in ("csv", "geojson", "ndjson"):
        answer = client.get(f"/open311/feeds/requests.{feed}")
        assert answer.status_code == 200
        assert number.encode() not in answer.data
    token = make_staff(app, "supervisor", CDOT)
    queue = client.get(f"/open311/staff/queue?department={CDOT}", headers=bearer(token))
    assert queue.status_code == 200
    assert number not in queue.get_data(as_text=True)


def test_what_is_filed_in_production_never_appears_in_the_sandbox(client, api_key):
    filed = client.post(f"{PRODUCTION}/requests.json", data=pothole_form(api_key))
    number = filed.json[0]["service_request_id"]
    assert client.get(f"{SANDBOX}/requests/{number}.json").status_code == 404
    assert client.get(f"{SANDBOX}/requests.json").json == []


def test_sandbox_numbers_are_never_productions(client, api_key, sandbox_key):
    filed = client.post(f"{PRODUCTION}/requests.json", data=pothole_form(api_key))
    production = filed.json[0]["service_request_id"]
    number = file_in_sandbox(client, sandbox_key)
    assert number == sandbox.NUMBER_MARK + production  # each store counts from its first
    assert client.get(f"{PRODUCTION}/requests/{number}.json").status_code == 404
    assert client.get(f"{SANDBOX}/requests/{production}.json").status_code == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_production_key_is_refused_in_the_sandbox(app, client, api_key, fmt):
    response = client.post(f"{SANDBOX}/requests.{fmt}", data=pothole_form(api_key))
    assert response.status_code == 403
    assert b"not a sandbox key" in response.data
    with sandbox.app_of(app).app_context():
        assert stored_requests(sandbox.app_of(app)) == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_sandbox_key_is_refused_in_production(app, client, sandbox_key, fmt):
    response = client.post(f"{PRODUCTION}/requests.{fmt}", data=pothole_form(sandbox_key))
    assert response.status_code == 403
    assert b"is a sandbox key" in response.data
    assert b"/open311/sandbox/v2/" in response.data
    assert stored_requests(app) == 0


def test_a_sandbox_key_is_refused_by_production_subscriptions_too(client, sandbox_key):
    response = client.post(
        f"{PRODUCTION}/subscriptions.json",
        data={"api_key": sandbox_key, "service_code": "PHF", "email": "a@example.org"},
    )
    assert response.status_code == 403
    assert "is a sandbox key" in response.json[0]["description"]


def test_a_wrong_sandbox_key_is_refused_as_any_wrong_key(client, sandbox_key):
    response = client.post(f"{SANDBOX}/requests.json", data=pothole_form(sandbox_key + "x"))
    assert response.status_code == 403
    assert response.json[0]["description"].startswith("Invalid api_key")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_input_in_the_sandbox_is_an_error_in_the_format_asked(app, client, sandbox_key, fmt):
    response = client.post(
        f"{SANDBOX}/requests.{fmt}", data=pothole_form(sandbox_key, lat="91", service_code="NOPE")
    )
    assert response.status_code in (400, 404)
    if fmt == "json":
        assert response.content_type == "application/json"
        assert response.json[0]["code"] == response.status_code
    else:
        assert response.content_type.startswith("text/xml")
        assert etree.fromstring(response.data).tag == "errors"
    assert stored_requests(sandbox.app_of(app)) == 0


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/open311/sandbox/console", "xml"),
        ("/open311/sandbox/staff/queue", "xml"),
        ("/open311/sandbox/feeds/requests.json", "json"),
        ("/open311/sandbox/v2/nothing.json", "json"),
        ("/open311/sandbox", "xml"),
    ],
)
def test_the_sandbox_has_the_api_alone(client, path, kind):
    response = client.get(path)
    assert response.status_code == 404
    if kind == "json":
        assert response.json[0]["code"] == 404
    else:
        assert etree.fromstring(response.data).tag == "errors"


def test_paths_with_doubled_slashes_reach_the_sandbox(client):
    response = client.get("/open311//sandbox/v2//services.json/")
    assert response.status_code == 200
    assert {s["service_code"] for s in response.json} == {"PHF", "GRAF", "SCB", "BBA"}


def test_sandbox_filings_are_counted_apart_in_the_metrics(client, sandbox_key):
    def filed(via: str) -> float:
        return sample(client.get("/metrics").get_data(as_text=True), FILED, via=via)

    before = {via: filed(via) for via in ("sandbox", "georeport")}
    file_in_sandbox(client, sandbox_key)
    assert filed("sandbox") - before["sandbox"] == 1
    assert filed("georeport") == before["georeport"]


def test_sandbox_photos_are_served_by_the_sandbox_alone(app, client, sandbox_key):
    form = pothole_form(sandbox_key)
    form["media"] = [(io.BytesIO(photos.jpeg((800, 600))), "photo.jpg")]
    filed = client.post(f"{SANDBOX}/requests.json", data=form, content_type="multipart/form-data")
    assert filed.status_code == 200, filed.data
    number = filed.json[0]["service_request_id"]
    [public] = client.get(f"{SANDBOX}/requests/{number}.json").json
    path = urlsplit(public["media_url"]).path
    assert path.startswith("/open311/sandbox/v2/media/")
    assert client.get(path).status_code == 200
    production_path = path.replace("/sandbox", "", 1)
    assert client.get(production_path).status_code == 404
    assert not list(Path(app.config["MEDIA_ROOT"]).rglob("*.jpg"))  # production's folder
    assert run_empty(app).exit_code == 0
    assert client.get(path).status_code == 404


def run_empty(app):
    return app.test_cli_runner().invoke(args=["open311", "empty-sandbox"])
