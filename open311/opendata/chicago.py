"""One row of the City of Chicago's 311 data → the column values of a ServiceRequest.

The rows come from readers.py under the Socrata API names, whatever the
layout. What a row says is taken as the City published it (numbers, times,
statuses, parents); what we decide ourselves is which of our services it
belongs to, and (in imports.py) which of our areas contain it. A row that
cannot become a request raises RowError, whose message is the reason shown
in the import report.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.demo.chicago_texts import FORMER_NAMES
from open311.models import Intake, Service, Stage, Status
from open311.opendata.readers import Record

NUMBER_LENGTH = 32  # ServiceRequest.number

# STATUS as published → ours. The "- Dup" forms are the legacy datasets'.
STATUSES: Final[Mapping[str, Status]] = {
    "open": Status.OPEN,
    "open - dup": Status.OPEN,
    "completed": Status.CLOSED,
    "completed - dup": Status.CLOSED,
    "canceled": Status.CLOSED,
    "cancelled": Status.CLOSED,
}

# Legacy type names (README §3b) → the City's name for the same type since
# December 2018. Ours, by meaning: no City source links the two lists. The
# new system has one street-light type where the old one had two.
LEGACY_TYPE_NAMES: Final[Mapping[str, str]] = {
    "Pot Hole in Street": "Pothole in Street Complaint",
    "Graffiti Removal": "Graffiti Removal Request",
    "Tree Debris": "Tree Debris Clean-Up Request",
    "Tree Trim": "Tree Trim Request",
    "Alley Light Out": "Alley Light Out Complaint",
    "Street Lights - All/Out": "Street Light Out Complaint",
    "Street Light - 1/Out": "Street Light Out Complaint",
    "Garbage Cart Black Maintenance/Replacement": "Garbage Cart Maintenance",
}

# The point in a LOCATION value: "(lat, long)" in the CSV export, WKT in some
# exports, and a Python-style dict in the legacy files.
LOCATION_FORMS: Final = (
    re.compile(r"\(\s*(?P<lat>-?[\d.]+)\s*,\s*(?P<long>-?[\d.]+)\s*\)"),
    re.compile(r"POINT\s*\(\s*(?P<long>-?[\d.]+)\s+(?P<lat>-?[\d.]+)\s*\)", re.IGNORECASE),
    re.compile(r"'latitude':\s*'(?P<lat>-?[\d.]+)'.*'longitude':\s*'(?P<long>-?[\d.]+)'"),
)
# The CSV export's "01/01/2021 12:00:09 AM"; legacy copies also have the day alone.
US_TIME: Final = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d\d):(\d\d)\s*([AP])M)?")


class RowError(ValueError):
    """A row that cannot become a request; the message is the reason reported."""


@dataclass(frozen=True)
class ServiceTypes:
    """Which of our services a row's SR_SHORT_CODE or SR_TYPE names."""

    codes: frozenset[str]
    by_name: Mapping[str, str]  # name_key(a name the City uses) → our service code
    target_days: Mapping[str, float]  # service code → the catalogue's target time

    @classmethod
    def load(cls, session: Session) -> ServiceTypes:
        services = session.execute(sa.select(Service.code, Service.name, Service.target_days)).all()
        by_name = {name_key(name): code for code, name, _ in services}
        targets = {code: days for code, _, days in services if days is not None}
        # Renamed types: our catalogue may use either name.
        for current, former in FORMER_NAMES.items():
            code = by_name.get(name_key(current)) or by_name.get(name_key(former))
            if code is not None:
                by_name.setdefault(name_key(current), code)
                by_name.setdefault(name_key(former), code)
        for legacy, current in LEGACY_TYPE_NAMES.items():
            if name_key(current) in by_name:
                by_name.setdefault(name_key(legacy), by_name[name_key(current)])
        return cls(frozenset(code for code, _, _ in services), by_name, targets)

    def due(self, service_code: str, requested_at: datetime) -> datetime | None:
        """When the request is overdue by the catalogue's target time, if it has one."""
        days = self.target_days.get(service_code)
        # In UTC: local wall-clock arithmetic would move it by an hour across DST.
        return None if days is None else requested_at.astimezone(UTC) + timedelta(days=days)

    def code_for(self, short_code: str, type_name: str) -> str:
        """The short code when it is ours, else the service named type_name."""
        if short_code in self.codes:
            return short_code
        code = self.by_name.get(name_key(type_name))
        if code is None:
            also = f" (short code {short_code!r})" if short_code else ""
            raise RowError(f"unknown service type {type_name!r}{also}")
        return code


