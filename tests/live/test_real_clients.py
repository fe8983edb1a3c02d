"""Real Open311 clients from PyPI, unmodified, against a live gunicorn (reference Part 3).

georeport reads every GET in JSON and in XML (through xmltodict, so XML values
are strings and a one-item list comes back as a bare dict); boston311 parses
JSON into strict pydantic models. The tests assert on what the clients return.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boston311
import boston311.api
import pytest
import requests
from boston311.datamodels import Status
from georeport import GeoReport

from tests.live.conftest import LiveServer

pytestmark = pytest.mark.slow

CHICAGO = ZoneInfo("America/Chicago")
ACTIVE_SERVICES = {
    "BBA": "Building Violation",
    "GRAF": "Graffiti Removal Request",
    "PHF": "Pothole in Street Complaint",
    "SCB": "Sanitation Code Violation",
}
PHF_ATTRIBUTES = ["WHEREIST", "HAZARDS", "HOWMANY", "NOTICED", "LANDMARK", "DETAILS", "NOTE"]


def as_list(value: Any) -> list[Any]:
    """xmltodict's view of a collection: None when empty, a dict for one item."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def xml_items(container: Any, item_tag: str) -> list[Any]:
    return [] if container is None else as_list(container[item_tag])


def by_id(service_requests: Any) -> dict[str, dict[str, Any]]:
    return {r["service_request_id"]: r for r in as_list(service_requests)}


def w3c_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def w3c_chicago(moment: datetime) -> str:
    return moment.astimezone(CHICAGO).isoformat()


