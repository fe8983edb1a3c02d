"""Reads of service requests: only requests the city has accepted are public."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311 import spatial
from open311.catalog import queries as catalog_queries
from open311.errors import NotFound
from open311.models import CloseReason, Intake, Service, ServiceRequest, Status


class PublicRequest(NamedTuple):
    """The public columns of a request, with its service's name: the rows every
    GeoReport reply is built from. Selecting columns, not objects, keeps a
    1,000-row page cheap, and a named tuple's fields read ten times faster
    than a SQLAlchemy Row's (a 1,000-row page spends ~10 ms less).
    """

    number: str
    status: Status
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_at: datetime
    updated_at: datetime
    expected_at: datetime | None
    address: str
    address_id: str | None
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None


# One column per PublicRequest field, in its order: all from ServiceRequest but the name,
# which a join gives. For the feeds, which stream every row through SQL.
PUBLIC_COLUMNS = tuple(
    Service.name.label(name) if name == "service_name" else getattr(ServiceRequest, name)
    for name in PublicRequest._fields
)
# A page's columns: the same without the name, which comes from the catalogue instead
# (_named). With the join, PostgreSQL may read every matching request and sort them
# (a hash join loses the index's order); without it, a page stops at its 1,000th
# request. A ward's open requests at 10M: 4.7 ms instead of 15.7.
STORED_COLUMNS = tuple(
    getattr(ServiceRequest, name) for name in PublicRequest._fields if name != "service_name"
)
_NAME_AT = PublicRequest._fields.index("service_name")
_CODE_AT = [column.key for column in STORED_COLUMNS].index("service_code")


AnySelect = TypeVar("AnySelect", bound=sa.Select[*tuple[Any, ...]])


@dataclass(frozen=True, kw_only=True)
class RequestFilter:
    """GET /requests parameters after validation; see the README for the rules."""

    numbers: tuple[str, ...] = ()  # overrides every other filter (spec)
    service_codes: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()
    start: datetime | None = None  # requested_at >= start
    end: datetime | None = None  # requested_at < end
    updated_after: datetime | None = None  # updated_at >= updated_after
    updated_before: datetime | None = None  # updated_at < updated_before
    page: int = 1
    page_size: int = 1000
    extensions: bool = False  # Chicago's extended output (attributes, areas, notes)
    # Neighbourhood extensions (README): a circle, a box, named areas, nearest N.
    near: tuple[float, float] | None = None  # (lon, lat) for radius or nearest
    radius: float | None = None  # metres around `near`
    nearest: int | None = None  # the N requests nearest `near`
    box: spatial.Box | None = None
    areas: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (kind, codes): ward=42,43


class RequestExtras(NamedTuple):
    """What extensions=true adds to a public request (Chicago's extensions)."""

    attributes: dict[str, Any]
    channel: str | None
    duplicate_of: str | None
    ward: str | None
    community_area: str | None
    police_district: str | None
    neighborhood: str | None
    # The range around expected_at, and what it was learned from (open311/estimates).
    expected_early_at: datetime | None
    expected_late_at: datetime | None
    expected_basis: str | None


EXTRA_COLUMNS = tuple(getattr(ServiceRequest, name) for name in RequestExtras._fields)


def search_requests(session: Session, where: RequestFilter) -> list[PublicRequest]:
    dialect = session.get_bind().dialect.name
    stmt = filtered(_public(), where, dialect)
    skipped = (where.page - 1) * where.page_size
    if where.nearest and where.near and not where.numbers:
        # The N nearest, paged like any list: a page never reaches past the Nth.
        stmt = _nearest(session, stmt, where, dialect)
        stmt = stmt.limit(max(0, min(where.page_size, where.nearest - skipped))).offset(skipped)
    else:
        stmt = stmt.order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())
        if not where.numbers:
            stmt = stmt.limit(where.page_size).offset(skipped)
    # Through the Connection: the rows are plain columns, and the ORM's
    # result machinery would only add cost to a 1,000-row page; all() fetches
    # them in one call instead of one fetchone() a row.
    return _named(session, session.connection().execute(stmt).all())


def filtered(stmt: AnySelect, where: RequestFilter, dialect: str | None = None) -> AnySelect:
    """`stmt` (over ServiceRequest) narrowed to the requests `where` asks for.

    Only accepted requests are public; a list of numbers overrides the rest.
    Paging is left to the caller.
    """
    stmt = stmt.where(ServiceRequest.intake == Intake.ACCEPTED)
    if where.numbers:
        return stmt.where(ServiceRequest.number.in_(where.numbers))
    for condition in (*_conditions(where), *_places(where, dialect)):
        stmt = stmt.where(condition)
    return stmt


def _places(where: RequestFilter, dialect: str | None) -> list[sa.ColumnElement[bool]]:
    """The neighbourhood conditions; spatial ones need to know the backend."""
    conditions = [getattr(ServiceRequest, kind).in_(codes) for kind, codes in where.areas]
    spatial_asked = where.box is not None or (where.near is not None and where.radius is not None)
    if spatial_asked and dialect is None:
        raise ValueError("spatial filters need the database dialect")
    if where.box is not None and dialect:
        conditions.append(spatial.in_box(dialect, where.box))
    if where.near is not None and where.radius is not None and dialect:
        conditions.append(spatial.within_metres(dialect, *where.near, where.radius))
    return conditions


