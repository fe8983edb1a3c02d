"""Importing the City's published 311 data: the CSV export, Socrata JSON and legacy CSVs.

The City rows are real: the first requests of 2021 in the demo data, written
out in the layouts the data portal publishes them in (all 39 columns of
dataset v6vf-nfxy). The legacy rows are real too (tests/fixtures/legacy).
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from open311.catalog.loader import load_catalog, read_catalog
from open311.config import PACKAGE_DIR, PROJECT_DIR
from open311.database import begin_write
from open311.extensions import db
from open311.models import RequestNumberCounter, Service, ServiceRequest, Stage, Status
from open311.opendata.imports import ImportReport, UnreadableFile, import_requests
from open311.service_requests.numbers import next_number

DEMO_ROWS = PACKAGE_DIR / "demo" / "data" / "chicago_requests_2021.csv.gz"
LEGACY = Path(__file__).parents[1] / "fixtures" / "legacy"
POTHOLES = LEGACY / "legacy_pot-holes_sample.csv"
GRAFFITI = LEGACY / "legacy_graffiti-removal_sample.csv"
CHICAGO = ZoneInfo("America/Chicago")
# The CSV export's 39 columns in order (shared/chicago311/README.md §1).
CITY_COLUMNS = (
    "SR_NUMBER", "SR_TYPE", "SR_SHORT_CODE", "CREATED_DEPARTMENT", "OWNER_DEPARTMENT", "STATUS",
    "ORIGIN", "CREATED_DATE", "LAST_MODIFIED_DATE", "CLOSED_DATE", "STREET_ADDRESS", "CITY",
    "STATE", "ZIP_CODE", "STREET_NUMBER", "STREET_DIRECTION", "STREET_NAME", "STREET_TYPE",
    "DUPLICATE", "LEGACY_RECORD", "LEGACY_SR_NUMBER", "PARENT_SR_NUMBER", "COMMUNITY_AREA", "WARD",
    "ELECTRICAL_DISTRICT", "ELECTRICITY_GRID", "POLICE_SECTOR", "POLICE_DISTRICT", "POLICE_BEAT",
    "PRECINCT", "SANITATION_DIVISION_DAYS", "CREATED_HOUR", "CREATED_DAY_OF_WEEK", "CREATED_MONTH",
    "X_COORDINATE", "Y_COORDINATE", "LATITUDE", "LONGITUDE", "LOCATION",
)  # fmt: skip
DATES = ("created_date", "last_modified_date", "closed_date")
# The first 400 requests of 2021: Completed, Canceled and Open ones, and duplicates.
ROWS = 400
Row = dict[str, str]


# --- the City's layouts, written from real rows -----------------------------------------


def city_rows(count: int) -> list[Row]:
    with gzip.open(DEMO_ROWS, "rt", encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        return [dict(row) for row, _ in zip(rows, range(count), strict=False)]


def csv_export(path: Path, rows: list[Row]) -> Path:
    """The rows as the portal's CSV export has them: upper-case names, US dates."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CITY_COLUMNS)
        writer.writerows(
            [export_value(row, column.lower()) for column in CITY_COLUMNS] for row in rows
        )
    return path


def export_value(row: Row, name: str) -> str:
    value = row.get(name, "")
    if name in DATES and value and value[:4].isdigit() and value[5:7] <= "12":
        return datetime.fromisoformat(value).strftime("%m/%d/%Y %I:%M:%S %p")
    if name in ("duplicate", "legacy_record"):
        return (value or "false").lower()
    if name == "location" and row.get("latitude"):
        return f"({row['latitude']}, {row['longitude']})"
    return value


def socrata_json(path: Path, rows: list[Row]) -> Path:
    """The rows as the SODA .json endpoint gives them: null fields left out, location an object."""
    path.write_text(json.dumps([socrata_item(row) for row in rows], indent=1), encoding="utf-8")
    return path


def socrata_item(row: Row) -> dict[str, Any]:
    item: dict[str, Any] = {c.lower(): row[c.lower()] for c in CITY_COLUMNS if row.get(c.lower())}
    item.update(
        duplicate=row["duplicate"] == "True", legacy_record=row.get("legacy_record") == "true"
    )
    if row.get("latitude"):
        address = json.dumps({"address": "", "city": "", "state": "", "zip": ""})
        item["location"] = {
            "latitude": row["latitude"],
            "longitude": row["longitude"],
            "human_address": address,
        }
    return item


