"""Readers for the City of Chicago's published 311 files, one per layout.

Each reader yields Records: where the row starts (its physical line in a CSV
file, header = line 1; its 1-based index in a JSON array), its fields under
the Socrata API names of dataset v6vf-nfxy (sr_number, created_date, …; ""
when the file has no value), and, from the legacy per-type files, the
type-specific answers. Readers are generators over an open file, so a file of
millions of rows is read in constant memory.

The layouts (shared/chicago311/README.md §1 and §3b):
- city-csv: the portal's CSV export, 39 upper-case columns (SR_NUMBER, …);
  the SODA .csv endpoint's lower-case names are read the same way;
- socrata-json: the SODA .json endpoint, an array of objects with the API
  names, where null fields are left out and `location` is an object;
- legacy-csv: the pre-2018 per-type datasets, whose columns differ by type.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, NamedTuple, TextIO

from open311.errors import Open311Error

FORMATS: Final = ("city-csv", "socrata-json", "legacy-csv")

# The 39 columns of dataset v6vf-nfxy, by API name, in the export's order.
CITY_FIELDS: Final = (
    "sr_number", "sr_type", "sr_short_code", "created_department", "owner_department",
    "status", "origin", "created_date", "last_modified_date", "closed_date",
    "street_address", "city", "state", "zip_code", "street_number", "street_direction",
    "street_name", "street_type", "duplicate", "legacy_record", "legacy_sr_number",
    "parent_sr_number", "community_area", "ward", "electrical_district", "electricity_grid",
    "police_sector", "police_district", "police_beat", "precinct", "sanitation_division_days",
    "created_hour", "created_day_of_week", "created_month", "x_coordinate", "y_coordinate",
    "latitude", "longitude", "location",
)  # fmt: skip
# Without these a file is not the City's; the other columns may be missing.
REQUIRED_FIELDS: Final = ("sr_number", "sr_type", "status", "created_date")

# Legacy headers (compared case-insensitively: the pothole file is upper case)
# that hold the same facts as a v6vf-nfxy column.
LEGACY_FIELDS: Final[Mapping[str, str]] = {
    "service request number": "sr_number",
    "type of service request": "sr_type",
    "status": "status",
    "creation date": "created_date",
    "completion date": "closed_date",
    "street address": "street_address",
    "zip code": "zip_code",
    "zip": "zip_code",
    "x coordinate": "x_coordinate",
    "y coordinate": "y_coordinate",
    "ward": "ward",
    "police district": "police_district",
    "community area": "community_area",
    "ssa": "ssa",  # special service area: an area column, like ward
    "latitude": "latitude",
    "longitude": "longitude",
    "location": "location",
}
# Type-specific legacy columns → the attribute codes they are stored under.
# Headers missing here get their words joined by "_" (see attribute_code).
LEGACY_ATTRIBUTES: Final[Mapping[str, str]] = {
    "license plate": "license_plate",
    "vehicle make/model": "vehicle_make_model",
    "vehicle color": "vehicle_color",
    "how many days has the vehicle been reported as parked?": "days_reported_parked",
    "number of black carts delivered": "black_carts_delivered",
    "what type of surface is the graffiti on?": "graffiti_surface",
    "where is the graffiti located?": "graffiti_location",
    "number of potholes filled on block": "potholes_filled_on_block",
    "number of premises baited": "premises_baited",
    "number of premises with garbage": "premises_with_garbage",
    "number of premises with rats": "premises_with_rats",
    "what is the nature of this code violation?": "code_violation_nature",
    "if yes, where is the debris located?": "debris_location",
    "location of trees": "tree_location",
    "current activity": "current_activity",
    "most recent action": "most_recent_action",
}
LEGACY_REQUIRED: Final = ("service request number", "type of service request", "status")

JSON_CHUNK = 1 << 16
# A Socrata row is about 1.5 kB; an "object" that does not end within this
# many bytes is a broken file, and we stop rather than read it all into memory.
JSON_MAX_OBJECT = 1 << 20
NO_FIELDS: Final[Mapping[str, str]] = dict.fromkeys(CITY_FIELDS, "")


class UnreadableFile(Open311Error):
    """The file as a whole cannot be read: unknown layout, missing columns, not text."""


class Record(NamedTuple):
    line: int
    fields: dict[str, str]  # every name in CITY_FIELDS, and any other column of the file
    attributes: dict[str, str]
    problem: str | None = None  # why the row could not even be split into fields


@contextmanager
def open_text(path: Path) -> Iterator[TextIO]:
    """The file as text; .gz files are decompressed on the fly."""
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            yield handle
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"{path.name} is not UTF-8 text: {error}") from error
    except (OSError, EOFError) as error:  # EOFError: a truncated .gz file
        raise UnreadableFile(f"{path.name} cannot be read: {error}") from error


def guess_format(path: Path) -> str:
    """The layout of the file, from its first character or its header."""
    with open_text(path) as handle:
        start = handle.read(4096)
    if start.lstrip().startswith("["):
        return "socrata-json"
    header = {name.strip().lower() for name in next(csv.reader(io.StringIO(start)), [])}
    if "sr_number" in header:
        return "city-csv"
    if "service request number" in header:
        return "legacy-csv"
    raise UnreadableFile(
        f"{path.name}: not a City 311 file (no SR_NUMBER or Service Request Number column, "
        "and not a JSON array)"
    )


def read_records(handle: TextIO, file_format: str) -> Iterator[Record]:
    readers = {
        "city-csv": read_city_csv,
        "socrata-json": read_socrata_json,
        "legacy-csv": read_legacy_csv,
    }
    if file_format not in readers:
        raise UnreadableFile(f"unknown format {file_format!r}; one of {', '.join(FORMATS)}")
    return readers[file_format](handle)


# --- CSV ----------------------------------------------------------------------------


def read_city_csv(handle: TextIO) -> Iterator[Record]:
    """Rows of the CSV export (or of the SODA .csv endpoint)."""
    reader = csv.reader(handle)
    names = [name.strip().lower() for name in _header(reader)]
    _require(names, REQUIRED_FIELDS, "column")
    # Columns the file lacks read as empty, so every row has all 39 names.
    padding = {name: "" for name in CITY_FIELDS if name not in names}
    for line, values in _csv_rows(reader, len(names)):
        if isinstance(values, str):
            yield Record(line, {}, {}, values)
        else:
            fields = dict(zip(names, values, strict=True))
            fields.update(padding)
            yield Record(line, fields, {})


def read_legacy_csv(handle: TextIO) -> Iterator[Record]:
    """Rows of a pre-2018 per-type file; its own columns become attributes."""
    reader = csv.reader(handle)
    header = [name.strip() for name in _header(reader)]
    folded = [name.lower() for name in header]
    _require(folded, LEGACY_REQUIRED, "column")
    fields_at = [(i, LEGACY_FIELDS[name]) for i, name in enumerate(folded) if name in LEGACY_FIELDS]
    answers_at = [
        (i, attribute_code(header[i])) for i, name in enumerate(folded) if name not in LEGACY_FIELDS
    ]
    for line, values in _csv_rows(reader, len(header)):
        if isinstance(values, str):
            yield Record(line, {}, {}, values)
            continue
        fields = dict(NO_FIELDS)
        fields.update((name, values[i]) for i, name in fields_at)
        answers = {code: values[i].strip() for i, code in answers_at if values[i].strip()}
        yield Record(line, fields, answers)


def attribute_code(header: str) -> str:
    """'Number of Potholes Filled on Block' → 'potholes_filled_on_block' (a readable code)."""
    folded = header.strip().lower()
    return LEGACY_ATTRIBUTES.get(folded) or "_".join(re.findall(r"[a-z0-9]+", folded))


def _header(reader: Iterator[list[str]]) -> list[str]:
    header = next(reader, None)
    if not header:
        raise UnreadableFile("the file is empty: no header line")
    return header


def _require(names: Sequence[str], required: Sequence[str], what: str) -> None:
    missing = [name for name in required if name not in names]
    if missing:
        raise UnreadableFile(f"no {what} {', '.join(missing)}: not a City 311 file")


def _csv_rows(reader: Any, width: int) -> Iterator[tuple[int, list[str] | str]]:
    """(line where the row starts, its values, or why it has the wrong shape).

    A quoted field may hold line breaks, so a row's first line is one past
    where the previous row ended, not a count of rows.
    """
    start = reader.line_num + 1
    try:
        for values in reader:
            if values:  # csv yields [] for a blank line
                if len(values) == width:
                    yield start, values
                else:
                    yield start, f"{len(values)} columns where the header has {width}"
            start = reader.line_num + 1
    except csv.Error as error:
        # The csv module cannot carry on after this (e.g. a NUL byte); report and stop.
        yield start, f"unreadable CSV, the rest of the file is skipped: {error}"


# --- JSON ---------------------------------------------------------------------------


def read_socrata_json(handle: TextIO) -> Iterator[Record]:
    """Objects of the SODA .json array, with Socrata's values made into text."""
    for index, item in json_array_items(handle):
        if isinstance(item, JsonProblem):
            yield Record(index, {}, {}, str(item))
        elif not isinstance(item, dict):
            yield Record(index, {}, {}, f"a JSON {type(item).__name__}, not an object")
        else:
            fields = dict(NO_FIELDS)
            fields.update((key, _json_text(value)) for key, value in item.items())
            _take_location(fields, item.get("location"))
            yield Record(index, fields, {})


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # a Socrata checkbox
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _take_location(fields: dict[str, str], location: Any) -> None:
    """Socrata's location object holds the point when latitude/longitude are absent."""
    if isinstance(location, dict) and not (fields["latitude"] and fields["longitude"]):
        fields["latitude"] = _json_text(location.get("latitude"))
        fields["longitude"] = _json_text(location.get("longitude"))


