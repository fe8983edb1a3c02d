"""Geometry helpers; the only module that knows PostGIS and SpatiaLite differ."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import shapely
import sqlalchemy as sa
from geoalchemy2 import WKBElement
from geoalchemy2.shape import from_shape
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute, Session

from open311.models import AREA_KINDS, Area, Base, ServiceRequest

WGS84 = 4326


def point(lon: float, lat: float) -> WKBElement:
    return from_shape(Point(lon, lat), srid=WGS84)


@dataclass(frozen=True)
class Boundary:
    """A jurisdiction's outline, prepared for fast point-in-polygon tests."""

    geometry: BaseGeometry

    @classmethod
    def from_geojson(cls, path: Path) -> Boundary:
        document = json.loads(path.read_text(encoding="utf-8"))
        features = document.get("features", [document])
        outline = shapely.union_all([shape(f.get("geometry", f)) for f in features])
        shapely.prepare(outline)  # later contains() calls reuse the index
        return cls(outline)

    def contains(self, lon: float, lat: float) -> bool:
        return bool(self.geometry.covers(Point(lon, lat)))


# --- area tags ---------------------------------------------------------------------


def area_codes_at(session: Session, lon: float, lat: float) -> dict[str, str | None]:
    """The code of each kind of area (ward, community area, …) containing the point.

    One SELECT, before the request is written, so that its INSERT carries the
    codes and the estimate can use its community area: a kind with no area
    there gives None.
    """
    statement = _area_codes_at_lon_lat(session.get_bind().dialect.name)
    found = session.connection().execute(statement, {"lon": lon, "lat": lat})
    return dict(found.one()._mapping)


@functools.cache
def _area_codes_at_lon_lat(dialect: str) -> sa.Select[*tuple[Any, ...]]:
    """_area_codes_at of the bound point (lon, lat), built once per backend: every
    filing runs it, and building it cost more than running it."""
    lon, lat = sa.bindparam("lon", type_=sa.Float), sa.bindparam("lat", type_=sa.Float)
    return _area_codes_at(point_of(dialect, lon, lat), dialect)


def point_of(dialect: str, lon: Any, lat: Any) -> sa.ColumnElement[Any]:
    """The WGS84 point of two SQL expressions (columns or bound parameters)."""
    if dialect == "sqlite":
        return sa.func.MakePoint(lon, lat, WGS84)
    return sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), WGS84)


def tag_untagged_requests(session: Session, *, retag: bool = False) -> int:
    """Tag every request that has no area code yet (every request, with retag); count them.

    Set-based, for imports and backfills: the areas are the outer loop, so each
    polygon is prepared once and its points come from the requests' spatial
    index; then one UPDATE writes all four codes, so PostgreSQL writes each
    row once. A request with any code already is left alone: after loading a
    new kind or a new map, retag.
    """
    if retag:
        session.execute(
            sa.update(ServiceRequest).values(dict.fromkeys(AREA_KINDS)),
            execution_options={"synchronize_session": False},
        )
    hits = _area_codes_of_untagged(session.get_bind().dialect.name)
    statement = (
        sa.update(ServiceRequest)
        .where(ServiceRequest.id == hits.c.id)
        .values({kind: hits.c[kind] for kind in AREA_KINDS})
    )
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0))


def _area_codes_of_untagged(dialect: str) -> sa.Subquery:
    """(id, ward, community_area, …) of each untagged request inside some area."""
    codes = [getattr(ServiceRequest, kind) for kind in AREA_KINDS]
    contains = sa.func.ST_Intersects(Area.geometry, ServiceRequest.location)
    pairs = (
        sa.select(ServiceRequest.id, Area.kind, Area.code)
        .join_from(Area, ServiceRequest, contains)
        .where(
            # A function of the columns, so that no index on them can drive the
            # plan: the database must go from each area to its requests.
            sa.func.coalesce(*codes).is_(None),
            _index_hits(dialect, ServiceRequest.id, ServiceRequest.location, Area.geometry),
        )
        .subquery("pairs")
    )
    # min(): on a shared edge, the lowest code, as area_codes_at picks.
    columns = [
        sa.func.min(sa.case((pairs.c.kind == kind, pairs.c.code))).label(kind)
        for kind in AREA_KINDS
    ]
    return sa.select(pairs.c.id, *columns).group_by(pairs.c.id).subquery("hits")


