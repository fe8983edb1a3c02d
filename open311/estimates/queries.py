"""The expected time to resolve one request, from what learn-estimates stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.estimates.calibration import Calibrated
from open311.estimates.history import ServiceFacts
from open311.estimates.model import (
    Circumstances,
    Key,
    Learned,
    Prediction,
    Quantiles,
    given_open_for,
    predict,
)
from open311.models import Intake, ResolutionQuantiles, Scope, Service, ServiceRequest, Status


class RequestLike(Protocol):
    """What an estimate reads of a request (a ServiceRequest has it all)."""

    @property
    def service_code(self) -> str: ...
    @property
    def requested_at(self) -> datetime: ...
    @property
    def community_area(self) -> str | None: ...


@dataclass(frozen=True)
class Estimate:
    """When the request should close: the median, the 10th-90th percentile
    range (None without one), and the basis that gave them (README)."""

    p10: datetime | None
    p50: datetime | None
    p90: datetime | None
    basis: str | None

    @classmethod
    def from_prediction(cls, start: datetime, prediction: Prediction | None) -> Estimate:
        if prediction is None:
            return NO_ESTIMATE

        def at(days: float | None) -> datetime | None:
            return None if days is None else (start + timedelta(days=days)).replace(microsecond=0)

        return cls(at(prediction.p10), at(prediction.p50), at(prediction.p90), prediction.basis)


NO_ESTIMATE = Estimate(None, None, None, None)


def estimate(
    session: Session, service_request: RequestLike, now: datetime, *, time_zone: ZoneInfo
) -> Estimate:
    """The request's expected closing, as of `now` (which is its filing time at POST).

    The service's backlog is counted now; a request already open a while gets
    the range of what is left (model.given_open_for). Month and weekday are
    those of its filing in `time_zone`, the city's, as learn-estimates used.
    """
    service = session.get(Service, service_request.service_code)
    facts = ServiceFacts(service.group, service.target_days) if service else None
    learned = learned_for(session, service_request.service_code, facts)
    code = service_request.service_code
    # Counting the open requests reads many rows: only when a segment uses the count.
    backlog = open_requests(session, code, now) if learned.reads_backlog(code) else 0
    circumstances = Circumstances(
        code, service_request.requested_at, service_request.community_area, backlog
    )
    prediction = predict(learned, circumstances, facts, time_zone)
    if prediction is not None:
        elapsed = (now - service_request.requested_at).total_seconds() / 86400
        prediction = given_open_for(prediction, elapsed)
    return Estimate.from_prediction(service_request.requested_at, prediction)


def learned_for(session: Session, service_code: str, facts: ServiceFacts | None) -> Learned:
    """The stored slices one prediction may use: its service's and its group's."""
    parameters = {"service_code": service_code, "group": facts.group if facts else None}
    rows = session.execute(_SERVICE_AND_GROUP_SLICES, parameters)  # rows, not objects: read once
    return Learned({_key(row): _quantiles(row) for row in rows})


# Built once: every filing and every workflow step runs it. A NULL group matches nothing.
_SERVICE_AND_GROUP_SLICES = sa.select(*ResolutionQuantiles.__table__.c).where(
    sa.or_(
        sa.and_(
            ResolutionQuantiles.scope == Scope.SERVICE,
            ResolutionQuantiles.scope_key == sa.bindparam("service_code", type_=sa.String),
        ),
        sa.and_(
            ResolutionQuantiles.scope == Scope.GROUP,
            ResolutionQuantiles.scope_key == sa.bindparam("group", type_=sa.String),
        ),
    )
)


def open_requests(session: Session, service_code: str, now: datetime) -> int:
    """The service's accepted requests filed before `now` and open now."""
    stmt = sa.select(sa.func.count()).where(
        ServiceRequest.service_code == service_code,
        ServiceRequest.status == Status.OPEN,
        ServiceRequest.intake == Intake.ACCEPTED,
        ServiceRequest.requested_at < now,
    )
    return session.scalar(stmt) or 0


def _key(row: sa.Row[Any]) -> Key:
    return Key(row.scope, row.scope_key, row.segment_kind, row.segment_value)


def _quantiles(row: sa.Row[Any]) -> Quantiles:
    calibrated = None
    if row.calibrated_p10 is not None and row.calibrated_p90 is not None and row.calibrated_by:
        calibrated = Calibrated(row.calibrated_p10, row.calibrated_p90, row.calibrated_by)
    return Quantiles(row.n, row.p10, row.p50, row.p90, row.lift, row.usual_backlog, calibrated)
