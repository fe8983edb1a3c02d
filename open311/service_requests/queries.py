"""Reads of service requests: only requests the city has accepted are public."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import NotFound
from open311.models import Intake, Service, ServiceRequest, Status

# The public columns of a request, with its service's name: the rows every
# GeoReport reply is built from. Selecting columns, not objects, keeps a
# 1,000-row page cheap.
PUBLIC_COLUMNS = (
    ServiceRequest.number,
    ServiceRequest.status,
    ServiceRequest.status_notes,
    Service.name.label("service_name"),
    ServiceRequest.service_code,
    ServiceRequest.description,
    ServiceRequest.agency_responsible,
    ServiceRequest.service_notice,
    ServiceRequest.requested_at,
    ServiceRequest.updated_at,
    ServiceRequest.expected_at,
    ServiceRequest.address,
    ServiceRequest.address_id,
    ServiceRequest.zipcode,
    ServiceRequest.lat,
    ServiceRequest.long,
    ServiceRequest.media_url,
)


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


def search_requests(
    session: Session, where: RequestFilter
) -> Sequence[sa.Row[*tuple[Any, ...]]]:
    stmt = _public().order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())
    if where.numbers:
        return session.execute(stmt.where(ServiceRequest.number.in_(where.numbers))).all()
    for condition in _conditions(where):
        stmt = stmt.where(condition)
    stmt = stmt.limit(where.page_size).offset((where.page - 1) * where.page_size)
    return session.execute(stmt).all()


def get_request(session: Session, number: str) -> sa.Row[*tuple[Any, ...]]:
    row = session.execute(_public().where(ServiceRequest.number == number)).first()
    if row is None:
        raise NotFound(f"No service request {number!r}.")
    return row


def find_by_token(session: Session, token: str) -> ServiceRequest:
    service_request = session.scalar(sa.select(ServiceRequest).where(ServiceRequest.token == token))
    if service_request is None:
        raise NotFound(f"No token {token!r}.")
    return service_request


def _public() -> sa.Select[*tuple[Any, ...]]:
    return (
        sa.select(*PUBLIC_COLUMNS)
        .join(Service, Service.code == ServiceRequest.service_code)
        .where(ServiceRequest.intake == Intake.ACCEPTED)
    )


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
