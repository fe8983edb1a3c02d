"""Load the demo requests: the first 5,000 Chicago 311 requests of 2021.

The file is open311/demo/data/chicago_requests_2021.csv.gz, written by
derive.py with the values as the City published them. Loading twice adds
nothing the second time; the caller commits.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311 import spatial
from open311.models import Intake, RequestNumberCounter, Service, ServiceRequest, Status

CLOSED_STATUSES = frozenset({"Completed", "Canceled"})
REQUEST_NUMBER = re.compile(r"^SR(\d{2})-(\d+)$")  # SR21-00000001: year 2021, number 1
MISSING_ZIP = frozenset({"", "0"})  # the City writes 0 where no ZIP was found

Row = Mapping[str, str]


@dataclass(frozen=True)
class DemoLoadReport:
    inserted: int
    already_loaded: int
    unknown_service: int


def load_demo_requests(session: Session, path: Path, time_zone: ZoneInfo) -> int:
    """Insert the file's requests that are not loaded yet; return how many."""
    return load_demo_requests_report(session, path, time_zone).inserted


def load_demo_requests_report(session: Session, path: Path, time_zone: ZoneInfo) -> DemoLoadReport:
    """Like load_demo_requests, and also count what was skipped and why."""
    rows = read_rows(path)
    loaded = existing_numbers(session, [row["sr_number"] for row in rows])
    unseen = [row for row in rows if row["sr_number"] not in loaded]
    services = set(session.scalars(sa.select(Service.code)))
    new_rows = [row for row in unseen if row["sr_short_code"] in services]
    session.add_all(service_request(row, time_zone) for row in new_rows)
    session.flush()
    raise_counters(session, [row["sr_number"] for row in rows])
    return DemoLoadReport(len(new_rows), len(loaded), len(unseen) - len(new_rows))


def read_rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def existing_numbers(session: Session, numbers: Sequence[str]) -> set[str]:
    """The file's request numbers already in the database, in one query."""
    query = sa.select(ServiceRequest.number).where(ServiceRequest.number.in_(numbers))
    return set(session.scalars(query))


def service_request(row: Row, time_zone: ZoneInfo) -> ServiceRequest:
    requested_at = city_time(row["created_date"], time_zone)
    closed = is_closed(row)
    lat, long = float(row["latitude"]), float(row["longitude"])
    return ServiceRequest(
        number=row["sr_number"],
        intake=Intake.ACCEPTED,
        service_code=row["sr_short_code"],
        status=Status.CLOSED if closed else Status.OPEN,
        status_notes=status_notes(row, closed),
        agency_responsible=row["owner_department"] or None,
        requested_at=requested_at,
        updated_at=max(requested_at, updated_time(row, closed, time_zone)),
        expected_at=None,
        address=address(row),
        zipcode=zipcode(row),
        lat=lat,
        long=long,
        location=spatial.point(long, lat),
        channel=row["origin"] or None,
        duplicate_of=row["parent_sr_number"] or None,
    )


def city_time(text: str, time_zone: ZoneInfo) -> datetime:
    """The City's local wall-clock time (no zone) → an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=time_zone).astimezone(UTC)


def is_closed(row: Row) -> bool:
    return bool(row["closed_date"]) or row["status"] in CLOSED_STATUSES


def updated_time(row: Row, closed: bool, time_zone: ZoneInfo) -> datetime:
    # GeoReport: updated_datetime of a closed request is when it was closed.
    if closed and row["closed_date"]:
        return city_time(row["closed_date"], time_zone)
    return city_time(row["last_modified_date"], time_zone)


def status_notes(row: Row, closed: bool) -> str | None:
    notes = [row["status"]] if closed and row["status"] in CLOSED_STATUSES else []
    if row["duplicate"] == "True" and row["parent_sr_number"]:
        notes.append(f"Duplicate of {row['parent_sr_number']}")
    return ". ".join(notes) or None


def address(row: Row) -> str:
    """'9116 S DANTE AVE, CHICAGO, IL, 60617', leaving out missing parts."""
    parts = [row["street_address"], "CHICAGO", "IL", zipcode(row) or ""]
    return ", ".join(part for part in parts if part)


def zipcode(row: Row) -> str | None:
    return None if row["zip_code"] in MISSING_ZIP else row["zip_code"]


def raise_counters(session: Session, numbers: Iterable[str]) -> None:
    """Raise each year's counter to the highest number in the file.

    New requests then never take a number the demo data already uses.
    """
    for year, highest in highest_numbers(numbers).items():
        counter = session.get(RequestNumberCounter, year)
        if counter is None:
            session.add(RequestNumberCounter(year=year, last_value=highest))
        elif counter.last_value < highest:
            counter.last_value = highest
    session.flush()


def highest_numbers(numbers: Iterable[str]) -> dict[int, int]:
    highest: dict[int, int] = {}
    for number in numbers:
        match = REQUEST_NUMBER.match(number)
        if match:
            year, value = 2000 + int(match[1]), int(match[2])
            highest[year] = max(highest.get(year, 0), value)
    return highest
