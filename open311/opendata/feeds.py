"""Open-data feeds: the public requests as the City's CSV, as GeoJSON and as NDJSON.

Each feed is a generator of bytes chunks, for a view to stream or a command
to write as they come. The requests are the ones GET /requests lists for the
same filter (queries.filtered: accepted requests only), all of them, ordered
by id so that two exports of the same data are the same file. They are read
in batches (a server-side cursor on PostgreSQL), so memory stays the same
however many there are. Only public columns are selected: an email, phone,
name, device or account id cannot reach a feed.

csv_feed writes the 39 columns of the City of Chicago's dataset v6vf-nfxy in
its CSV export's order and formats (readers.py reads such a file back): what
we know goes in its column, what we do not (CREATED_DEPARTMENT, precincts,
State Plane coordinates, …) stays empty. On PostgreSQL the database writes
the rows itself (COPY … TO STDOUT), several times faster than formatting
them here; city_row is the same mapping in Python, for SQLite, and the tests
hold the two to the same output.

A feed can be resumed where a broken download stopped: `after` (resume_after)
names the last request received, by its service_request_id, and the feed
continues with the requests stored after it. The order is by id, which never
changes, so a part and its resumption join into the whole feed.

A CSV is opened in spreadsheets, which run a cell starting with =, +, -, @, a tab
or a carriage return as a formula: a resident's address of =HYPERLINK(…) would be a
link in every reader's sheet. Both writers prefix such a text cell with a single
quote, as OWASP advises (the spreadsheet shows it as text). Only text columns are:
numbers (LATITUDE, LONGITUDE, the hours) stay numbers, negative longitudes included.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.database import lift_statement_timeouts
from open311.errors import InvalidRequest
from open311.formats.local_hours import MINUTES_SECONDS, LocalHours, as_utc
from open311.formats.w3c import format_w3c
from open311.geocoding.chicago import STREET_TYPES
from open311.models import AREA_KINDS, Service, ServiceRequest, Status
from open311.opendata.readers import CITY_FIELDS
from open311.service_requests.queries import PUBLIC_COLUMNS, RequestFilter, filtered

BATCH_SIZE: Final = 1000  # rows read at a time: a batch takes 1-3 MB while it is written
CHUNK_BYTES: Final = 1 << 16  # COPY's rows are passed on in chunks of about this size
CITY_COLUMNS: Final = tuple(name.upper() for name in CITY_FIELDS)  # the CSV header
COORDINATE_DECIMALS: Final = 7  # as GeoReport replies round them; the CSV keeps every digit
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")  # what makes a cell a formula

# --- the City's CSV -------------------------------------------------------------------


class CityColumns(NamedTuple):
    """What one row of the City's CSV is made from, in the order it is selected."""

    number: str
    service_name: str
    service_code: str
    agency_responsible: str | None
    status: Status
    status_notes: str | None
    channel: str | None
    requested_at: datetime
    updated_at: datetime
    address: str
    zipcode: str | None
    duplicate_of: str | None
    community_area: str | None
    ward: str | None
    police_district: str | None
    lat: float
    long: float


def csv_feed(
    session: Session,
    where: RequestFilter,
    time_zone: ZoneInfo,
    after: int = 0,
    *,
    batch_size: int = BATCH_SIZE,
) -> Iterator[bytes]:
    """The requests as the City's CSV export: a header, then one row per request
    (stored after the id `after`: a resumed feed has its header again)."""
    yield _csv_lines([CITY_COLUMNS])
    if _dialect(session) == "postgresql":
        yield from copied_csv_rows(session, where, time_zone, after)
    else:
        yield from formatted_csv_rows(session, where, time_zone, after, batch_size=batch_size)