def _index_hits(
    dialect: str,
    key: InstrumentedAttribute[int],
    geometry: InstrumentedAttribute[WKBElement],
    probe: sa.ColumnElement[Any] | InstrumentedAttribute[WKBElement],
) -> sa.ColumnElement[bool]:
    """Rows of `geometry`'s table whose bounding box meets `probe`'s, by spatial index.

    PostGIS needs nothing: ST_Intersects adds `&&`, which uses the GiST index.
    SpatiaLite never uses its R*Tree on its own; we read the R*Tree table
    (named idx_<table>_<column> by SpatiaLite) rather than the SpatialIndex
    virtual table, which prepares a statement on each call: each lookup took
    0.9 ms instead of 0.2 ms.
    """
    if dialect != "sqlite":
        return sa.true()
    rtree = sa.table(
        f"idx_{geometry.class_.__tablename__}_{geometry.key}",
        *(sa.column(name) for name in ("pkid", "xmin", "xmax", "ymin", "ymax")),
    )
    boxes = sa.select(rtree.c.pkid).where(
        rtree.c.xmin <= sa.func.MbrMaxX(probe),
        rtree.c.xmax >= sa.func.MbrMinX(probe),
        rtree.c.ymin <= sa.func.MbrMaxY(probe),
        rtree.c.ymax >= sa.func.MbrMinY(probe),
    )
    return key.in_(boxes.correlate_except(rtree))  # `probe` comes from the outer query


# --- neighbourhood queries ---------------------------------------------------------

METRES_PER_DEGREE_LAT: Final = 111_320.0


