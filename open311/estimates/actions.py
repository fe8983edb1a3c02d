"""Writes: store what the history teaches, and set requests' expected times.

Callers own the transaction; on SQLite, open it with begin_write.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.estimates.history import catalogue_facts, resolution_history
from open311.estimates.model import Key, Quantiles, learn
from open311.estimates.queries import Estimate, estimate
from open311.models import Intake, ResolutionQuantiles, Scope, ServiceRequest, Status


@dataclass(frozen=True)
class LearnReport:
    services: int  # services with quantiles of their own
    segments: int
    groups: int
    refreshed: int  # open requests whose expected times were recomputed
    # Services' ranges by what calibrated them: "service", "group", "all", or
    # "none" (nothing could check them: as observed).
    calibrated_by: Counter[str] = field(default_factory=Counter)


def learn_estimates(session: Session, now: datetime, *, time_zone: ZoneInfo) -> LearnReport:
    """Replace the stored quantiles with ones learned from the whole history,
    then recompute the expected times of every open request with them."""
    learned = learn(resolution_history(session), catalogue_facts(session), time_zone)
    session.execute(sa.delete(ResolutionQuantiles))
    session.add_all(_stored(key, quantiles, now) for key, quantiles in learned.slices.items())
    session.flush()
    kinds = [(key.scope.value, bool(key.segment_kind)) for key in learned.slices]
    return LearnReport(
        services=kinds.count(("service", False)),
        segments=kinds.count(("service", True)),
        groups=kinds.count(("group", False)),
        refreshed=refresh_open_requests(session, now, time_zone=time_zone),
        calibrated_by=Counter(
            quantiles.calibrated.by if quantiles.calibrated else "none"
            for key, quantiles in learned.slices.items()
            if key.scope is Scope.SERVICE and not key.segment_kind
        ),
    )


def _stored(key: Key, quantiles: Quantiles, now: datetime) -> ResolutionQuantiles:
    calibrated = quantiles.calibrated
    return ResolutionQuantiles(
        scope=key.scope,
        scope_key=key.scope_key,
        segment_kind=key.segment_kind,
        segment_value=key.segment_value,
        n=quantiles.n,
        p10=quantiles.p10,
        p50=quantiles.p50,
        p90=quantiles.p90,
        lift=quantiles.lift,
        usual_backlog=quantiles.usual_backlog,
        calibrated_p10=calibrated.p10 if calibrated else None,
        calibrated_p90=calibrated.p90 if calibrated else None,
        calibrated_by=calibrated.by if calibrated else None,
        learned_at=now,
    )


def refresh_open_requests(session: Session, now: datetime, *, time_zone: ZoneInfo) -> int:
    """refresh_expected for every accepted open request; how many there were."""
    stmt = sa.select(ServiceRequest).where(
        ServiceRequest.status == Status.OPEN, ServiceRequest.intake == Intake.ACCEPTED
    )
    count = 0
    for service_request in session.scalars(stmt).all():
        refresh_expected(session, service_request, now, time_zone=time_zone)
        count += 1
    session.flush()
    return count


def refresh_expected(
    session: Session, service_request: ServiceRequest, now: datetime, *, time_zone: ZoneInfo
) -> Estimate:
    """Set the request's expected_at, its 10th-90th percentile range and basis.

    The contract for callers (the POST, learn-estimates, the staff workflow):
    - call it after any change that can move the expected time, in the same
      transaction: filing, every workflow transition, a change of service or
      of location (after its area codes are set), and reopening;
    - `now` is the moment of that change; the service's backlog is counted
      then, and a request already open a while gets the range of what is
      left of its wait, never a time before `now`'s elapsed wait;
    - an open request gets expected_at (the median) and, where history
      allows, expected_early_at/expected_late_at (10th and 90th percentile)
      and expected_basis; without any basis all four become None;
    - a closed request keeps its last expected_at (what it was promised)
      and loses its range and basis: there is nothing left to expect;
    - it reads only what learn-estimates stored, sets attributes and does
      not flush or commit: the caller owns the transaction.
    """
    if service_request.status is Status.CLOSED:
        service_request.expected_early_at = service_request.expected_late_at = None
        service_request.expected_basis = None
        return Estimate(None, service_request.expected_at, None, None)
    expected = estimate(session, service_request, now, time_zone=time_zone)
    service_request.expected_at = expected.p50
    service_request.expected_early_at = expected.p10
    service_request.expected_late_at = expected.p90
    service_request.expected_basis = expected.basis
    return expected