def formatted_csv_rows(
    session: Session,
    where: RequestFilter,
    time_zone: ZoneInfo,
    after: int = 0,
    *,
    batch_size: int = BATCH_SIZE,
) -> Iterator[bytes]:
    """csv_feed's rows, formatted here by city_row."""
    stmt = _select(CityColumns._fields, where, _dialect(session), after)
    for batch in _batches(session, stmt, batch_size):
        yield _csv_lines(city_row(CityColumns._make(row), time_zone) for row in batch)


def city_row(row: CityColumns, time_zone: ZoneInfo) -> tuple[str | None, ...]:
    """The 39 values of the City's CSV for one request (None for an empty cell)."""
    created, hour = _city_time(row.requested_at, time_zone)
    modified, _ = _city_time(row.updated_at, time_zone)
    street, city, state, number, direction, name, kind = city_address(row.address)
    lat, long = _decimal(row.lat), _decimal(row.long)
    # Text that comes from people or the catalogue goes through _text; STATUS, the times,
    # the house number (digits), direction (N, S, E, W) and type (a known word) are ours.
    text = _text
    return (
        text(row.number), text(row.service_name), text(row.service_code), None,
        text(row.agency_responsible), city_status(row.status, row.status_notes),
        text(row.channel), created, modified, modified if row.status is Status.CLOSED else None,
        text(street), text(city), text(state), text(row.zipcode),
        number, direction, text(name), kind,
        "false" if row.duplicate_of is None else "true", "false", None, text(row.duplicate_of),
        text(row.community_area), text(row.ward), None, None, None, text(row.police_district),
        None, None, None, hour.hour, hour.day_of_week, hour.month, None, None,
        lat, long, f"({lat}, {long})",
    )  # fmt: skip


def _text(cell: str | None) -> str | None:
    """A text cell a spreadsheet would run as a formula, made text with a leading quote."""
    return "'" + cell if cell and cell.startswith(FORMULA_STARTS) else cell


def spreadsheet_text(cell: str | None) -> str | None:
    """_text for the other CSV writers (the staff dashboard's): one rule for every CSV."""
    return _text(cell)


def city_status(status: Status, status_notes: str | None) -> str:
    """Open, Completed, or Canceled: a closed request whose notes begin with "Cancel"."""
    if status is Status.OPEN:
        return "Open"
    return "Canceled" if (status_notes or "")[:6].lower() == "cancel" else "Completed"


def city_time(moment: datetime, time_zone: ZoneInfo) -> str:
    """'01/01/2021 12:00:09 AM': the City's CSV format, in local time."""
    return _city_time(moment, time_zone)[0]


class _Hour(NamedTuple):
    """One hour of local time as the City writes it: "01/01/2021 12:" + MM:SS + " AM"."""

    prefix: str
    suffix: str
    hour: str  # CREATED_HOUR, 0-23
    day_of_week: str  # CREATED_DAY_OF_WEEK, Sunday = 1
    month: str  # CREATED_MONTH


def _city_time(moment: datetime, time_zone: ZoneInfo) -> tuple[str, _Hour]:
    """The moment in the City's format, and its local hour (an export formats two
    or three datetimes for every row: one zone lookup serves a whole UTC hour)."""
    clock = as_utc(moment)
    hour = _CITY_HOURS.of(clock, time_zone)
    if hour is None:  # a zone whose offset is not whole hours: each moment on its own
        clock = clock.astimezone(time_zone)
        hour = _hour_of(clock)
    return hour.prefix + MINUTES_SECONDS[clock.minute * 60 + clock.second] + hour.suffix, hour


def _hour_of(local: datetime) -> _Hour:
    """How the City writes one local hour."""
    return _Hour(
        f"{local.month:02d}/{local.day:02d}/{local.year:04d} {local.hour % 12 or 12:02d}:",
        " AM" if local.hour < 12 else " PM",
        str(local.hour),
        str(local.isoweekday() % 7 + 1),
        str(local.month),
    )


_CITY_HOURS = LocalHours(_hour_of)


