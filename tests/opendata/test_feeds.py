"""Open-data feeds: the City's CSV, GeoJSON and NDJSON, over HTTP and from the command line.

Every test runs on SpatiaLite, where Python formats the CSV, and on PostGIS,
where the database does (COPY): the same expectations hold both to the same
output, and one PostGIS test compares the two formatters row for row.
"""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from open311.database import begin_write
from open311.extensions import db
from open311.models import Intake, Status
from open311.models.base import utcnow
from open311.opendata import feeds
from open311.service_requests.queries import RequestFilter
from open311.spatial import insert_new_requests
from tests.builders import make_request, pothole_form
from tests.opendata import test_imports
from tests.opendata.test_imports import city_rows, csv_export, delete_requests, run_import, snapshot

chicago = test_imports.chicago  # the app with the real Chicago catalogue and areas (a fixture)

# The CSV export's 39 columns in order (shared/chicago311/README.md §1).
CITY_COLUMNS = [
    "SR_NUMBER", "SR_TYPE", "SR_SHORT_CODE", "CREATED_DEPARTMENT", "OWNER_DEPARTMENT", "STATUS",
    "ORIGIN", "CREATED_DATE", "LAST_MODIFIED_DATE", "CLOSED_DATE", "STREET_ADDRESS", "CITY",
    "STATE", "ZIP_CODE", "STREET_NUMBER", "STREET_DIRECTION", "STREET_NAME", "STREET_TYPE",
    "DUPLICATE", "LEGACY_RECORD", "LEGACY_SR_NUMBER", "PARENT_SR_NUMBER", "COMMUNITY_AREA", "WARD",
    "ELECTRICAL_DISTRICT", "ELECTRICITY_GRID", "POLICE_SECTOR", "POLICE_DISTRICT", "POLICE_BEAT",
    "PRECINCT", "SANITATION_DIVISION_DAYS", "CREATED_HOUR", "CREATED_DAY_OF_WEEK", "CREATED_MONTH",
    "X_COORDINATE", "Y_COORDINATE", "LATITUDE", "LONGITUDE", "LOCATION",
]  # fmt: skip
GEOREPORT_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
    "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url",
]  # fmt: skip
AREAS = ["ward", "community_area", "police_district", "neighborhood"]
FEED = "/open311/feeds/requests"
# Private values a resident gives when filing: none may reach a feed.
PRIVATE = {
    "email": "zebulon.private@example.org",
    "phone": "3125550199",
    "first_name": "Zebulon",
    "last_name": "Quixotic",
    "device_id": "device-7f3a9c",
    "account_id": "account-9c1e44",
}


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def ndjson(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.decode().splitlines()]


@pytest.fixture
def requests(app: Flask) -> Flask:
    """Three requests: canceled and a duplicate (winter), open (summer), completed (PHF)."""
    make_request(
        app, "SR21-00000007", datetime(2021, 1, 1, 6, 0, 9, tzinfo=UTC),
        status=Status.CLOSED, status_notes="Canceled",
        updated_at=datetime(2021, 1, 2, 18, 30, tzinfo=UTC),
        address="9116 S DANTE AVE, CHICAGO, IL, 60617", zipcode="60617",
        lat=41.72708, long=-87.57739, channel="Phone Call", duplicate_of="SR20-01234567",
        ward="8", community_area="48", police_district="4",
    )  # fmt: skip
    make_request(
        app, "SR21-00000008", datetime(2021, 7, 4, 17, 30, 5, tzinfo=UTC),
        address="City Hall", agency_responsible=None,
    )  # fmt: skip
    make_request(
        app, "SR21-00000009", datetime(2021, 7, 5, 4, 59, 59, tzinfo=UTC), service_code="PHF",
        status=Status.CLOSED, status_notes="Pothole patched.",
        updated_at=datetime(2021, 7, 6, 3, 0, 0, tzinfo=UTC),
    )  # fmt: skip
    return app