def local(text: str) -> datetime:
    """A City date (ISO, as the API and legacy files write it) as its Chicago wall-clock time."""
    return datetime.fromisoformat(text)


def wall_clock(moment: datetime) -> datetime:
    """A stored (UTC) time as Chicago's wall-clock time."""
    return moment.astimezone(CHICAGO).replace(tzinfo=None)


# --- the store ----------------------------------------------------------------------------


@pytest.fixture
def chicago(app: Flask) -> Flask:
    """The app with the real Chicago catalogue and area maps."""
    with app.app_context():
        session = db.session()
        begin_write(session)
        load_catalog(
            session,
            read_catalog(PROJECT_DIR / "services_catalog" / "chicago", PROJECT_DIR / "schemas"),
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["open311", "load-chicago-areas"])
    assert result.exit_code == 0, result.output
    return app


def run_import(app: Flask, path: Path, file_format: str | None = None) -> ImportReport:
    with app.app_context():
        session = db.session()
        begin_write(session)
        jurisdiction = app.extensions["open311.jurisdiction"]
        report = import_requests(
            session,
            path,
            time_zone=jurisdiction.time_zone,
            geocoder=jurisdiction.geocoder,
            file_format=file_format,
        )
        db.session.commit()
    return report


def stored(app: Flask) -> dict[str, ServiceRequest]:
    with app.app_context():
        requests = {r.number: r for r in db.session.scalars(sa.select(ServiceRequest))}
        db.session.expunge_all()
        return requests


def snapshot(app: Flask) -> dict[str, tuple[Any, ...]]:
    """Every stored request's columns (the point as text), and the number counters."""
    columns = [c for c in ServiceRequest.__table__.columns if c.key not in ("id", "location")]
    query = sa.select(*columns, sa.func.ST_AsText(ServiceRequest.location))
    with app.app_context():
        requests = {row.number: tuple(row) for row in db.session.execute(query)}
        counters = {
            c.year: (c.last_value,) for c in db.session.scalars(sa.select(RequestNumberCounter))
        }
    return requests | {f"counter {year}": value for year, value in counters.items()}


def delete_requests(app: Flask) -> None:
    with app.app_context():
        db.session.execute(sa.delete(ServiceRequest))
        db.session.commit()


# --- the CSV export and Socrata JSON ------------------------------------------------------


def test_csv_export_rows_become_requests_with_statuses_times_and_parents(chicago, tmp_path):
    rows = city_rows(ROWS)
    report = run_import(chicago, csv_export(tmp_path / "export.csv", rows))

    assert (report.rows_read, report.inserted, report.already_present) == (ROWS, ROWS, 0)
    assert report.bad_rows == []
    requests = stored(chicago)
    with chicago.app_context():
        targets = dict(db.session.execute(sa.select(Service.code, Service.target_days)).all())
    assert {row["status"] for row in rows} == {"Completed", "Canceled", "Open"}
    for row in rows:
        request = requests[row["sr_number"]]
        closed = row["status"] != "Open"
        assert request.status == (Status.CLOSED if closed else Status.OPEN)
        assert request.stage == (Stage.CLOSED if closed else Stage.NEW)
        assert request.service_code == row["sr_short_code"]
        target = targets[request.service_code]
        due = None if target is None else request.requested_at + timedelta(days=target)
        assert request.due_at == due
        assert wall_clock(request.requested_at) == local(row["created_date"])
        changed = row["closed_date"] if closed else row["last_modified_date"]
        expected = max(local(row["created_date"]), local(changed))  # never before it was created
        assert wall_clock(request.updated_at) == expected
        assert request.duplicate_of == (row["parent_sr_number"] or None)
        assert request.channel == row["origin"]
        assert request.address.endswith(f", CHICAGO, IL, {row['zip_code']}")
        assert (request.lat, request.long) == (float(row["latitude"]), float(row["longitude"]))