def assert_chicago_time(text: str, expected: datetime) -> None:
    """A W3C datetime for `expected`, in Chicago's offset on that day."""
    parsed = datetime.fromisoformat(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.astimezone(CHICAGO).utcoffset()


# --- georeport, JSON and XML -------------------------------------------------


@pytest.fixture(params=["json", "xml"])
def georeport(request: pytest.FixtureRequest, live_server: LiveServer) -> GeoReport:
    return GeoReport(live_server.georeport_url, output_format=request.param)


def is_xml(client: GeoReport) -> bool:
    return bool(client.output_format == "xml")


def test_georeport_lists_the_active_services_by_code_and_name(georeport: GeoReport) -> None:
    services = georeport.get_service_list()
    assert {s["service_code"]: s["service_name"] for s in services} == ACTIVE_SERVICES
    pothole = next(s for s in services if s["service_code"] == "PHF")
    assert pothole["group"] == "Transportation and Streets"
    assert pothole["keywords"] == "pothole,street,road"
    assert pothole["type"] == "realtime"


def test_georeport_sees_metadata_as_a_json_boolean_or_xml_true(georeport: GeoReport) -> None:
    metadata = {s["service_code"]: s["metadata"] for s in georeport.get_service_list()}
    if is_xml(georeport):
        assert metadata == {"BBA": "false", "GRAF": "false", "PHF": "true", "SCB": "false"}
    else:
        assert metadata == {"BBA": False, "GRAF": False, "PHF": True, "SCB": False}


def test_georeport_reads_a_definition_with_every_datatype_in_order(georeport: GeoReport) -> None:
    definition = georeport.get_service_definition("PHF")
    assert definition["service_code"] == "PHF"
    if is_xml(georeport):
        attributes = xml_items(definition["attributes"], "attribute")
        values = {
            a["code"]: [v["key"] for v in xml_items(a["values"], "value")] for a in attributes
        }
        required = {a["code"]: a["required"] == "true" for a in attributes}
    else:
        attributes = definition["attributes"]
        values = {a["code"]: [v["key"] for v in a["values"]] for a in attributes}
        required = {a["code"]: a["required"] for a in attributes}
    assert [a["code"] for a in attributes] == PHF_ATTRIBUTES
    assert [a["datatype"] for a in attributes[:4]] == [
        "singlevaluelist",
        "multivaluelist",
        "number",
        "datetime",
    ]
    assert values["WHEREIST"] == ["TRAFFIC", "CURB", "CROSSWALK"]
    assert values["HAZARDS"] == ["WATER", "DEEP", "WIDE"]
    assert values["HOWMANY"] == []
    assert [code for code, is_required in required.items() if is_required] == ["WHEREIST"]
    assert attributes[1]["datatype_description"] == "Choose all that apply"


def test_georeport_lists_every_seeded_request_newest_first(
    georeport: GeoReport, live_server: LiveServer
) -> None:
    seeded = live_server.seeded
    listed = as_list(georeport.get_service_requests())
    assert [r["service_request_id"] for r in listed] == [
        seeded.sanitation,
        seeded.graffiti,
        seeded.pothole,
        seeded.closed_pothole,
    ]


def test_georeport_gets_descriptions_places_and_names_as_posted(
    georeport: GeoReport, live_server: LiveServer
) -> None:
    listed = by_id(georeport.get_service_requests())
    pothole, graffiti = listed[live_server.seeded.pothole], listed[live_server.seeded.graffiti]
    assert pothole["description"] == "Deep pothole in the right lane"
    assert pothole["address"] == "121 N LaSalle St"
    assert pothole["service_name"] == "Pothole in Street Complaint"
    assert graffiti["description"] == "Tags on the viaduct & the fence <east side>"
    assert graffiti["service_code"] == "GRAF"
    coordinates = [(float(r["lat"]), float(r["long"])) for r in (pothole, graffiti)]
    assert coordinates == [(41.883637, -87.630231), (41.948438, -87.655333)]
    if not is_xml(georeport):
        assert isinstance(pothole["lat"], float)


def test_georeport_reads_one_request_by_id(georeport: GeoReport, live_server: LiveServer) -> None:
    pothole = georeport.get_service_request(live_server.seeded.pothole)
    assert pothole["service_request_id"] == live_server.seeded.pothole
    assert pothole["status"] == "open"
    assert pothole["description"] == "Deep pothole in the right lane"
    assert pothole["service_notice"] == "Pothole repairs are generally completed within 7 days."
    assert (float(pothole["lat"]), float(pothole["long"])) == (41.883637, -87.630231)
    requested = datetime.fromisoformat(pothole["requested_datetime"])
    assert datetime.fromisoformat(pothole["expected_datetime"]) == requested + timedelta(days=7)


def test_georeport_reads_a_closed_request_with_chicago_offsets(
    georeport: GeoReport, live_server: LiveServer
) -> None:
    seeded = live_server.seeded
    closed = georeport.get_service_request(seeded.closed_pothole)
    assert closed["status"] == "closed"
    assert closed["status_notes"] == "Filled with cold patch"
    assert_chicago_time(closed["requested_datetime"], seeded.closed_requested_at)
    assert_chicago_time(closed["updated_datetime"], seeded.closed_updated_at)


def test_georeport_id_list_returns_those_requests_whatever_the_other_filters(
    georeport: GeoReport, live_server: LiveServer
) -> None:
    seeded = live_server.seeded
    listed = georeport.get_service_requests(
        service_request_id=f"{seeded.pothole},{seeded.closed_pothole}",
        service_code="GRAF",
        status="open",
    )
    assert set(by_id(listed)) == {seeded.pothole, seeded.closed_pothole}


def test_georeport_status_filter_splits_open_from_closed(
    georeport: GeoReport, live_server: LiveServer
) -> None:
    seeded = live_server.seeded
    closed = by_id(georeport.get_service_requests(status="closed"))
    open_ = by_id(georeport.get_service_requests(status="open"))
    both = by_id(georeport.get_service_requests(status="open,closed"))
    assert set(closed) == {seeded.closed_pothole}
    assert set(open_) == {seeded.pothole, seeded.graffiti, seeded.sanitation}
    assert set(both) == set(closed) | set(open_)


def test_georeport_service_code_filter_takes_a_comma_list(
    georeport: GeoReport, live_server: LiveServer
) -> None:
    seeded = live_server.seeded
    assert set(by_id(georeport.get_service_requests(service_code="PHF"))) == {
        seeded.pothole,
        seeded.closed_pothole,
    }
    assert set(by_id(georeport.get_service_requests(service_code="GRAF,SCB"))) == {
        seeded.graffiti,
        seeded.sanitation,
    }


@pytest.mark.parametrize("spell", [w3c_utc, w3c_chicago], ids=["utc_z", "chicago_offset"])
def test_georeport_date_window_finds_the_request_filed_ten_days_ago(
    georeport: GeoReport, live_server: LiveServer, spell: Any
) -> None:
    filed = live_server.seeded.closed_requested_at
    listed = georeport.get_service_requests(
        start_date=spell(filed - timedelta(hours=1)), end_date=spell(filed + timedelta(hours=1))
    )
    [closed] = as_list(listed)
    assert closed["service_request_id"] == live_server.seeded.closed_pothole
    assert_chicago_time(closed["requested_datetime"], filed)


def test_georeport_start_date_alone_leaves_out_older_requests(
    georeport: GeoReport, live_server: LiveServer
) -> None:
    seeded = live_server.seeded
    since_yesterday = w3c_utc(datetime.now(UTC) - timedelta(days=1))
    listed = by_id(georeport.get_service_requests(start_date=since_yesterday))
    assert set(listed) == {seeded.pothole, seeded.graffiti, seeded.sanitation}


def test_georeport_json_gets_an_empty_list_for_a_window_without_requests(
    live_server: LiveServer,
) -> None:
    client = GeoReport(live_server.georeport_url, output_format="json")
    long_ago = datetime(2020, 1, 1, tzinfo=CHICAGO)
    listed = client.get_service_requests(
        start_date=w3c_chicago(long_ago), end_date=w3c_chicago(long_ago + timedelta(days=30))
    )
    assert listed == []


def test_georeport_unknown_request_is_an_http_404_with_errors_in_its_format(
    georeport: GeoReport,
) -> None:
    with pytest.raises(requests.HTTPError) as raised:
        georeport.get_service_request("SR26-99999999")
    response = raised.value.response
    assert response is not None
    assert response.status_code == 404
    if is_xml(georeport):
        assert b"<errors><error><code>404</code>" in response.content
    else:
        assert response.json()[0]["code"] == 404


def test_georeport_unknown_service_code_is_an_http_404(georeport: GeoReport) -> None:
    with pytest.raises(requests.HTTPError) as raised:
        georeport.get_service_definition("NOPE")
    assert raised.value.response is not None
    assert raised.value.response.status_code == 404


# --- boston311: strict pydantic models over JSON ------------------------------


@pytest.fixture
def boston(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point boston311 (its endpoint is hard-coded) at the live server."""
    monkeypatch.setattr(boston311.api, "BOSTON_API_ENDPOINT", live_server.georeport_url)


@pytest.mark.usefixtures("boston")
def test_boston311_reads_the_service_list_into_its_models() -> None:
    services = boston311.get_services()
    assert len(services) == len(ACTIVE_SERVICES)
    assert {s.service_code: s.service_name for s in services.services} == ACTIVE_SERVICES
    assert services.get_service_code("Pothole in Street Complaint") == "PHF"
    pothole = next(s for s in services.services if s.service_code == "PHF")
    assert pothole.metadata is True
    assert pothole.group == "Transportation and Streets"


@pytest.mark.usefixtures("boston")
def test_boston311_validates_every_request_in_the_default_window(live_server: LiveServer) -> None:
    seeded = live_server.seeded
    listed = boston311.get_service_requests()
    assert [r.service_request_id for r in listed.service_requests] == [
        seeded.sanitation,
        seeded.graffiti,
        seeded.pothole,
        seeded.closed_pothole,
    ]
    pothole = next(r for r in listed.service_requests if r.service_request_id == seeded.pothole)
    assert (pothole.lat, pothole.long) == (41.883637, -87.630231)
    assert pothole.address == "121 N LaSalle St"
    assert pothole.agency_responsible == "CDOT - Department of Transportation"


@pytest.mark.usefixtures("boston")
def test_boston311_reads_one_request_with_aware_datetimes(live_server: LiveServer) -> None:
    seeded = live_server.seeded
    closed = boston311.get_service_request(seeded.closed_pothole)
    assert closed is not None
    assert closed.status is Status.CLOSED
    assert closed.description == "Pothole by the bean"
    assert closed.status_notes == "Filled with cold patch"
    assert (closed.lat, closed.long) == (41.882702, -87.619392)
    assert closed.requested_datetime == seeded.closed_requested_at
    assert closed.updated_datetime == seeded.closed_updated_at
    assert (
        closed.requested_datetime.utcoffset()
        == seeded.closed_requested_at.astimezone(CHICAGO).utcoffset()
    )
    assert closed.expected_datetime == seeded.closed_requested_at + timedelta(days=7)


@pytest.mark.usefixtures("boston")
def test_boston311_gets_a_generated_address_for_a_request_posted_without_one(
    live_server: LiveServer,
) -> None:
    graffiti = boston311.get_service_request(live_server.seeded.graffiti)
    assert graffiti is not None
    # The reverse geocoder's nearest real address: "3643 N KENMORE AVE, CHICAGO, IL, 60613".
    assert re.fullmatch(r"\d+ [NSEW] [A-Z0-9 ]+, CHICAGO, IL(, 606\d\d)?", graffiti.address)
    assert graffiti.media_url is None


@pytest.mark.usefixtures("boston")
def test_boston311_status_filter_returns_only_that_status(live_server: LiveServer) -> None:
    seeded = live_server.seeded
    closed = boston311.get_service_requests(status=Status.CLOSED)
    open_ = boston311.get_service_requests(status=Status.OPEN)
    assert [r.service_request_id for r in closed.service_requests] == [seeded.closed_pothole]
    assert {r.service_request_id for r in open_.service_requests} == {
        seeded.pothole,
        seeded.graffiti,
        seeded.sanitation,
    }
    assert {r.status for r in open_.service_requests} == {Status.OPEN}


@pytest.mark.usefixtures("boston")
def test_boston311_date_window_in_utc_finds_the_request_filed_ten_days_ago(
    live_server: LiveServer,
) -> None:
    filed = live_server.seeded.closed_requested_at
    listed = boston311.get_service_requests(
        start_date=filed - timedelta(hours=1),
        end_date=filed + timedelta(hours=1),
        status=Status.CLOSED,
    )
    assert [r.service_request_id for r in listed.service_requests] == [
        live_server.seeded.closed_pothole
    ]


@pytest.mark.usefixtures("boston")
def test_boston311_start_date_alone_runs_until_now(live_server: LiveServer) -> None:
    seeded = live_server.seeded
    listed = boston311.get_service_requests(
        start_date=datetime.now(UTC) - timedelta(days=1), service_code="PHF"
    )
    assert [r.service_request_id for r in listed.service_requests] == [seeded.pothole]


@pytest.mark.usefixtures("boston")
def test_boston311_unknown_request_raises_http_error() -> None:
    with pytest.raises(requests.HTTPError):
        boston311.get_service_request("SR26-99999999")
