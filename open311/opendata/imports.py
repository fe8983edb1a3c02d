"""Import the City of Chicago's published 311 requests into the store.

import_requests reads one file (the portal's CSV export, the Socrata JSON or
a legacy per-type CSV; see readers.py) in batches of 5,000 rows:

1. a worker thread reads the next batch and turns each row into a request's
   columns (chicago.py) while the database stores the current one;
2. rows without coordinates are placed with the geocoder. A row that cannot
   be imported is reported with its line and the reason; the rest go on;
3. the batch is inserted set-based (spatial.insert_new_requests), which skips
   every number stored already, in bulk: importing a file again, or the same
   request from another layout, changes nothing. A request the City carried
   over from its old system is also found under its old number.

Then every new request has its area codes (spatial.tag_imported_requests).
The City's own WARD and COMMUNITY_AREA columns are not used: tagging from
our maps is what makes area queries agree for imported and filed requests.
Last, each year's number counter is raised above the highest number seen,
so requests filed later never take one.

The caller owns the transaction; on SQLite, open it with begin_write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.geocoding import Geocoder
from open311.models import ServiceRequest
from open311.opendata.chicago import RowError, ServiceTypes, request_columns
from open311.opendata.readers import (
    FORMATS,
    Record,
    UnreadableFile,
    guess_format,
    open_text,
    read_records,
)
from open311.service_requests.numbers import raise_counter
from open311.spatial import insert_new_requests, tag_imported_requests

__all__ = ["FORMATS", "BadRow", "ImportReport", "UnreadableFile", "import_requests"]

BATCH_SIZE = 5000
# A file that is bad throughout still reports in constant memory.
BAD_ROWS_KEPT = 1000


class BadRow(NamedTuple):
    line: int  # physical CSV line (header = 1), or 1-based index in the JSON array
    reason: str


@dataclass
class ImportReport:
    rows_read: int = 0
    inserted: int = 0
    already_present: int = 0
    bad: int = 0  # every bad row; bad_rows lists the first BAD_ROWS_KEPT
    bad_rows: list[BadRow] = field(default_factory=list)

    def add_bad(self, line: int, reason: str) -> None:
        self.bad += 1
        if len(self.bad_rows) < BAD_ROWS_KEPT:
            self.bad_rows.append(BadRow(line, reason))


def import_requests(
    session: Session,
    path: Path,
    *,
    time_zone: ZoneInfo,
    geocoder: Geocoder | None = None,
    file_format: str | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Add the file's requests that are not stored yet; report what happened to each row.

    Raises UnreadableFile when the file as a whole cannot be read (its layout
    is unknown, a required column is missing, it is not UTF-8 text).
    """
    types = ServiceTypes.load(session)
    run = _Import(session, geocoder)
    with open_text(path) as handle, ThreadPoolExecutor(max_workers=1) as reader:
        records = read_records(handle, file_format or guess_format(path))
        read_batch = partial(_read_batch, records, batch_size, types, time_zone)
        # One thread reads and converts the next batch while the database
        # stores this one (drivers release the GIL while they wait).
        upcoming = reader.submit(read_batch)
        while batch := upcoming.result():
            upcoming = reader.submit(read_batch)
            run.add(batch)
    run.finish()
    return run.report


class _Row(NamedTuple):
    """A record, and the request columns it gave or why it gave none."""

    record: Record
    columns: dict[str, Any]
    problem: str | None


def _read_batch(
    records: Iterator[Record], size: int, types: ServiceTypes, time_zone: ZoneInfo
) -> list[_Row]:
    return [_converted(record, types, time_zone) for record in islice(records, size)]


def _converted(record: Record, types: ServiceTypes, time_zone: ZoneInfo) -> _Row:
    if record.problem:
        return _Row(record, {}, record.problem)
    try:
        return _Row(record, request_columns(record, types, time_zone), None)
    except RowError as error:
        return _Row(record, {}, str(error))


@dataclass
class _Import:
    session: Session
    geocoder: Geocoder | None
    report: ImportReport = field(default_factory=ImportReport)
    highest: dict[int, int] = field(default_factory=dict)  # year → highest SR number seen

    def add(self, batch: Sequence[_Row]) -> None:
        carried_over = self._stored_under_old_numbers(batch)
        rows = [columns for row in batch if (columns := self._accepted(row, carried_over))]
        inserted = insert_new_requests(self.session, rows)
        # The others' numbers are stored already, by an earlier import or
        # earlier in this file: the insert skips them in bulk.
        self.report.inserted += inserted
        self.report.already_present += len(rows) - inserted
        self._note_numbers([row["number"] for row in rows])

    def finish(self) -> None:
        for year, value in self.highest.items():
            raise_counter(self.session, year, value)
        if self.report.inserted:
            tag_imported_requests(self.session)

    def _accepted(self, row: _Row, carried_over: set[str]) -> dict[str, Any] | None:
        """The row's columns to insert, or None when it is bad or stored under its old number."""
        self.report.rows_read += 1
        if _old_number(row.record) in carried_over:
            self.report.already_present += 1
            return None
        try:
            if row.problem:
                raise RowError(row.problem)
            if row.columns["lat"] is None:
                self._place(row.columns, row.record.fields)
        except RowError as error:
            self.report.add_bad(row.record.line, str(error))
            return None
        return row.columns

    def _stored_under_old_numbers(self, batch: Sequence[_Row]) -> set[str]:
        """The batch's LEGACY_SR_NUMBERs that are stored: requests a legacy file brought in.

        The City gave the requests it carried over from its old system a new
        number, and kept the old one, under which a legacy file has them.
        One query, and only for the few rows that have an old number.
        """
        old_numbers = {number for row in batch if (number := _old_number(row.record))}
        return existing_numbers(self.session, sorted(old_numbers)) if old_numbers else set()

    def _place(self, columns: dict[str, Any], fields: Mapping[str, str]) -> None:
        """Coordinates for a row without them, from its address."""
        street = fields["street_address"].strip()
        if not street:
            raise RowError("no location: no coordinates and no address")
        place = self.geocoder.geocode(columns["address"]) if self.geocoder else None
        if place is None:
            raise RowError(f"no location: no coordinates, and {street!r} cannot be placed")
        columns.update(lat=place.lat, long=place.lon)
        if columns["zipcode"] is None and place.zipcode:
            columns.update(zipcode=place.zipcode, address=place.address)

    def _note_numbers(self, numbers: Iterable[str]) -> None:
        for year, value in highest_numbers(numbers).items():
            self.highest[year] = max(self.highest.get(year, 0), value)


def _old_number(record: Record) -> str:
    return record.fields.get("legacy_sr_number", "").strip()


REQUEST_NUMBER = re.compile(r"^SR(\d{2})-(\d+)$")  # SR21-00000001: year 2021, number 1


def existing_numbers(session: Session, numbers: Sequence[str]) -> set[str]:
    """Which of these request numbers are already stored, in one query."""
    query = sa.select(ServiceRequest.number).where(ServiceRequest.number.in_(numbers))
    return set(session.scalars(query))


def highest_numbers(numbers: Iterable[str]) -> dict[int, int]:
    """The highest SRyy-n number of each year among `numbers`."""
    highest: dict[int, int] = {}
    for number in numbers:
        match = REQUEST_NUMBER.match(number)
        if match:
            year, value = 2000 + int(match[1]), int(match[2])
            highest[year] = max(highest.get(year, 0), value)
    return highest
