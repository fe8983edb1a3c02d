"""Discovery, the service list and service definitions, in JSON and XML."""

from __future__ import annotations

import pytest
from lxml import etree


@pytest.mark.parametrize(
    "base_url", ["http://localhost", "http://127.0.0.1:8081", "https://311.city.example:8443"]
)
def test_discovery_names_the_url_the_caller_reached(client, base_url):
    """No PUBLIC_BASE_URL (the default): the endpoint is wherever the server was reached, whatever its port."""
    for fmt in ("json", "xml"):
        response = client.get(f"/open311/discovery.{fmt}", base_url=base_url)
        if fmt == "json":
            urls = [endpoint["url"] for endpoint in response.json["endpoints"]]
        else:
            urls = etree.fromstring(response.data).xpath("/discovery/endpoints/endpoint/url/text()")
        assert urls == [f"{base_url}/open311/v2/", f"{base_url}/open311/sandbox/v2/"]


def test_discovery_names_the_public_base_url_when_set(app, client):
    app.config["PUBLIC_BASE_URL"] = "https://311.city.example/"
    response = client.get("/open311/discovery.json", base_url="http://10.0.0.5:8000")
    assert [endpoint["url"] for endpoint in response.json["endpoints"]] == [
        "https://311.city.example/open311/v2/",
        "https://311.city.example/open311/sandbox/v2/",
    ]


def test_discovery_lists_production_with_both_formats(client):
    document = client.get("/open311/discovery.json").json
    endpoint, _sandbox = document["endpoints"]  # the partner sandbox: tests/sandbox
    assert endpoint["url"].endswith("/open311/v2/")
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    xml = etree.fromstring(client.get("/open311/discovery.xml").data)
    assert xml.xpath("/discovery/endpoints/endpoint[1]/formats/format/text()") == [
        "text/xml",
        "application/json",
    ]


def test_service_list_shows_active_services_with_real_booleans(client):
    services = {s["service_code"]: s for s in client.get("/open311/v2/services.json").json}
    assert set(services) == {"PHF", "GRAF", "SCB", "BBA"}  # OLD is inactive
    assert services["PHF"]["metadata"] is True
    assert services["GRAF"]["metadata"] is False
    assert services["SCB"]["type"] == "batch"
    assert services["PHF"]["keywords"] == "pothole,street,road"


def test_service_list_xml_matches_json(client):
    root = etree.fromstring(client.get("/open311/v2/services.xml").data)
    codes = root.xpath("/services/service/service_code/text()")
    assert sorted(codes) == ["BBA", "GRAF", "PHF", "SCB"]
    assert root.xpath("/services/service[service_code='PHF']/metadata/text()") == ["true"]


def test_definition_has_attributes_in_order_with_values_only_for_lists(client):
    definition = client.get("/open311/v2/services/PHF.json").json
    assert definition["service_code"] == "PHF"
    attributes = definition["attributes"]
    assert [a["order"] for a in attributes] == [1, 2, 3, 4, 5, 6, 7]
    assert {a["datatype"] for a in attributes} == {
        "singlevaluelist",
        "multivaluelist",
        "number",
        "datetime",
        "string",
        "text",
    }
    assert attributes[0]["values"][0] == {"key": "TRAFFIC", "name": "Traffic lane"}
    assert attributes[2]["values"] == []
    assert attributes[6]["variable"] is False


def test_definition_xml_keeps_empty_containers(client):
    root = etree.fromstring(client.get("/open311/v2/services/GRAF.xml").data)
    assert root.tag == "service_definition"
    assert root.find("attributes") is not None


@pytest.mark.parametrize(
    "path",
    [
        "/open311/v2/services/PHF.json",
        "/open311/v2/service/PHF.json",  # PyPI open311's singular path
        "/open311/v2/services/PHF.json/",  # trailing slash
        "/open311/v2//services/PHF.json",  # endpoint + "/path"
    ],
)
def test_path_variants_reach_the_definition(client, path):
    assert client.get(path).json["service_code"] == "PHF"


def test_missing_suffix_means_xml(client):
    response = client.get("/open311/v2/services")
    assert response.content_type == "text/xml"
    assert etree.fromstring(response.data).tag == "services"


@pytest.mark.parametrize("code", ["NOPE", "OLD"])
def test_unknown_or_inactive_definition_is_404(client, code):
    response = client.get(f"/open311/v2/services/{code}.xml")
    assert response.status_code == 404
    assert code in etree.fromstring(response.data).findtext("error/description")


def test_foreign_jurisdiction_is_404_and_ours_is_fine(client):
    assert (
        client.get("/open311/v2/services.json?jurisdiction_id=cityofchicago.org").status_code == 200
    )
    assert client.get("/open311/v2/services.json?jurisdiction_id=").status_code == 200
    assert client.get("/open311/v2/services.json?jurisdiction_id=sfgov.org").status_code == 404


def test_content_types_are_the_bare_types_and_xml_declares_its_encoding(client):
    """As the spec's examples: JSON has no charset parameter (RFC 8259), XML says UTF-8 in its declaration."""
    assert client.get("/open311/v2/services.json").content_type == "application/json"
    xml = client.get("/open311/v2/services.xml")
    assert xml.content_type == "text/xml"
    assert xml.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert client.get("/open311/v2/nothing.json").content_type == "application/json"  # errors too
    assert client.get("/open311/v2/nothing.xml").content_type == "text/xml"


def test_openapi_description_is_served(client):
    document = client.get("/open311/v2/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert "/open311/v2/requests.json" in document["paths"]