# STREET_ADDRESS … STREET_TYPE from our address, "121 N LASALLE ST, CHICAGO, IL, 60602"
# as the geocoder and the importer write it. A resident's own words stay whole.
DIRECTIONS: Final = frozenset({"N", "S", "E", "W"})
CITY_STREET_TYPES: Final = frozenset(STREET_TYPES.values())
_WORD: Final = re.compile(r"[^\W_]+")


@lru_cache(maxsize=1024)  # addresses repeat (the 311 centre, O'Hare); the cache stays small
def city_address(address: str) -> tuple[str | None, ...]:
    """STREET_ADDRESS, CITY, STATE, STREET_NUMBER, STREET_DIRECTION, STREET_NAME, STREET_TYPE.

    The street, city and state are the first three parts of an address of three
    or more comma-separated parts (a ZIP code may follow); any other address is
    the street address as it stands. The street is split when it starts with a
    house number: "121 N LASALLE ST" is 121, N, LASALLE, ST.
    """
    parts = address.split(",", 3)
    if len(parts) >= 3 and parts[2].strip(" "):
        street = parts[0].strip(" ")
        city: str | None = _initcap(parts[1].strip(" ")) or None
        state: str | None = parts[2].strip(" ")
    else:
        street, city, state = address, None, None
    return (street or None, city, state, *_street_parts(street))


def _street_parts(street: str) -> tuple[str | None, str | None, str | None, str | None]:
    number, _, rest = street.partition(" ")
    if not (number.isascii() and number.isdigit()):
        return None, None, None, None
    direction: str | None
    direction, _, after = rest.partition(" ")
    if direction in DIRECTIONS and after:
        rest = after
    else:
        direction = None
    name, _, kind = rest.rpartition(" ")
    if name and kind in CITY_STREET_TYPES:
        return number, direction, name, kind
    return number, direction, rest or None, None


def _initcap(text: str) -> str:
    """PostgreSQL's initcap: each run of letters and digits capitalised ("CHICAGO" → "Chicago")."""
    return _WORD.sub(lambda word: word[0].capitalize(), text)


def _decimal(value: float) -> str:
    """A coordinate with every digit, as PostgreSQL writes a double ("41" for 41.0)."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _csv_lines(rows: Iterable[Sequence[Any]]) -> bytes:
    """The rows as COPY writes them: lines ending in a line feed, and a cell quoted if it
    holds a carriage return (Python's writer quotes only its line terminator's characters,
    so it writes "\r\n" here, and the ends of rows become "\n" afterwards)."""
    rows = list(rows)
    text = _csv_text(rows)
    if text.count("\r") == len(rows):  # no cell holds one: every "\r\n" ends a row
        return text.replace("\r\n", "\n").encode()
    return "".join(_csv_text([row])[:-2] + "\n" for row in rows).encode()


def _csv_text(rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


# --- the City's CSV, written by PostgreSQL ----------------------------------------------


def copy_statement(
    dialect: sa.Dialect, where: RequestFilter, time_zone: ZoneInfo, after: int = 0
) -> tuple[str, Mapping[str, Any]]:
    """The COPY … TO STDOUT that writes csv_feed's rows, and its parameters (for psycopg)."""
    compiled = _copy_query(where, time_zone, after).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    return f"COPY ({compiled}) TO STDOUT (FORMAT CSV)", compiled.params


def copied_csv_rows(
    session: Session, where: RequestFilter, time_zone: ZoneInfo, after: int = 0
) -> Iterator[bytes]:
    """csv_feed's rows as PostgreSQL's COPY writes them: city_row's mapping, in SQL."""
    statement, params = copy_statement(session.get_bind().dialect, where, time_zone, after)
    lift_statement_timeouts(session)  # the COPY runs as long as the feed
    # A feed closed early (a client gone) cancels its COPY: the savepoint keeps
    # the caller's transaction usable. psycopg binds the parameters on the
    # client, as COPY takes none of its own.
    with session.begin_nested():
        driver_connection: Any = session.connection().connection.driver_connection
        with driver_connection.cursor() as cursor, cursor.copy(statement, params) as copy:
            # COPY sends a message per row: gather them into chunks worth a write.
            buffer = bytearray()
            for row in copy:
                buffer += row
                if len(buffer) >= CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
            yield bytes(buffer)


