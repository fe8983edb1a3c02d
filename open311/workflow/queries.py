"""Reads for the staff side: queues, a request with its whole history, public notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311 import spatial
from open311.errors import InvalidRequest, NotFound
from open311.models import Intake, RequestEvent, Service, ServiceRequest, Stage
from open311.service_requests import emergency
from open311.workflow.transitions import OPEN_STAGES, PUBLIC_ACTIONS, Action, public_summary


@dataclass(frozen=True, kw_only=True)
class QueueFilter:
    department: str | None  # None: every department's (an administrator's view)
    stages: tuple[Stage, ...] = ()  # default: every open stage
    service_codes: tuple[str, ...] = ()
    assignee: str | None = None
    overdue_only: bool = False
    community_area: str | None = None  # an area's code, as tagged on the request
    ward: str | None = None
    emergency_only: bool = False  # descriptions the 911 rule matched
    page: int = 1
    page_size: int = 100


def queue(session: Session, where: QueueFilter, now: datetime) -> Sequence[ServiceRequest]:
    """A department's open requests, the most overdue first, then the oldest.

    Overdue is measured against the catalogue's target time (`due_at`); requests
    of services without a target come after every request that has one. The staff
    API's queue and the console's are this one query.
    """
    stmt = sa.select(ServiceRequest).where(
        ServiceRequest.intake == Intake.ACCEPTED,
        ServiceRequest.stage.in_(where.stages or sorted(OPEN_STAGES)),
    )
    if where.department is not None:
        stmt = stmt.where(ServiceRequest.agency_responsible == where.department)
    if where.service_codes:
        stmt = stmt.where(ServiceRequest.service_code.in_(where.service_codes))
    if where.assignee:
        stmt = stmt.where(ServiceRequest.assignee == where.assignee)
    if where.overdue_only:
        stmt = stmt.where(ServiceRequest.due_at < now)
    if where.community_area:
        stmt = stmt.where(ServiceRequest.community_area == where.community_area)
    if where.ward:
        stmt = stmt.where(ServiceRequest.ward == where.ward)
    if where.emergency_only:
        stmt = stmt.where(emergency.flagged(ServiceRequest.service_notice))
    stmt = stmt.order_by(
        ServiceRequest.due_at.is_(None),  # false (has a target) sorts first on both backends
        ServiceRequest.due_at,
        ServiceRequest.requested_at,
        ServiceRequest.id,
    )
    offset = (where.page - 1) * where.page_size
    return session.scalars(stmt.limit(where.page_size).offset(offset)).all()


def request_for_staff(session: Session, number: str) -> ServiceRequest:
    service_request = session.scalar(
        sa.select(ServiceRequest).where(ServiceRequest.number == number)
    )
    if service_request is None:
        raise NotFound(f"No service request {number!r}.")
    return service_request


def number_of(session: Session, service_request_id: int) -> str:
    return session.scalars(
        sa.select(ServiceRequest.number).where(ServiceRequest.id == service_request_id)
    ).one()


def history(session: Session, service_request_id: int) -> Sequence[RequestEvent]:
    """Every change to the request, oldest first: the audit trail."""
    return session.scalars(
        sa.select(RequestEvent)
        .where(RequestEvent.service_request_id == service_request_id)
        .order_by(RequestEvent.id)
    ).all()


@dataclass(frozen=True)
class PublicNote:
    """One step of a request's life as the public sees it: no staff, no internal notes."""

    at: datetime
    action: str
    summary: str
    description: str | None


def public_notes(session: Session, numbers: Sequence[str]) -> dict[str, list[PublicNote]]:
    """The public history of each request, by number, in one query."""
    stmt = (
        sa.select(
            ServiceRequest.number,
            RequestEvent.at,
            RequestEvent.action,
            RequestEvent.public_note,
            RequestEvent.details,
        )
        .join(ServiceRequest, ServiceRequest.id == RequestEvent.service_request_id)
        .where(ServiceRequest.number.in_(numbers))
        .order_by(RequestEvent.id)
    )
    notes: dict[str, list[PublicNote]] = {number: [] for number in numbers}
    for number, at, action, public_note, details in session.execute(stmt):
        summary = public_summary(action, details or {})
        if summary is not None:
            notes[number].append(PublicNote(at, action, summary, public_note))
    return notes


@dataclass(frozen=True)
class DuplicateRule:
    """How near and how recent a request must be to be a likely parent."""

    radius_m: float
    window_days: float


@dataclass(frozen=True)
class LikelyParent:
    service_request: ServiceRequest
    distance_m: float


LIKELY_PARENTS_LIMIT = 20