# --- the City's CSV -------------------------------------------------------------------


def test_csv_header_is_the_citys_39_columns_in_order(client, requests):
    response = client.get(f"{FEED}.csv")

    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    header = response.data.decode().splitlines()[0]
    assert next(csv.reader([header])) == CITY_COLUMNS
    assert len(CITY_COLUMNS) == 39
    assert tuple(CITY_COLUMNS) == feeds.CITY_COLUMNS


def test_csv_rows_have_our_values_in_the_citys_formats_and_chicago_time(client, requests):
    canceled, summer, completed = csv_rows(client.get(f"{FEED}.csv").data)

    assert canceled == {
        "SR_NUMBER": "SR21-00000007", "SR_TYPE": "Graffiti Removal Request",
        "SR_SHORT_CODE": "GRAF", "CREATED_DEPARTMENT": "",
        "OWNER_DEPARTMENT": "Streets and Sanitation", "STATUS": "Canceled",
        "ORIGIN": "Phone Call", "CREATED_DATE": "01/01/2021 12:00:09 AM",  # CST, UTC-6
        "LAST_MODIFIED_DATE": "01/02/2021 12:30:00 PM", "CLOSED_DATE": "01/02/2021 12:30:00 PM",
        "STREET_ADDRESS": "9116 S DANTE AVE", "CITY": "Chicago", "STATE": "IL",
        "ZIP_CODE": "60617", "STREET_NUMBER": "9116", "STREET_DIRECTION": "S",
        "STREET_NAME": "DANTE", "STREET_TYPE": "AVE", "DUPLICATE": "true",
        "LEGACY_RECORD": "false", "LEGACY_SR_NUMBER": "", "PARENT_SR_NUMBER": "SR20-01234567",
        "COMMUNITY_AREA": "48", "WARD": "8", "ELECTRICAL_DISTRICT": "",
        "ELECTRICITY_GRID": "", "POLICE_SECTOR": "", "POLICE_DISTRICT": "4",
        "POLICE_BEAT": "", "PRECINCT": "", "SANITATION_DIVISION_DAYS": "",
        "CREATED_HOUR": "0", "CREATED_DAY_OF_WEEK": "6",  # a Friday; Sunday = 1
        "CREATED_MONTH": "1", "X_COORDINATE": "", "Y_COORDINATE": "",
        "LATITUDE": "41.72708", "LONGITUDE": "-87.57739", "LOCATION": "(41.72708, -87.57739)",
    }  # fmt: skip
    # Summer (CDT, UTC-5) on a Sunday; a resident's own words are the street address.
    assert {key: summer[key] for key in CITY_COLUMNS[5:24]} == {
        "STATUS": "Open", "ORIGIN": "", "CREATED_DATE": "07/04/2021 12:30:05 PM",
        "LAST_MODIFIED_DATE": "07/04/2021 12:30:05 PM", "CLOSED_DATE": "",
        "STREET_ADDRESS": "City Hall", "CITY": "", "STATE": "", "ZIP_CODE": "",
        "STREET_NUMBER": "", "STREET_DIRECTION": "", "STREET_NAME": "", "STREET_TYPE": "",
        "DUPLICATE": "false", "LEGACY_RECORD": "false", "LEGACY_SR_NUMBER": "",
        "PARENT_SR_NUMBER": "", "COMMUNITY_AREA": "", "WARD": "",
    }  # fmt: skip
    assert summer["OWNER_DEPARTMENT"] == ""
    assert [summer[key] for key in CITY_COLUMNS[31:34]] == ["12", "1", "7"]
    # 11:59:59 PM on the 4th in Chicago, though the 5th in UTC.
    assert completed["CREATED_DATE"] == "07/04/2021 11:59:59 PM"
    assert [completed[key] for key in CITY_COLUMNS[31:34]] == ["23", "1", "7"]
    assert (completed["STATUS"], completed["CLOSED_DATE"]) == (
        "Completed",
        "07/05/2021 10:00:00 PM",
    )
    assert (completed["SR_TYPE"], completed["SR_SHORT_CODE"]) == (
        "Pothole in Street Complaint",
        "PHF",
    )
    assert completed["STREET_ADDRESS"] == "121 N LASALLE ST"
    assert [completed[k] for k in CITY_COLUMNS[14:18]] == ["121", "N", "LASALLE", "ST"]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10510 W ZEMKE RD, CHICAGO, IL, 60666", ["10510 W ZEMKE RD", "Chicago", "IL", "10510", "W", "ZEMKE", "RD"]),
        ("2111 W Lexington ST, Chicago, IL", ["2111 W Lexington ST", "Chicago", "IL", "2111", "W", "Lexington", "ST"]),
        ("1234 1/2 W FULLERTON AVE, CHICAGO, IL", ["1234 1/2 W FULLERTON AVE", "Chicago", "IL", "1234", "", "1/2 W FULLERTON", "AVE"]),
        ("400 N LAKE SHORE DR, CHICAGO, IL", ["400 N LAKE SHORE DR", "Chicago", "IL", "400", "N", "LAKE SHORE", "DR"]),
        ("Near 6400 S 4000 W, CHICAGO, IL", ["Near 6400 S 4000 W", "Chicago", "IL", "", "", "", ""]),
        ("121 N LaSalle St", ["121 N LaSalle St", "", "", "121", "N", "LaSalle St", ""]),
        ("5 N ST, CHICAGO, IL", ["5 N ST", "Chicago", "IL", "5", "N", "ST", ""]),
        ("5 N, CHICAGO, IL", ["5 N", "Chicago", "IL", "5", "", "N", ""]),
        ("5, CHICAGO, IL", ["5", "Chicago", "IL", "5", "", "", ""]),
        ("Corner of Clark and Lake", ["Corner of Clark and Lake", "", "", "", "", "", ""]),
    ],
)  # fmt: skip
def test_addresses_are_split_into_the_citys_street_columns(app, client, address, expected):
    make_request(app, "SR21-00000001", datetime(2021, 1, 1, tzinfo=UTC), address=address)

    [row] = csv_rows(client.get(f"{FEED}.csv").data)

    assert [row[key] for key in CITY_COLUMNS[10:13] + CITY_COLUMNS[14:18]] == expected