@dataclass(frozen=True)
class Box:
    """A longitude/latitude rectangle (WGS84)."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def around(cls, lon: float, lat: float, metres: float) -> Box:
        """The smallest box holding every point within `metres` of (lon, lat)."""
        dlat = metres / METRES_PER_DEGREE_LAT
        dlon = metres / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
        return cls(lon - dlon, lat - dlat, lon + dlon, lat + dlat)


def in_box(dialect: str, box: Box) -> sa.ColumnElement[bool]:
    """Requests whose location lies in `box`, found through the spatial index."""
    if dialect == "sqlite":
        # SpatiaLite's R*Tree is a plain table; points have xmin == xmax.
        rtree = sa.table(
            "idx_service_request_location",
            *(sa.column(name) for name in ("pkid", "xmin", "xmax", "ymin", "ymax")),
        )
        hits = sa.select(rtree.c.pkid).where(
            rtree.c.xmin <= box.max_lon,
            rtree.c.xmax >= box.min_lon,
            rtree.c.ymin <= box.max_lat,
            rtree.c.ymax >= box.min_lat,
        )
        return ServiceRequest.id.in_(hits)
    envelope = sa.func.ST_MakeEnvelope(box.min_lon, box.min_lat, box.max_lon, box.max_lat, WGS84)
    return ServiceRequest.location.op("&&")(envelope)  # the GiST index's operator


def within_metres(dialect: str, lon: float, lat: float, metres: float) -> sa.ColumnElement[bool]:
    """Requests within `metres` of (lon, lat): the index finds the box, then the exact distance.

    A geography cast would be exact too, but no index serves it.
    """
    return sa.and_(
        in_box(dialect, Box.around(lon, lat, metres)), distance_to(dialect, lon, lat) <= metres
    )


def distance_to(dialect: str, lon: float, lat: float) -> sa.ColumnElement[float]:
    """Metres on the ground from each request to (lon, lat)."""
    here = sa.func.ST_GeomFromText(f"POINT({lon!r} {lat!r})", WGS84)
    if dialect == "sqlite":
        return sa.func.ST_Distance(ServiceRequest.location, here, 1)  # 1: on the ellipsoid
    return sa.func.ST_DistanceSphere(ServiceRequest.location, here)


def nearest_first(dialect: str, lon: float, lat: float) -> sa.ColumnElement[Any]:
    """An ORDER BY for nearest first; on PostGIS the index walks it (KNN)."""
    if dialect == "sqlite":
        return distance_to(dialect, lon, lat)
    here = sa.func.ST_GeomFromText(f"POINT({lon!r} {lat!r})", WGS84)
    return ServiceRequest.location.op("<->")(here)


# --- clusters on a map ---------------------------------------------------------------

# A map's clusters are cells of a grid about this many screen pixels wide at the map's
# zoom, and never more than CLUSTER_CELLS_ACROSS cells across the asked box, whatever
# zoom is claimed: the answer stays a few hundred cells however many requests match.
CLUSTER_CELL_PIXELS: Final = 64
CLUSTER_CELLS_ACROSS: Final = 40
TILE_PIXELS: Final = 256  # a web map's world is 256 px wide at zoom 0


def cluster_cell(box: Box, zoom: int) -> tuple[float, float]:
    """(degrees of longitude, degrees of latitude) of a cluster cell at this zoom.

    On a web (Mercator) map a degree of latitude is taller than a degree of longitude
    by 1/cos(latitude), so a cell square on the screen is that much shorter in latitude.
    """
    width = 360.0 * CLUSTER_CELL_PIXELS / (TILE_PIXELS * 2.0**zoom)
    width = max(width, (box.max_lon - box.min_lon) / CLUSTER_CELLS_ACROSS)
    middle = math.radians((box.min_lat + box.max_lat) / 2)
    return width, width * max(math.cos(middle), 0.01)


def grid_index(dialect: str, column: Any, origin: float, size: float) -> sa.ColumnElement[Any]:
    """Which cell of a grid of `size` starting at `origin` the column's value is in.

    The origin is at or below every value (-180, -90), so SQLite's CAST, which
    truncates, floors; PostgreSQL's rounds, hence floor() there.
    """
    scaled = (column - origin) / size
    if dialect == "sqlite":
        return sa.cast(scaled, sa.Integer)
    return sa.func.floor(scaled)


def circles_holding(
    dialect: str,
    center_long: InstrumentedAttribute[float | None],
    center_lat: InstrumentedAttribute[float | None],
    radius_metres: InstrumentedAttribute[float | None],
    lon: sa.ColumnElement[float],
    lat: sa.ColumnElement[float],
) -> sa.ColumnElement[bool]:
    """Rows whose circle (a centre and a radius in metres, as columns) holds (lon, lat).

    For the few circles people follow (notification subscriptions): a latitude
    test on plain columns first, then the distance on the ground. `lon` and
    `lat` are expressions (bound parameters), so that the statement can be
    built once; where they are NULL, no circle holds the point.
    """
    here, centre = point_of(dialect, lon, lat), point_of(dialect, center_long, center_lat)
    if dialect == "sqlite":
        distance = sa.func.ST_Distance(centre, here, 1)  # 1: on the ellipsoid
    else:
        distance = sa.func.ST_DistanceSphere(centre, here)
    return sa.and_(
        radius_metres.is_not(None),
        sa.func.abs(center_lat - lat) * METRES_PER_DEGREE_LAT <= radius_metres,
        distance <= radius_metres,
    )


# --- bulk insert (imports) ---------------------------------------------------------

# What an import gives for each request, with the type PostgreSQL's COPY
# sends it as; `location` and the area codes are made in SQL from long and lat.
IMPORTED_COLUMNS: Final[Mapping[str, str]] = {
    "number": "text", "intake": "text", "service_code": "text", "status": "text", "stage": "text",
    "status_notes": "text", "agency_responsible": "text", "requested_at": "timestamptz",
    "updated_at": "timestamptz", "due_at": "timestamptz", "address": "text", "zipcode": "text",
    "lat": "float8", "long": "float8", "attributes": "json", "channel": "text",
    "duplicate_of": "text",
}  # fmt: skip
STAGING_TABLE: Final = "open311_import_rows"
# An INSERT's rowcount is kept only when asked for (SQLAlchemy 2.0.28+).
PRESERVE_ROWCOUNT: Final = {"preserve_rowcount": True}


def insert_new_requests(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the rows whose number is not taken yet; count them.

    Set-based, for imports: on PostgreSQL a binary COPY into a temporary table,
    then one INSERT … SELECT … ON CONFLICT (number) DO NOTHING; on SQLite one
    executemany of INSERT OR IGNORE. Each row maps IMPORTED_COLUMNS to values;
    a number already stored, or twice in `rows`, is skipped. Call
    tag_imported_requests once after the last batch.
    """
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _copy_new_requests(session, rows)
    return _insert_or_ignore(session, rows)


def tag_imported_requests(session: Session) -> None:
    """Give the requests insert_new_requests added their area codes.

    On PostgreSQL the INSERT wrote them already: a later UPDATE writes every
    row a second time, which took longer than the insert itself. SpatiaLite
    finds a point's areas quickly only with the areas as the outer loop (it
    keeps the last polygon prepared), which is how tag_untagged_requests goes:
    40-70 µs a row, against 150 µs looking up each point on its own.
    """
    if session.get_bind().dialect.name != "postgresql":
        tag_untagged_requests(session)