def test_status_notes_say_completed_canceled_and_whose_duplicate(chicago, tmp_path):
    rows = city_rows(ROWS)
    run_import(chicago, csv_export(tmp_path / "export.csv", rows))

    notes = {number: request.status_notes for number, request in stored(chicago).items()}
    assert notes["SR21-00000001"] == "Completed"
    assert notes["SR21-00000333"] == "Canceled"
    assert notes["SR21-00000271"] is None  # open
    [child] = [row for row in rows if row["parent_sr_number"]][:1]
    assert (
        notes[child["sr_number"]] == f"{child['status']}. Duplicate of {child['parent_sr_number']}"
    )


def test_areas_come_from_our_maps_and_agree_with_the_citys(chicago, tmp_path):
    rows = city_rows(ROWS)
    run_import(chicago, csv_export(tmp_path / "export.csv", rows))

    requests = stored(chicago)
    assert all(requests[row["sr_number"]].community_area == row["community_area"] for row in rows)
    assert all(request.ward and request.neighborhood for request in requests.values())
    assert requests["SR21-00000001"].neighborhood == "Little Italy, UIC"  # the 311 centre


def test_new_numbers_start_above_the_imported_ones(chicago, tmp_path):
    rows = city_rows(ROWS)
    run_import(chicago, csv_export(tmp_path / "export.csv", rows))

    highest = max(int(row["sr_number"][5:]) for row in rows)
    with chicago.app_context():
        session = db.session()
        begin_write(session)
        number = next_number(session, "SR", datetime(2021, 6, 1, tzinfo=UTC), CHICAGO)
        db.session.rollback()
    assert number == f"SR21-{highest + 1:08d}"


def test_socrata_json_gives_the_same_requests_as_the_csv_export(chicago, tmp_path):
    rows = city_rows(ROWS)
    from_json = run_import(chicago, socrata_json(tmp_path / "rows.json", rows))
    requests = snapshot(chicago)
    delete_requests(chicago)
    from_csv = run_import(chicago, csv_export(tmp_path / "export.csv", rows))

    assert (from_json.rows_read, from_json.inserted, from_json.bad_rows) == (ROWS, ROWS, [])
    assert from_csv.inserted == ROWS
    assert snapshot(chicago) == requests


def test_importing_a_file_again_changes_nothing(chicago, tmp_path):
    path = csv_export(tmp_path / "export.csv", city_rows(ROWS))
    run_import(chicago, path)
    before = snapshot(chicago)

    again = run_import(chicago, path)

    assert (again.rows_read, again.inserted, again.already_present, again.bad) == (ROWS, 0, ROWS, 0)
    assert snapshot(chicago) == before


def test_the_same_requests_from_another_layout_change_nothing(chicago, tmp_path):
    rows = city_rows(ROWS)
    run_import(chicago, csv_export(tmp_path / "export.csv", rows))
    before = snapshot(chicago)

    again = run_import(chicago, socrata_json(tmp_path / "rows.json", rows))

    assert (again.inserted, again.already_present) == (0, ROWS)
    assert snapshot(chicago) == before


# --- bad rows -----------------------------------------------------------------------------


def broken_rows() -> list[Row]:
    """Twenty real rows, four of them changed: three can't be imported, one needs the geocoder."""
    rows = city_rows(20)
    # A quoted line break: the rows after it start one line later.
    rows[1]["created_department"] = "311 City\nServices"
    rows[3]["created_date"] = "2021-13-45T00:00:00.000"
    rows[7].update(sr_short_code="UNICORN", sr_type="Unicorn Sighting")
    rows[11].update(latitude="", longitude="", street_address="1 NOWHERE ST")
    rows[15].update(latitude="", longitude="")  # its real address places it
    return rows


def test_bad_csv_rows_are_reported_with_their_line_and_the_rest_loads(chicago, tmp_path):
    rows = broken_rows()
    report = run_import(chicago, csv_export(tmp_path / "export.csv", rows))

    assert (report.rows_read, report.inserted, report.bad) == (20, 17, 3)
    # Header = line 1, rows[i] = line i + 2, and one line more after the line break.
    assert report.bad_rows == [
        (6, "created date '2021-13-45T00:00:00.000' is not a date"),
        (10, "unknown service type 'Unicorn Sighting' (short code 'UNICORN')"),
        (14, "no location: no coordinates, and '1 NOWHERE ST' cannot be placed"),
    ]
    placed = stored(chicago)[rows[15]["sr_number"]]
    assert placed.lat == pytest.approx(float(city_rows(16)[15]["latitude"]), abs=0.002)
    assert placed.community_area == rows[15]["community_area"]