def _copy_query(
    where: RequestFilter, time_zone: ZoneInfo, after: int
) -> sa.Select[*tuple[Any, ...]]:
    """city_row in SQL, in three steps so that each value is computed once per row.

    PostgreSQL would otherwise compute a value as often as a later step names
    it; OFFSET 0 keeps each step from being merged into the next.
    """
    r, zone = ServiceRequest, time_zone.key
    created = sa.func.to_char(
        sa.func.timezone(zone, r.requested_at), "MM/DD/YYYY HH12:MI:SS AM|FMHH24|D|FMMM"
    )
    modified = sa.func.to_char(sa.func.timezone(zone, r.updated_at), "MM/DD/YYYY HH12:MI:SS AM")
    status = sa.case(  # city_status
        (r.status == Status.OPEN, "Open"),
        (sa.func.lower(sa.func.left(r.status_notes, 6)) == "cancel", "Canceled"),
        else_="Completed",
    )
    three_parts = sa.func.btrim(sa.func.split_part(r.address, ",", 3)) != ""
    street = sa.case(
        (three_parts, sa.func.btrim(sa.func.split_part(r.address, ",", 1))), else_=r.address
    )
    stmt = sa.select(
        r.id, r.number, Service.name.label("service_name"), r.service_code,
        r.agency_responsible, status.label("status_text"),
        (r.status == Status.CLOSED).label("closed"), r.channel,
        created.label("created"), modified.label("modified"), r.address,
        three_parts.label("three_parts"), street.label("street"), r.zipcode, r.duplicate_of,
        r.community_area, r.ward, r.police_district, r.lat, r.long,
    ).join(Service, Service.code == r.service_code)  # fmt: skip
    rows = _in_feed(stmt, where, "postgresql", after).offset(0).subquery("city")
    words = (
        sa.select(
            rows,
            sa.func.split_part(rows.c.street, " ", 1).label("first"),
            sa.func.split_part(rows.c.street, " ", 2).label("second"),
            sa.func.reverse(sa.func.split_part(sa.func.reverse(rows.c.street), " ", 1)).label(
                "last"
            ),
            # As the database writes a double: every digit, "41" for 41.0 (see _decimal).
            sa.cast(rows.c.lat, sa.Text).label("lat_text"),
            sa.cast(rows.c.long, sa.Text).label("long_text"),
        )
        .order_by(rows.c.id)
        .offset(0)
        .subquery("words")
    )
    return _city_select(words).order_by(words.c.id)