# Radii tried in turn for "nearest N" where no index orders by distance (SpatiaLite):
# the N nearest inside a circle holding at least N are the N nearest overall.
NEAREST_SEARCH_RADII = (250.0, 1_000.0, 4_000.0, 16_000.0, 64_000.0)


def _nearest(session: Session, stmt: AnySelect, where: RequestFilter, dialect: str) -> AnySelect:
    assert where.near is not None
    assert where.nearest is not None
    lon, lat = where.near
    if dialect == "sqlite":
        for metres in NEAREST_SEARCH_RADII:
            circle = stmt.where(spatial.within_metres(dialect, lon, lat, metres))
            found = session.connection().execute(
                sa.select(sa.func.count()).select_from(circle.limit(where.nearest).subquery())
            )
            if found.scalar_one() >= where.nearest:
                stmt = circle
                break
    order = spatial.nearest_first(dialect, lon, lat)
    return stmt.order_by(order, ServiceRequest.id)


class Cluster(NamedTuple):
    """Requests in one cell of a map's grid: how many, their centre and extent, and one
    of them (the only one when it holds one), for its marker."""

    requests: int  # how many
    lat: float
    long: float
    min_lat: float
    min_long: float
    max_lat: float
    max_long: float
    number: str
    service_code: str


MAX_CLUSTERS = 2_000  # spatial.cluster_cell keeps a map's cells far fewer


def cluster_requests(
    session: Session, where: RequestFilter, cell: tuple[float, float]
) -> list[Cluster]:
    """The requests `where` asks for (every page of them), grouped into cells of
    `cell` = (degrees of longitude, degrees of latitude), in one query; busiest first."""
    dialect = session.get_bind().dialect.name
    lat, lon = ServiceRequest.lat, ServiceRequest.long
    stmt = filtered(
        sa.select(
            sa.func.count(),
            sa.func.avg(lat),
            sa.func.avg(lon),
            sa.func.min(lat),
            sa.func.min(lon),
            sa.func.max(lat),
            sa.func.max(lon),
            sa.func.min(ServiceRequest.number),
            sa.func.min(ServiceRequest.service_code),
        ),
        where,
        dialect,
    )
    stmt = stmt.group_by(
        spatial.grid_index(dialect, lon, -180.0, cell[0]),
        spatial.grid_index(dialect, lat, -90.0, cell[1]),
    )
    stmt = stmt.order_by(sa.func.count().desc()).limit(MAX_CLUSTERS)
    rows = session.connection().execute(stmt).all()
    return [
        Cluster(int(count), float(a), float(b), float(c), float(d), float(e), float(f), n, code)
        for count, a, b, c, d, e, f, n, code in rows
    ]


def get_request(session: Session, number: str) -> PublicRequest:
    stmt = _public().where(
        ServiceRequest.number == number, ServiceRequest.intake == Intake.ACCEPTED
    )
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"No service request {number!r}.")
    return _named(session, [row])[0]


def extras_for(session: Session, numbers: Sequence[str]) -> dict[str, RequestExtras]:
    """The extended fields of these requests, by number, in one query."""
    stmt = sa.select(ServiceRequest.number, *EXTRA_COLUMNS).where(
        ServiceRequest.number.in_(numbers)
    )
    return {row[0]: RequestExtras._make(row[1:]) for row in session.execute(stmt)}


def find_by_token(session: Session, token: str) -> ServiceRequest:
    service_request = session.scalar(sa.select(ServiceRequest).where(ServiceRequest.token == token))
    if service_request is None:
        raise NotFound(f"No token {token!r}.")
    return service_request


def _public() -> sa.Select[*tuple[Any, ...]]:
    return sa.select(*STORED_COLUMNS)


def _named(session: Session, rows: Sequence[sa.Row[Any]]) -> list[PublicRequest]:
    """PublicRequests of rows of STORED_COLUMNS, each with its service's name."""
    if not rows:
        return []
    names = catalog_queries.service_names(session)
    return [
        PublicRequest._make((*row[:_NAME_AT], names[row[_CODE_AT]], *row[_NAME_AT:]))
        for row in rows
    ]


def _conditions(where: RequestFilter) -> list[sa.ColumnElement[bool]]:
    bounds = (
        (ServiceRequest.requested_at >= where.start) if where.start else None,
        (ServiceRequest.requested_at < where.end) if where.end else None,
        (ServiceRequest.updated_at >= where.updated_after) if where.updated_after else None,
        (ServiceRequest.updated_at < where.updated_before) if where.updated_before else None,
        ServiceRequest.service_code.in_(where.service_codes) if where.service_codes else None,
        ServiceRequest.status.in_(where.statuses) if where.statuses else None,
    )
    return [condition for condition in bounds if condition is not None]


def close_reason_of(session: Session, number: str) -> CloseReason | None:
    """Why a public request was closed (completed, duplicate, …); None while open."""
    return session.scalar(
        sa.select(ServiceRequest.close_reason).where(
            ServiceRequest.number == number, ServiceRequest.intake == Intake.ACCEPTED
        )
    )