def test_bad_json_objects_are_reported_with_their_index_and_the_rest_loads(chicago, tmp_path):
    items: list[Any] = [socrata_item(row) for row in broken_rows()]
    items[5] = "not an object"
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(items), encoding="utf-8")

    report = run_import(chicago, path)

    assert (report.rows_read, report.inserted, report.bad) == (20, 16, 4)
    assert [line for line, _ in report.bad_rows] == [4, 6, 8, 12]
    assert report.bad_rows[0] == (4, "created date '2021-13-45T00:00:00.000' is not a date")
    assert report.bad_rows[1] == (6, "a JSON str, not an object")


def test_a_file_that_is_not_the_citys_cannot_be_read(chicago, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("id,name\n1,pothole\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="not a City 311 file"):
        run_import(chicago, path)
    with pytest.raises(UnreadableFile, match="no column sr_number"):
        run_import(chicago, path, file_format="city-csv")


# --- legacy per-type files ----------------------------------------------------------------


def legacy_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k.lower(): v for k, v in row.items()} for row in csv.DictReader(handle)]


def test_legacy_files_import_with_dup_statuses_attributes_and_areas(chicago):
    potholes = run_import(chicago, POTHOLES)
    graffiti = run_import(chicago, GRAFFITI)

    assert (potholes.inserted, graffiti.inserted, potholes.bad + graffiti.bad) == (50, 50, 0)
    requests = stored(chicago)
    for path, code in ((POTHOLES, "PHF"), (GRAFFITI, "GRAF")):
        for row in legacy_rows(path):
            request = requests[row["service request number"]]  # numbers as published
            assert request.service_code == code
            assert request.status == Status.CLOSED
            assert request.status_notes == row["status"]  # "Completed" or "Completed - Dup"
            assert wall_clock(request.requested_at) == local(row["creation date"])
            assert wall_clock(request.updated_at) == local(row["completion date"])
            assert request.community_area == row["community area"]
    first_graffiti = requests["11-00002268"]
    assert first_graffiti.attributes == {
        "graffiti_surface": "Brick - Unpainted",
        "graffiti_location": "Front",
    }
    assert {r.status_notes for r in requests.values()} == {"Completed", "Completed - Dup"}


def test_a_request_carried_over_from_the_old_system_is_not_imported_twice(chicago, tmp_path):
    run_import(chicago, POTHOLES)
    [row] = city_rows(1)
    row.update(sr_number="SR19-00000001", legacy_record="true", legacy_sr_number="11-00002110")

    report = run_import(chicago, csv_export(tmp_path / "export.csv", [row]))

    assert (report.inserted, report.already_present) == (0, 1)
    assert "SR19-00000001" not in stored(chicago)


# --- the command --------------------------------------------------------------------------


def test_command_imports_guessing_the_format_and_lists_bad_rows(chicago, tmp_path):
    runner = chicago.test_cli_runner()
    path = csv_export(tmp_path / "export.csv", broken_rows())

    result = runner.invoke(args=["open311", "import-requests", str(path), "--show-bad", "2"])

    assert result.exit_code == 0, result.output
    assert "20 rows read, 17 imported, 0 already present, 3 bad" in result.output
    assert "line 6: created date" in result.output
    assert "line 14" not in result.output
    assert "and 1 more bad rows" in result.output
    legacy = runner.invoke(
        args=["open311", "import-requests", str(POTHOLES), "--format", "legacy-csv"]
    )
    assert "50 rows read, 50 imported" in legacy.output


def test_command_fails_on_a_file_it_cannot_read(chicago, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"sr_number": "SR21-00000001"}', encoding="utf-8")

    result = chicago.test_cli_runner().invoke(args=["open311", "import-requests", str(path)])

    assert result.exit_code == 1
    assert "not a City 311 file" in result.output


def test_streamed_json_reads_objects_across_chunk_boundaries(chicago, tmp_path, monkeypatch):
    from open311.opendata import readers

    monkeypatch.setattr(readers, "JSON_CHUNK", 100)  # every object straddles a chunk
    report = run_import(chicago, socrata_json(tmp_path / "rows.json", city_rows(30)))
    assert (report.inserted, report.bad) == (30, 0)