class JsonProblem(str):
    """An item that could not be decoded; reading stops after it."""


def json_array_items(handle: TextIO) -> Iterator[tuple[int, Any]]:
    """(1-based index, value) of each item of a top-level JSON array, read in chunks.

    The standard library has no streaming parser; raw_decode parses one item
    at a time from a buffer that is topped up as items straddle its end.
    """
    buffer, position = _json_start(handle), 0
    index = 0
    decoder = json.JSONDecoder()
    while True:
        position, buffer, ended = _skip_separators(handle, buffer, position)
        if ended:
            return
        index += 1
        try:
            item, position, buffer = _decode_item(handle, decoder, buffer, position)
        except json.JSONDecodeError as error:
            yield index, JsonProblem(f"not valid JSON, the rest of the file is skipped: {error}")
            return
        yield index, item


def _json_start(handle: TextIO) -> str:
    buffer = handle.read(JSON_CHUNK).lstrip()
    if not buffer.startswith("["):
        raise UnreadableFile("not a JSON array of objects (Socrata's .json layout)")
    return buffer[1:]


def _skip_separators(handle: TextIO, buffer: str, position: int) -> tuple[int, str, bool]:
    """Move past whitespace and one comma; ended is True at the closing bracket."""
    while True:
        while position < len(buffer) and buffer[position] in " \t\r\n,":
            position += 1
        if position < len(buffer):
            return position, buffer, buffer[position] == "]"
        more = handle.read(JSON_CHUNK)
        if not more:
            raise UnreadableFile("the JSON array is not closed: the file is cut short")
        buffer, position = more, 0


def _decode_item(
    handle: TextIO, decoder: json.JSONDecoder, buffer: str, position: int
) -> tuple[Any, int, str]:
    """The item at position, reading more of the file while it is incomplete."""
    while True:
        try:
            item, end = decoder.raw_decode(buffer, position)
            return item, end, buffer
        except json.JSONDecodeError:
            more = handle.read(JSON_CHUNK) if len(buffer) - position < JSON_MAX_OBJECT else ""
            if not more:
                raise
            buffer, position = buffer[position:] + more, 0