def _city_select(w: sa.Subquery) -> sa.Select[*tuple[Any, ...]]:
    """The 39 columns from the values of _copy_query's first two steps.

    The street's words as _street_parts finds them: the house number (first),
    the direction (second) if a name follows it, and the type (last) if a name
    comes before it; the name is what lies between, from `start` on.
    """
    part, length, empty_is_null = sa.func.split_part, sa.func.length, sa.func.nullif
    street, first, second, last = w.c.street, w.c.first, w.c.second, w.c.last
    numbered = sa.and_(first != "", sa.func.ltrim(first, "0123456789") == "")
    directed = sa.and_(
        numbered,
        second.in_(DIRECTIONS),
        length(street) > length(first) + length(second) + 2,
    )
    start = sa.case((directed, length(first) + length(second) + 3), else_=length(first) + 2)
    typed = sa.and_(numbered, last.in_(CITY_STREET_TYPES), length(street) - start > length(last))
    name = sa.case(
        (typed, sa.func.substr(street, start, length(street) - start - length(last))),
        (numbered, empty_is_null(sa.func.substr(street, start), "")),
    )
    city = sa.func.initcap(sa.func.btrim(part(w.c.address, ",", 2)))
    lat, long = w.c.lat_text, w.c.long_text
    text = _sql_text  # as _text in city_row, on the same columns
    return sa.select(
        text(w.c.number), text(w.c.service_name), text(w.c.service_code), sa.null(),
        text(empty_is_null(w.c.agency_responsible, "")), w.c.status_text,
        text(empty_is_null(w.c.channel, "")), part(w.c.created, "|", 1), w.c.modified,
        sa.case((w.c.closed, w.c.modified)), text(empty_is_null(street, "")),
        text(sa.case((w.c.three_parts, empty_is_null(city, "")))),
        text(sa.case((w.c.three_parts, sa.func.btrim(part(w.c.address, ",", 3))))),
        text(empty_is_null(w.c.zipcode, "")), sa.case((numbered, first)),
        sa.case((directed, second)), text(name), sa.case((typed, last)),
        sa.case((w.c.duplicate_of.is_(None), "false"), else_="true"), sa.literal("false"),
        sa.null(), text(empty_is_null(w.c.duplicate_of, "")),
        text(empty_is_null(w.c.community_area, "")), text(empty_is_null(w.c.ward, "")),
        sa.null(), sa.null(), sa.null(), text(empty_is_null(w.c.police_district, "")),
        sa.null(), sa.null(), sa.null(),
        part(w.c.created, "|", 2), part(w.c.created, "|", 3), part(w.c.created, "|", 4),
        sa.null(), sa.null(), lat, long, "(" + lat + ", " + long + ")",
    )  # fmt: skip


