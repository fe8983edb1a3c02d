"""The history the estimates learn from: when each request was filed, and when it closed.

resolution_history is the one place that says what "closed at" means. Today
it is updated_at of a closed request: the City's closed date for imported
requests (opendata/chicago.py, GeoReport's updated_datetime of a closed
request), and for requests the staff workflow closed, its last close event
(a note added after closing moves updated_at, not the closing time).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import Intake, RequestEvent, Service, ServiceRequest, Stage, Status

STREAM_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class PastRequest:
    """One request as the estimates see it; closed_at is None while it is open."""

    service_code: str
    requested_at: datetime
    closed_at: datetime | None
    community_area: str | None

    @property
    def days_to_close(self) -> float | None:
        if self.closed_at is None:
            return None
        return max(0.0, (self.closed_at - self.requested_at).total_seconds() / 86400)


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """What the catalogue says about a service that the fallbacks need."""

    group: str
    target_days: float | None


def resolution_history(session: Session) -> Iterator[PastRequest]:
    """Every accepted request, by service_code then requested_at, streamed."""
    closed_at = closed_at_of_request()
    stmt = (
        sa.select(
            ServiceRequest.service_code,
            ServiceRequest.requested_at,
            closed_at,
            ServiceRequest.community_area,
        )
        .where(ServiceRequest.intake == Intake.ACCEPTED)
        .order_by(ServiceRequest.service_code, ServiceRequest.requested_at)
        .execution_options(yield_per=STREAM_BATCH)
    )
    for code, requested_at, closed, area in session.execute(stmt):
        yield PastRequest(code, requested_at, _aware_like(closed, requested_at), area)


def closed_at_of_request() -> sa.ColumnElement[datetime | None]:
    """When a ServiceRequest row closed, as SQL: NULL while it is open."""
    # The last time the workflow closed it; updated_at for requests closed
    # elsewhere (imported), since a note after closing also moves updated_at.
    last_closed = (
        sa.select(sa.func.max(RequestEvent.at))
        .where(
            RequestEvent.service_request_id == ServiceRequest.id,
            RequestEvent.to_stage == Stage.CLOSED,
            RequestEvent.from_stage != Stage.CLOSED,  # a note on a closed request is no closing
        )
        .scalar_subquery()
    )
    return sa.case(
        (
            ServiceRequest.status == Status.CLOSED,
            sa.func.coalesce(last_closed, ServiceRequest.updated_at),
        )
    )


def _aware_like(moment: datetime | None, reference: datetime) -> datetime | None:
    """CASE hides the column's type, so SQLite returns a naive UTC value for it."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=reference.tzinfo)


def catalogue_facts(session: Session) -> dict[str, ServiceFacts]:
    rows = session.execute(sa.select(Service.code, Service.group, Service.target_days))
    return {code: ServiceFacts(group, target) for code, group, target in rows}


class Backlog:
    """How many of one service's requests were open at any moment of its history."""

    def __init__(self, requests: Sequence[PastRequest]) -> None:
        self._filed = sorted(r.requested_at for r in requests)
        self._closed = sorted(r.closed_at for r in requests if r.closed_at is not None)

    def open_at(self, moment: datetime) -> int:
        """Filed before `moment` and not closed by then."""
        return bisect.bisect_left(self._filed, moment) - bisect.bisect_right(self._closed, moment)
