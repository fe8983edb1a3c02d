"""Discovery lists the sandbox as a `test` endpoint beside production (CheckedClient
validates each document against schemas/georeport-v2/discovery.*)."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import make_app
from tests.contracts import wire

BASE = "https://311.city.example:8443"


def endpoints(client, path: str, fmt: str) -> list[tuple[str, str, list[str]]]:
    response = client.get(f"{path}.{fmt}", base_url=BASE)
    assert response.status_code == 200
    if fmt == "json":
        return [(e["url"], e["type"], e["formats"]) for e in response.json["endpoints"]]
    root = etree.fromstring(response.data)
    return [
        (e.findtext("url"), e.findtext("type"), e.xpath("formats/format/text()"))
        for e in root.xpath("/discovery/endpoints/endpoint")
    ]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("path", ["/open311/discovery", "/open311/sandbox/discovery"])
def test_discovery_lists_production_and_the_sandbox(client, path, fmt):
    formats = ["text/xml", "application/json"]
    assert endpoints(client, path, fmt) == [
        (f"{BASE}/open311/v2/", "production", formats),
        (f"{BASE}/open311/sandbox/v2/", "test", formats),
    ]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_without_a_sandbox_discovery_lists_production_alone(database_url, fmt):
    app = make_app(database_url, SANDBOX_DATABASE_URI="")
    client = app.test_client()
    assert [url for url, _, _ in endpoints(client, "/open311/discovery", fmt)] == [
        f"{BASE}/open311/v2/"
    ]
    assert client.get("/open311/sandbox/v2/services.json").status_code == 404


def test_the_sandbox_describes_its_own_paths(client):
    production = client.get("/open311/v2/openapi.json").json
    document = client.get("/open311/sandbox/v2/openapi.json").json
    assert "/open311/sandbox/v2/requests.json" in document["paths"]
    assert "/open311/sandbox/discovery.xml" in document["paths"]
    assert all(path.startswith("/open311/sandbox/") for path in document["paths"])
    assert not any("/staff" in path or "/feeds" in path for path in document["paths"])
    assert (
        document["paths"]["/open311/sandbox/v2/requests.json"]
        == (production["paths"]["/open311/v2/requests.json"])
    )
    assert "sandbox" in document["info"]["description"]
    assert "/open311/v2/requests.json" in production["paths"]


@pytest.mark.parametrize(
    ("method", "path", "contract"),
    [
        ("GET", "/open311/sandbox/discovery.xml", "discovery"),
        ("POST", "/open311/sandbox/v2/requests.json", "post-reply"),
        ("GET", "/open311/sandbox/v2/requests/SR26-00000001.xml", "requests"),
        ("GET", "/open311/sandbox/v2/services.json", "services"),
    ],
)
def test_the_checked_client_validates_the_sandbox_answers_too(method, path, contract):
    assert wire.contract_for(method, path, 200) == contract
    assert wire.contract_for(method, path, 403) == "errors"