@lru_cache(maxsize=4096)
def name_key(name: str) -> str:
    """'Sidewalk Café/Outdoor Dining' and 'SIDEWALK CAFE / OUTDOOR DINING' alike."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_name.lower())


def request_columns(record: Record, types: ServiceTypes, time_zone: ZoneInfo) -> dict[str, Any]:
    """The ServiceRequest columns for one row (lat and long None when it has no point)."""
    row = record.fields
    status_text = row["status"].strip()
    status = STATUSES.get(status_text.lower())
    if status is None:
        raise RowError(f"unknown status {status_text!r}")
    requested_at = city_time(row, "created_date", time_zone)
    if requested_at is None:
        raise RowError("no created date")
    updated_at = updated_time(row, status, time_zone) or requested_at
    parent = row["parent_sr_number"].strip() or None
    lat, long = coordinates(row)
    service_code = types.code_for(row["sr_short_code"].strip(), row["sr_type"].strip())
    return {
        "number": request_number(row),
        "intake": Intake.ACCEPTED,
        "service_code": service_code,
        "status": status,
        "stage": Stage.CLOSED if status is Status.CLOSED else Stage.NEW,
        "status_notes": status_notes(status_text, status, parent),
        "agency_responsible": row["owner_department"].strip() or None,
        "requested_at": requested_at,
        "updated_at": max(requested_at, updated_at),  # the City has some closed before created
        "due_at": types.due(service_code, requested_at),
        "address": address(row),
        "zipcode": zipcode(row),
        "lat": lat,
        "long": long,
        "attributes": record.attributes,
        "channel": row["origin"].strip() or None,
        "duplicate_of": parent,
    }


def request_number(row: Mapping[str, str]) -> str:
    number = row["sr_number"].strip()
    if not number:
        raise RowError("no request number")
    if len(number) > NUMBER_LENGTH:
        raise RowError(f"request number {number!r} is longer than {NUMBER_LENGTH} characters")
    return number


def status_notes(status_text: str, status: Status, parent: str | None) -> str | None:
    """'Completed', 'Canceled', 'Completed - Dup'…, then the parent (as the demo loader does)."""
    notes = [status_text] if status is Status.CLOSED or "dup" in status_text.lower() else []
    if parent:
        notes.append(f"Duplicate of {parent}")
    return ". ".join(notes) or None


def updated_time(row: Mapping[str, str], status: Status, time_zone: ZoneInfo) -> datetime | None:
    # GeoReport: updated_datetime of a closed request is when it was closed.
    if status is Status.CLOSED and (closed_at := city_time(row, "closed_date", time_zone)):
        return closed_at
    return city_time(row, "last_modified_date", time_zone)


def city_time(row: Mapping[str, str], field: str, time_zone: ZoneInfo) -> datetime | None:
    """The field's time, aware (in time_zone when the City gave none); None when empty."""
    text = row[field].strip()
    if not text:
        return None
    try:
        moment = local_datetime(text)
    except ValueError:
        raise RowError(f"{field.replace('_', ' ')} {text!r} is not a date") from None
    # The City publishes wall-clock time. In the hour repeated each November
    # fold=0 picks the first (daylight) one: the files cannot tell them apart.
    # Left in the City's zone: the database stores the instant, in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=time_zone)


def local_datetime(text: str) -> datetime:
    """'01/01/2021 12:00:09 AM' (CSV export) or ISO '2021-01-01T00:00:09.000' (API, legacy)."""
    if "/" not in text[:6]:
        return datetime.fromisoformat(text)
    match = US_TIME.fullmatch(text)
    if match is None:
        raise ValueError(text)
    month, day, year, hour, minute, second, half = match.groups()
    if hour is None:  # the day alone
        return datetime(int(year), int(month), int(day))
    if not 1 <= int(hour) <= 12:
        raise ValueError(text)
    hour24 = int(hour) % 12 + (12 if half == "P" else 0)
    return datetime(int(year), int(month), int(day), hour24, int(minute), int(second))


def coordinates(row: Mapping[str, str]) -> tuple[float | None, float | None]:
    """LATITUDE and LONGITUDE, else the point in LOCATION; (None, None) when there is none."""
    lat_text, long_text = row["latitude"].strip(), row["longitude"].strip()
    if not (lat_text and long_text):
        lat_text, long_text = location_point(row["location"])
    if not (lat_text and long_text):
        return None, None
    try:
        lat, long = float(lat_text), float(long_text)
    except ValueError:
        raise RowError(f"coordinates {lat_text!r}, {long_text!r} are not numbers") from None
    if not (-90 <= lat <= 90 and -180 <= long <= 180):  # NaN fails too
        raise RowError(f"latitude {lat_text!r} or longitude {long_text!r} is out of range")
    return lat, long


def location_point(text: str) -> tuple[str, str]:
    for form in LOCATION_FORMS:
        if match := form.search(text):
            return match["lat"], match["long"]
    return "", ""


MISSING_ZIP = frozenset({"", "0"})  # the City writes 0 where no ZIP was found


def address(row: Mapping[str, str]) -> str:
    """'9116 S DANTE AVE, CHICAGO, IL, 60617', leaving out missing parts."""
    parts = [row["street_address"], "CHICAGO", "IL", zipcode(row) or ""]
    return ", ".join(part for part in parts if part)


def zipcode(row: Mapping[str, str]) -> str | None:
    return None if row["zip_code"] in MISSING_ZIP else row["zip_code"]