# Cells a spreadsheet would run as formulas (OWASP's CSV injection list).
FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(1)", "\tx", "\rx"]


@pytest.mark.parametrize("address", FORMULAS)
def test_formula_cells_are_made_text_and_numbers_stay_numbers(app, client, address):
    make_request(
        app,
        "SR21-00000001",
        datetime(2021, 1, 1, tzinfo=UTC),
        address=address,
        lat=41.9,
        long=-87.6,
    )

    [row] = csv_rows(client.get(f"{FEED}.csv").data)

    assert row["STREET_ADDRESS"] == "'" + address  # the quote makes it text in a spreadsheet
    assert (row["LATITUDE"], row["LONGITUDE"], row["LOCATION"]) == (
        "41.9",
        "-87.6",
        "(41.9, -87.6)",
    )
    assert float(row["LONGITUDE"]) == -87.6


def test_every_text_column_from_people_or_the_catalogue_is_made_text(app, client):
    make_request(
        app, "SR21-00000001", datetime(2021, 1, 1, tzinfo=UTC),
        address="12 W -SUM ST, @city, =IL, +60602", zipcode="-60602", channel="=cmd",
        agency_responsible="@dept", duplicate_of="-SR1", ward="=1", community_area="+2",
        police_district="@3",
    )  # fmt: skip

    [row] = csv_rows(client.get(f"{FEED}.csv").data)

    assert {key: row[key] for key in (
        "STREET_ADDRESS", "CITY", "STATE", "ZIP_CODE", "STREET_NUMBER", "STREET_DIRECTION",
        "STREET_NAME", "STREET_TYPE", "ORIGIN", "OWNER_DEPARTMENT", "PARENT_SR_NUMBER", "WARD",
        "COMMUNITY_AREA", "POLICE_DISTRICT", "LONGITUDE",
    )} == {
        "STREET_ADDRESS": "12 W -SUM ST", "CITY": "'@City", "STATE": "'=IL", "ZIP_CODE": "'-60602",
        "STREET_NUMBER": "12", "STREET_DIRECTION": "W", "STREET_NAME": "'-SUM", "STREET_TYPE": "ST",
        "ORIGIN": "'=cmd", "OWNER_DEPARTMENT": "'@dept", "PARENT_SR_NUMBER": "'-SR1", "WARD": "'=1",
        "COMMUNITY_AREA": "'+2", "POLICE_DISTRICT": "'@3", "LONGITUDE": "-87.630231",
    }  # fmt: skip