def _insert_or_ignore(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    # Core, not the ORM's bulk insert: no objects, and the column types still
    # turn datetimes and JSON into SQLite's text. The point's parameters need
    # their own names: SQLAlchemy reserves a column's name for its own value.
    point = point_of("sqlite", sa.bindparam("point_long"), sa.bindparam("point_lat"))
    statement = sa.insert(_requests_table()).prefix_with("OR IGNORE").values(location=point)
    params = [{**row, "point_long": row["long"], "point_lat": row["lat"]} for row in rows]
    result = session.connection().execute(statement, params, execution_options=PRESERVE_ROWCOUNT)
    return int(result.rowcount)


def _copy_new_requests(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in IMPORTED_COLUMNS)
    # The staging table takes service_request's column types, and lives until
    # the caller's transaction ends, so later batches reuse it.
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} ON COMMIT DROP AS "
        f"SELECT {names} FROM {ServiceRequest.__tablename__} WITH NO DATA"
    )
    connection.exec_driver_sql(f"TRUNCATE {STAGING_TABLE}")
    psycopg_connection: Any = connection.connection.driver_connection
    copy_sql = f"COPY {STAGING_TABLE} ({names}) FROM STDIN (FORMAT BINARY)"
    with psycopg_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        # Binary: psycopg's C code writes each value, 4-5 times faster than CSV text.
        copy.set_types(list(IMPORTED_COLUMNS.values()))
        for row in rows:
            copy.write_row([row[name] for name in IMPORTED_COLUMNS])
    result = connection.execute(_insert_from_staging(), execution_options=PRESERVE_ROWCOUNT)
    return int(result.rowcount)


def _insert_from_staging() -> sa.Insert:
    staging = sa.table(STAGING_TABLE, *(sa.column(name) for name in IMPORTED_COLUMNS))
    codes = _area_codes_of_points(staging)
    point = point_of("postgresql", staging.c.long, staging.c.lat)
    same_point = sa.and_(codes.c.long == staging.c.long, codes.c.lat == staging.c.lat)
    rows = sa.select(*staging.c, point, *(codes.c[kind] for kind in AREA_KINDS)).select_from(
        staging.join(codes, same_point)
    )
    return (
        postgresql.insert(_requests_table())
        .from_select([*IMPORTED_COLUMNS, "location", *AREA_KINDS], rows)
        .on_conflict_do_nothing(index_elements=["number"])
    )


def _area_codes_of_points(staging: sa.TableClause) -> sa.CTE:
    """(long, lat, ward, community_area, …) of each distinct point among the staged rows.

    Each point is looked up once: in the City's data a third of the requests
    are information calls placed at the 311 centre, and a sixth are aircraft
    noise placed at O'Hare. Looked up so, the codes added 5-10 µs a row to
    the insert; looked up row by row, 25-40 µs; tag_untagged_requests' UPDATE
    after the insert, about 70 µs.
    """
    points = sa.select(staging.c.long, staging.c.lat).distinct().cte("points")
    point = point_of("postgresql", points.c.long, points.c.lat)
    codes = _area_codes_at(point, "postgresql").lateral("codes_at")
    return (
        sa.select(points.c.long, points.c.lat, *codes.c)
        .select_from(points.join(codes, sa.true()))
        .cte("codes")
        .prefix_with("MATERIALIZED")  # else PostgreSQL inlines it and looks up every row
    )


def _area_codes_at(point: sa.ColumnElement[Any], dialect: str) -> sa.Select[*tuple[Any, ...]]:
    """One row: for each kind, the lowest code of the areas containing point, or NULL.

    A point on the shared edge of two areas is in both: the lowest code is the
    one it gets, always the same. One query for all kinds; its candidates come
    from the areas' spatial index (PostGIS: ST_Intersects' own `&&`).
    """
    codes = [sa.func.min(Area.code).filter(Area.kind == kind).label(kind) for kind in AREA_KINDS]
    return sa.select(*codes).where(
        _index_hits(dialect, Area.id, Area.geometry, point),
        sa.func.ST_Intersects(Area.geometry, point),
    )


def _requests_table() -> sa.Table:
    return Base.metadata.tables[ServiceRequest.__tablename__]