def _sql_text(cell: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """_text in SQL: a quote before a text cell that starts as a formula does."""
    return sa.case(
        (sa.func.left(cell, 1).in_(FORMULA_STARTS), sa.func.concat("'", cell)), else_=cell
    )


# --- GeoJSON and NDJSON ---------------------------------------------------------------

FEED_COLUMNS: Final = (*PUBLIC_COLUMNS, *(getattr(ServiceRequest, kind) for kind in AREA_KINDS))


def geojson_feed(
    session: Session,
    where: RequestFilter,
    time_zone: ZoneInfo,
    after: int = 0,
    *,
    batch_size: int = BATCH_SIZE,
) -> Iterator[bytes]:
    """A FeatureCollection, one Point feature per request, written feature by feature
    (a resumed feed is a FeatureCollection of the features after `after`)."""
    yield b'{"type":"FeatureCollection","features":[\n'
    separator = b""
    for batch in _public_batches(session, where, batch_size, after):
        features = bytearray()
        for row in batch:
            # Appended one by one: orjson's bytes keep an 8 kB buffer each while they live.
            features += separator
            features += orjson.dumps(_feature(row, time_zone))
            separator = b",\n"
        yield bytes(features)
    yield b"\n]}\n"


def ndjson_feed(
    session: Session,
    where: RequestFilter,
    time_zone: ZoneInfo,
    after: int = 0,
    *,
    batch_size: int = BATCH_SIZE,
) -> Iterator[bytes]:
    """One GeoReport request object per line, with its areas."""
    for batch in _public_batches(session, where, batch_size, after):
        lines = bytearray()
        for row in batch:
            lines += orjson.dumps(public_request(row, time_zone))
            lines += b"\n"
        yield bytes(lines)


def public_request(row: Sequence[Any], time_zone: ZoneInfo) -> dict[str, Any]:
    """The GeoReport fields of a request (as GET /requests has them) and its area codes."""
    (number, status, notes, service_name, service_code, description, agency, notice,
     requested_at, updated_at, expected_at, address, address_id, zipcode, lat, long,
     media_url, *areas) = row  # fmt: skip
    request = {
        "service_request_id": number,
        "status": status.value,
        "status_notes": notes,
        "service_name": service_name,
        "service_code": service_code,
        "description": description,
        "agency_responsible": agency,
        "service_notice": notice,
        "requested_datetime": format_w3c(requested_at, time_zone),
        "updated_datetime": format_w3c(updated_at, time_zone),
        "expected_datetime": None if expected_at is None else format_w3c(expected_at, time_zone),
        "address": address,
        "address_id": address_id,
        "zipcode": zipcode,
        "lat": round(lat, COORDINATE_DECIMALS),
        "long": round(long, COORDINATE_DECIMALS),
        "media_url": media_url,
    }
    request.update(zip(AREA_KINDS, areas, strict=True))
    return request


def _feature(row: Sequence[Any], time_zone: ZoneInfo) -> dict[str, Any]:
    properties = public_request(row, time_zone)
    return {
        "type": "Feature",
        "id": properties["service_request_id"],
        "geometry": {"type": "Point", "coordinates": [properties["long"], properties["lat"]]},
        "properties": properties,
    }


Feed = Callable[[Session, RequestFilter, ZoneInfo, int], Iterator[bytes]]
FEEDS: Final[Mapping[str, Feed]] = {"csv": csv_feed, "geojson": geojson_feed, "ndjson": ndjson_feed}
# Where each feed names a request: the value to resume `after` is this field of
# the last complete record received.
RESUME_FIELDS: Final[Mapping[str, str]] = {
    "csv": CITY_COLUMNS[0],
    "geojson": "id",
    "ndjson": "service_request_id",
}


# --- resuming -----------------------------------------------------------------------------


def resume_after(session: Session, number: str) -> int:
    """The id after which a feed resumed `after` this service_request_id goes on.

    InvalidRequest, naming the parameter, if no request has that number.
    """
    found = session.scalar(sa.select(ServiceRequest.id).where(ServiceRequest.number == number))
    if found is None:
        shown = number if len(number) <= 40 else f"{number[:40]}…"
        raise InvalidRequest(
            f"after: {shown!r} is not a service_request_id; give the last one received "
            "(the feed's first column in CSV, a feature's id in GeoJSON, "
            "service_request_id in NDJSON)."
        )
    return found


# --- reading in batches -----------------------------------------------------------------


def _public_batches(
    session: Session, where: RequestFilter, batch_size: int, after: int
) -> Iterator[Sequence[Any]]:
    stmt = sa.select(*FEED_COLUMNS).join(Service, Service.code == ServiceRequest.service_code)
    return _batches(session, _in_feed(stmt, where, _dialect(session), after), batch_size)


def _select(
    names: Sequence[str], where: RequestFilter, dialect: str, after: int
) -> sa.Select[*tuple[Any, ...]]:
    columns = [
        Service.name.label(name) if name == "service_name" else getattr(ServiceRequest, name)
        for name in names
    ]
    stmt = sa.select(*columns).join(Service, Service.code == ServiceRequest.service_code)
    return _in_feed(stmt, where, dialect, after)


def _in_feed(
    stmt: sa.Select[*tuple[Any, ...]], where: RequestFilter, dialect: str, after: int
) -> sa.Select[*tuple[Any, ...]]:
    """The requests `where` picks that were stored after the id `after`, in the feeds' order."""
    stmt = filtered(stmt, where, dialect)
    if after:
        stmt = stmt.where(ServiceRequest.id > after)
    return stmt.order_by(ServiceRequest.id)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _batches(
    session: Session, stmt: sa.Select[*tuple[Any, ...]], batch_size: int
) -> Iterator[Sequence[Any]]:
    """The rows of stmt, batch_size at a time, from a server-side cursor where there is one."""
    lift_statement_timeouts(session)  # the cursor waits idle while a client reads
    result = session.connection().execute(stmt.execution_options(yield_per=batch_size))
    yield from result.partitions()


def text_cell(cell: str | None) -> str | None:
    """A cell for any CSV we write: one that a spreadsheet would run as a formula is
    made text (the console's queue CSV uses it too)."""
    return _text(cell)