def duplicate_rule(session: Session, service_code: str, default: DuplicateRule) -> DuplicateRule:
    """The service's own radius and window from the catalogue, else the default's."""
    service = session.get(Service, service_code)
    radius = service.duplicate_radius_m if service else None
    window = service.duplicate_window_days if service else None
    return DuplicateRule(radius or default.radius_m, window or default.window_days)


def likely_parents(
    session: Session, child: ServiceRequest, rule: DuplicateRule
) -> list[LikelyParent]:
    """Open accepted requests of the child's service that it may duplicate, nearest first.

    A parent was filed before the child (or in the same second), at most
    `rule.window_days` earlier and `rule.radius_m` away, and is not itself a
    duplicate: mark_duplicate refuses those as parents.
    """
    dialect = session.get_bind().dialect.name
    distance = spatial.distance_to(dialect, child.long, child.lat)
    stmt = (
        sa.select(ServiceRequest, distance)
        .where(
            ServiceRequest.service_code == child.service_code,
            ServiceRequest.intake == Intake.ACCEPTED,
            ServiceRequest.stage != Stage.CLOSED,
            ServiceRequest.duplicate_of.is_(None),
            ServiceRequest.id != child.id,
            ServiceRequest.requested_at <= child.requested_at,
            ServiceRequest.requested_at >= child.requested_at - timedelta(days=rule.window_days),
            spatial.within_metres(dialect, child.long, child.lat, rule.radius_m),
        )
        .order_by(distance, ServiceRequest.requested_at, ServiceRequest.id)
        .limit(LIKELY_PARENTS_LIMIT)
    )
    return [LikelyParent(row, float(metres)) for row, metres in session.execute(stmt)]


@dataclass(frozen=True)
class PublicUpdate:
    """A history row with a public effect, as FixMyStreet's servicerequestupdates lists it."""

    event_id: int
    number: str
    at: datetime
    action: str
    stage: Stage
    close_reason: str | None  # the reason given when the row closed the request
    description: str | None  # the public note only
    media_url: str | None


# A window asked for without `page` is answered whole, as FixMyStreet reads it:
# a cut-off list would lose the rest without a word. Past this many, a 400 asks
# for a shorter window or pages.
WHOLE_WINDOW_LIMIT = 10_000


def public_updates(
    session: Session,
    start: datetime,
    end: datetime,
    hide_api_key_id: int,
    page: int | None = None,
    page_size: int = 1000,
) -> list[PublicUpdate]:
    """Rows in [start, end) that changed a public request's stage or added a public note,
    oldest first: all of them, or with `page` the page_size of that 1-based page.

    The rows a partner's own key wrote are hidden from it: it knows them, and
    would otherwise store its own updates a second time.
    """
    stmt = (
        sa.select(RequestEvent, ServiceRequest.number, ServiceRequest.close_reason)
        .join(ServiceRequest, ServiceRequest.id == RequestEvent.service_request_id)
        .where(
            RequestEvent.at >= start,
            RequestEvent.at < end,
            ServiceRequest.intake == Intake.ACCEPTED,
            RequestEvent.action.in_(PUBLIC_ACTIONS),
            sa.or_(
                RequestEvent.public_note.is_not(None),
                RequestEvent.from_stage.is_distinct_from(RequestEvent.to_stage),
            ),
            sa.or_(RequestEvent.api_key_id.is_(None), RequestEvent.api_key_id != hide_api_key_id),
        )
        .order_by(RequestEvent.at, RequestEvent.id)
    )
    if page is None:
        stmt = stmt.limit(WHOLE_WINDOW_LIMIT + 1)
    else:
        stmt = stmt.limit(page_size).offset((page - 1) * page_size)
    found = [
        _public_update(event, number, current_reason)
        for event, number, current_reason in session.execute(stmt)
    ]
    if page is None and len(found) > WHOLE_WINDOW_LIMIT:
        raise InvalidRequest(
            f"start_date to end_date: more than {WHOLE_WINDOW_LIMIT:,} updates in this window;"
            f" ask for a shorter window, or page=1, 2, … ({page_size} updates a page)."
        )
    return found


def _public_update(event: RequestEvent, number: str, current_reason: str | None) -> PublicUpdate:
    stage = event.to_stage or Stage.NEW
    details = event.details or {}
    reason = None
    if stage is Stage.CLOSED:
        if event.action == Action.MARK_DUPLICATE.value:
            reason = "duplicate"
        else:  # a note on a closed request: the reason it is closed with
            reason = details.get("reason") or current_reason
    return PublicUpdate(
        event.id, number, event.at, event.action, stage, reason, event.public_note,
        details.get("media_url"),
    )  # fmt: skip
