"""extensions=true: Chicago's attributes, extended_attributes (areas) and notes."""

from __future__ import annotations

import pytest
from lxml import etree

from open311.config import PROJECT_DIR
from tests.builders import pothole_form

AREAS = PROJECT_DIR / "open311" / "demo" / "data" / "areas"


@pytest.fixture
def filed(app, client, api_key):
    result = app.test_cli_runner().invoke(args=["open311", "load-chicago-areas", str(AREAS)])
    assert result.exit_code == 0, result.output
    form = pothole_form(
        api_key, **{"attribute[HAZARDS][]": ["WATER", "DEEP"], "attribute[HOWMANY]": "2"}
    )
    return client.post("/open311/v2/requests.json", data=form).json[0]["service_request_id"]


def test_extensions_add_answers_areas_and_notes(client, filed):
    [request] = client.get(f"/open311/v2/requests/{filed}.json?extensions=true").json
    assert request["attributes"] == {
        "WHEREIST": "TRAFFIC",
        "HAZARDS": ["WATER", "DEEP"],
        "HOWMANY": 2,
    }
    extended = request["extended_attributes"]
    # City Hall: ward 42, the Loop (community area 32), police district 01.
    assert (extended["ward"], extended["community_area"], extended["police_district"]) == (
        "42",
        "32",
        "01",
    )
    assert extended["channel"] == "api"
    assert extended["duplicate"] is False
    assert extended["parent_service_request_id"] is None
    assert [note["type"] for note in request["notes"]] == ["opened"]
    assert request["notes"][0]["datetime"] == request["requested_datetime"]


def test_extensions_in_lists_and_xml(client, filed):
    [listed] = client.get("/open311/v2/requests.json?extensions=true").json
    assert listed["extended_attributes"]["ward"] == "42"
    root = etree.fromstring(client.get("/open311/v2/requests.xml?extensions=true").data)
    assert root.findtext("request/extended_attributes/ward") == "42"
    assert root.xpath("request/attributes/HAZARDS/item/text()") == ["WATER", "DEEP"]
    assert root.findtext("request/notes/note/type") == "opened"


def test_without_extensions_the_core_fields_only(client, filed):
    for query in ("", "?extensions=false", "?extensions="):
        [request] = client.get(f"/open311/v2/requests/{filed}.json{query}").json
        assert "extended_attributes" not in request
        assert "notes" not in request


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_extensions_value_is_400(client, filed, fmt):
    assert client.get(f"/open311/v2/requests.{fmt}?extensions=maybe").status_code == 400
    assert client.get(f"/open311/v2/requests/{filed}.{fmt}?extensions=maybe").status_code == 400