def test_postgresql_writes_the_same_csv_as_python(app):
    """COPY's SQL and city_row are one mapping twice: they agree on awkward rows too."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("COPY is PostgreSQL's")
    awkward = [
        {
            "address": "  121 N  LASALLE ST ,chicago,  il , 60602",
            "status_notes": "CANCELLED by staff",
        },
        {"address": "121 N , CHICAGO, IL", "agency_responsible": "", "channel": ""},
        {"address": "121 ST, O'HARE 3rd terminal, IL", "zipcode": "", "duplicate_of": ""},
        {"address": ", , ,", "ward": "", "lat": 41.0, "long": -87.5},
        {"address": "7 W, x, IL", "status_notes": None, "status": Status.CLOSED},
        {"address": "CHICAGO, IL, 60612", "requested_at": datetime(2021, 11, 7, 6, 30, tzinfo=UTC)},
        {"address": "42 S", "requested_at": datetime(2021, 3, 14, 8, 0, 1, tzinfo=UTC)},
        {"address": 'Quote "here", and a\nline break, IL'},
        *({"address": formula, "lat": 41.9, "long": -87.6} for formula in FORMULAS),
        {"address": "1 -X ST, =c, @s", "zipcode": "+1", "channel": "\tc", "ward": "-1"},
    ]
    for index, overrides in enumerate(awkward, start=1):
        requested_at = overrides.pop("requested_at", datetime(2021, 6, 1, 12, tzinfo=UTC))
        make_request(app, f"SR21-{index:08d}", requested_at, **overrides)
    time_zone = app.extensions["open311.jurisdiction"].time_zone
    with app.app_context():
        session = db.session()
        copied = b"".join(feeds.copied_csv_rows(session, RequestFilter(), time_zone))
        formatted = b"".join(feeds.formatted_csv_rows(session, RequestFilter(), time_zone))
    assert copied.decode().splitlines() == formatted.decode().splitlines()
    assert len(csv_rows(b"H\n" + copied)) == len(awkward)  # every row, one quoted line break


@pytest.mark.parametrize("zone", ["America/Chicago", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_the_citys_times_agree_with_the_zone_across_its_changes(zone: str) -> None:
    # Every 7 min 13.5 s through the days around 2026's clock changes: the cached
    # hours give what converting each moment would, in the City's 12-hour format.
    time_zone = ZoneInfo(zone)
    for start in (datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)):
        for step in range(1_000):
            moment = start + timedelta(seconds=433.5 * step)
            local = moment.astimezone(time_zone)
            assert feeds.city_time(moment, time_zone) == local.strftime("%m/%d/%Y %I:%M:%S %p")


# --- GeoJSON and NDJSON ---------------------------------------------------------------


def test_geojson_is_a_feature_collection_of_points(client, requests):
    response = client.get(f"{FEED}.geojson")

    assert response.content_type == "application/geo+json"
    collection = json.loads(response.data)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [feature["id"] for feature in features] == [
        "SR21-00000007",
        "SR21-00000008",
        "SR21-00000009",
    ]
    first = features[0]
    assert first["type"] == "Feature"
    assert first["geometry"] == {"type": "Point", "coordinates": [-87.57739, 41.72708]}
    assert list(first["properties"]) == GEOREPORT_FIELDS + AREAS
    assert first["properties"]["requested_datetime"] == "2021-01-01T00:00:09-06:00"
    assert (first["properties"]["ward"], first["properties"]["community_area"]) == ("8", "48")


def test_an_empty_geojson_feed_is_still_a_feature_collection(client):
    assert json.loads(client.get(f"{FEED}.geojson").data) == {
        "type": "FeatureCollection",
        "features": [],
    }
    assert client.get(f"{FEED}.ndjson").data == b""
    assert client.get(f"{FEED}.csv").data.decode().splitlines() == [",".join(CITY_COLUMNS)]


def test_ndjson_has_a_georeport_request_a_line(client, requests):
    response = client.get(f"{FEED}.ndjson")

    assert response.content_type == "application/x-ndjson"
    lines = ndjson(response.data)
    assert [line["service_request_id"] for line in lines] == [
        "SR21-00000007",
        "SR21-00000008",
        "SR21-00000009",
    ]
    assert all(list(line) == GEOREPORT_FIELDS + AREAS for line in lines)
    assert lines[1]["requested_datetime"] == "2021-07-04T12:30:05-05:00"
    assert (lines[2]["status"], lines[2]["status_notes"]) == ("closed", "Pothole patched.")


def test_feeds_agree_with_get_requests(client, requests):
    """The same request, the same GeoReport fields, in NDJSON and in GET /requests."""
    [listed] = client.get("/open311/v2/requests.json?service_request_id=SR21-00000009").json
    line = ndjson(client.get(f"{FEED}.ndjson?service_request_id=SR21-00000009").data)[0]
    assert {key: line[key] for key in GEOREPORT_FIELDS} == listed


# --- private fields and unaccepted requests -------------------------------------------


@pytest.fixture
def filed(app, client, api_key):
    """A request filed through the API with every private field, at City Hall."""
    result = app.test_cli_runner().invoke(args=["open311", "load-chicago-areas"])
    assert result.exit_code == 0, result.output
    reply = client.post("/open311/v2/requests.json", data=pothole_form(api_key, **PRIVATE))
    assert reply.status_code == 200, reply.data
    return reply.json[0]["service_request_id"]


@pytest.mark.parametrize("fmt", ["csv", "geojson", "ndjson"])
def test_private_fields_never_reach_a_feed(app, client, filed, fmt):
    bodies = [client.get(f"{FEED}.{fmt}").data]
    result = app.test_cli_runner().invoke(args=["open311", "export-requests", "--format", fmt])
    bodies.append(result.stdout_bytes)

    for body in bodies:
        assert filed.encode() in body
        for value in PRIVATE.values():
            assert value.encode() not in body
        for name in PRIVATE:
            assert f'"{name}"'.encode() not in body
            assert name.upper().encode() not in body


def test_the_filed_request_has_its_areas_and_origin(client, filed):
    [row] = csv_rows(client.get(f"{FEED}.csv").data)
    # City Hall: ward 42, the Loop (community area 32), police district 01.
    assert (row["WARD"], row["COMMUNITY_AREA"], row["POLICE_DISTRICT"]) == ("42", "32", "01")
    assert (row["ORIGIN"], row["STATUS"], row["SR_SHORT_CODE"]) == ("api", "Open", "PHF")
    [line] = ndjson(client.get(f"{FEED}.ndjson").data)
    assert (line["ward"], line["neighborhood"]) == ("42", "Loop")


def test_requests_not_accepted_are_left_out(app, client, requests):
    for number, intake in (
        ("SR21-00000010", Intake.PENDING_REVIEW),
        ("SR21-00000011", Intake.REJECTED),
    ):
        make_request(app, number, datetime(2021, 8, 1, tzinfo=UTC), intake=intake)

    for fmt in ("csv", "geojson", "ndjson"):
        body = client.get(f"{FEED}.{fmt}").data
        assert b"SR21-00000009" in body
        assert b"SR21-00000010" not in body
        assert b"SR21-00000011" not in body


# --- filters --------------------------------------------------------------------------


def numbers(client, query: str) -> list[str]:
    response = client.get(f"{FEED}.ndjson?{query}")
    assert response.status_code == 200, response.data
    return [line["service_request_id"] for line in ndjson(response.data)]


def test_without_dates_a_feed_has_every_request_not_the_last_90_days(app, client, requests):
    make_request(app, "SR26-00000001", utcnow() - timedelta(hours=1))
    assert numbers(client, "") == [
        "SR21-00000007",
        "SR21-00000008",
        "SR21-00000009",
        "SR26-00000001",
    ]
    assert [r["service_request_id"] for r in client.get("/open311/v2/requests.json").json] == [
        "SR26-00000001"
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("service_code=PHF", ["SR21-00000009"]),
        ("service_code=GRAF,PHF&status=closed", ["SR21-00000007", "SR21-00000009"]),
        ("status=open", ["SR21-00000008"]),
        ("start_date=2021-07-01", ["SR21-00000008", "SR21-00000009"]),
        ("end_date=2021-07-04T12:30:05-05:00", ["SR21-00000007"]),  # end is exclusive
        (
            "start_date=2020-01-01&end_date=2021-12-31",
            ["SR21-00000007", "SR21-00000008", "SR21-00000009"],
        ),
        ("updated_after=2021-07-05T00:00:00Z", ["SR21-00000009"]),
        ("updated_before=2021-01-03", ["SR21-00000007"]),
        (
            "service_request_id=SR21-00000009,SR21-00000007&status=open",
            ["SR21-00000007", "SR21-00000009"],
        ),
        ("ward=8", ["SR21-00000007"]),
        ("service_code=SCB", []),
    ],
)
def test_filters_are_get_requests_own(client, requests, query, expected):
    assert numbers(client, query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "status=pending",
        "start_date=yesterday",
        "start_date=2021-02-01&end_date=2021-01-01",
        "lat=41.9&long=-87.6&nearest=5",
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "geojson", "ndjson"])
def test_bad_filters_are_a_400_in_json(client, requests, query, fmt):
    response = client.get(f"{FEED}.{fmt}?{query}")

    assert response.status_code == 400
    assert response.content_type == "application/json"
    [error] = response.json
    assert error["code"] == 400
    assert error["description"]


# --- the command ------------------------------------------------------------------------


def test_command_writes_a_feed_to_a_file_or_stdout(app, client, requests, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "requests.csv"

    written = runner.invoke(
        args=["open311", "export-requests", "--output", str(path), "--status", "closed"]
    )
    printed = runner.invoke(
        args=["open311", "export-requests", "--format", "geojson", "--service-code", "PHF"]
    )

    assert written.exit_code == 0, written.output
    assert [row["SR_NUMBER"] for row in csv_rows(path.read_bytes())] == [
        "SR21-00000007",
        "SR21-00000009",
    ]
    assert path.read_bytes() == client.get(f"{FEED}.csv?status=closed").data
    assert printed.exit_code == 0, printed.output
    assert [f["id"] for f in json.loads(printed.stdout_bytes)["features"]] == ["SR21-00000009"]


def test_command_refuses_bad_filters(app):
    result = app.test_cli_runner().invoke(
        args=["open311", "export-requests", "--status", "pending"]
    )

    assert result.exit_code == 1
    assert "status: 'pending' is not open or closed." in result.output


# --- a round trip through the importer ----------------------------------------------------


def test_exported_csv_imports_back_into_the_same_requests(chicago, tmp_path):
    """The City's rows imported, exported as the City's CSV, and imported again: nothing changes."""
    run_import(chicago, csv_export(tmp_path / "city.csv", city_rows(1000)))
    before = snapshot(chicago)
    exported = tmp_path / "ours.csv"
    result = chicago.test_cli_runner().invoke(
        args=["open311", "export-requests", "-o", str(exported)]
    )
    assert result.exit_code == 0, result.output
    delete_requests(chicago)

    report = run_import(chicago, exported)

    assert (report.rows_read, report.inserted, report.bad) == (1000, 1000, 0)
    assert snapshot(chicago) == before  # numbers, statuses, notes, times, places, areas, parents


# --- streaming ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "geojson", "ndjson"])
def test_a_feed_closed_early_leaves_the_transaction_usable(app, fmt):
    """A client that goes away mid-stream: the feed stops, the session carries on."""
    add_generated_requests(app, 3_000)
    time_zone = app.extensions["open311.jurisdiction"].time_zone
    with app.app_context():
        session = db.session()
        chunks = feeds.FEEDS[fmt](session, RequestFilter(), time_zone)
        next(chunks)
        next(chunks)
        chunks.close()
        assert session.scalar(sa.text("SELECT count(*) FROM service_request")) == 3_000


# --- memory -------------------------------------------------------------------------------


def add_generated_requests(app: Flask, count: int, first: int = 1) -> None:
    """`count` accepted requests, inserted in bulk: ten addresses, a few hours of one day."""
    start = datetime(2024, 5, 1, 12, tzinfo=UTC)
    rows = [
        {
            "number": f"SR24-{first + i:08d}", "intake": "accepted", "service_code": "GRAF",
            "status": "closed" if i % 3 else "open", "stage": "closed" if i % 3 else "new",
            "status_notes": "Completed" if i % 3 else None, "due_at": None,
            "agency_responsible": "Streets and Sanitation",
            "requested_at": start + timedelta(seconds=i), "updated_at": start + timedelta(seconds=2 * i),
            "address": f"{100 + i % 10} N LASALLE ST, CHICAGO, IL, 60602", "zipcode": "60602",
            "lat": 41.88 + (i % 1000) * 1e-6, "long": -87.63, "attributes": {}, "channel": "api",
            "duplicate_of": None,
        }
        for i in range(count)
    ]  # fmt: skip
    with app.app_context():
        session = db.session()
        begin_write(session)
        insert_new_requests(session, rows)
        db.session.commit()


def peak_memory(app: Flask, fmt: str) -> tuple[int, int]:
    """(bytes written, peak bytes of Python memory) for one whole feed, 500 rows a batch."""
    feed = {"csv": feeds.csv_feed, "geojson": feeds.geojson_feed, "ndjson": feeds.ndjson_feed}[fmt]
    time_zone = app.extensions["open311.jurisdiction"].time_zone
    feeds.city_address.cache_clear()
    with app.app_context():
        session = db.session()
        session.execute(sa.text("SELECT 1"))  # connect before measuring
        tracemalloc.start()
        try:
            written = sum(
                len(chunk) for chunk in feed(session, RequestFilter(), time_zone, batch_size=500)
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        db.session.rollback()
    return written, peak


@pytest.mark.parametrize("fmt", ["csv", "geojson", "ndjson"])
def test_memory_does_not_grow_with_the_number_of_requests(app, fmt):
    add_generated_requests(app, 2_000)
    peak_memory(app, fmt)  # warm caches and imports
    small_size, small_peak = peak_memory(app, fmt)
    add_generated_requests(app, 18_000, first=2_001)
    large_size, large_peak = peak_memory(app, fmt)

    assert large_size > 9 * small_size
    assert large_peak < 1.5 * small_peak + 256 * 1024, (small_peak, large_peak)
