"""FixMyStreet's updates to requests it filed (POST servicerequestupdates).

A partner's update is the reporter speaking through the partner: it adds a
public note. Its status is mapped conservatively: OPEN or REOPEN on a closed
request reopens it for a supervisor's review, as bad feedback does; every
other status (CLOSED and FIXED included) changes nothing, because only the
department closes its requests. The partner's status stays in the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import Conflict
from open311.models import ApiKey, PartnerUpdate, RequestEvent, ServiceRequest, Stage
from open311.workflow import actions
from open311.workflow.actions import Actor, Step
from open311.workflow.transitions import Action

# FixMyStreet's extended statuses (open311-reference.md, Part 2 §2.6).
STATUSES = frozenset(
    {
        "OPEN", "CLOSED", "FIXED", "IN_PROGRESS", "ACTION_SCHEDULED", "INVESTIGATING",
        "DUPLICATE", "NOT_COUNCILS_RESPONSIBILITY", "NO_FURTHER_ACTION", "INTERNAL_REFERRAL",
        "FOR_TRIAGE", "CANCELLED", "REOPEN",
    }
)  # fmt: skip
REOPENING = frozenset({"OPEN", "REOPEN"})
REOPEN_NOTE = "The reporter says the problem is not fixed; a supervisor will review it."


@dataclass(frozen=True, kw_only=True)
class IncomingUpdate:
    """A FixMyStreet update as validated at the edge."""

    number: str  # our service_request_id
    update_id: str  # FixMyStreet's comment id
    status: str  # one of STATUSES
    description: str | None = None
    partner_datetime: datetime | None = None  # FixMyStreet's updated_datetime
    media_url: str | None = None


def receive_update(
    session: Session, api_key: ApiKey, update: IncomingUpdate, now: datetime, time_zone: ZoneInfo
) -> PartnerUpdate:
    """Record the update once per (key, update_id); a replay returns the first record.

    NotFound: no such request. Forbidden: another key filed it. Conflict: the
    update_id was used by this key for another request.
    """
    service_request = actions.locked_request(session, update.number)
    # Checked under the request's lock: a concurrent copy waits, then finds the first.
    earlier = session.get(PartnerUpdate, (api_key.id, update.update_id))
    if earlier is not None:
        if earlier.service_request_id != service_request.id:
            raise Conflict(f"update_id {update.update_id!r} was sent for another request.")
        return earlier
    actions.require_filing_key(service_request, api_key)
    event = _apply(session, service_request, api_key, update, now, time_zone)
    received = PartnerUpdate(
        api_key_id=api_key.id,
        update_id=update.update_id,
        service_request_id=service_request.id,
        event_id=event.id,
        status=update.status,
        received_at=now,
    )
    session.add(received)
    session.flush()
    return received


def _apply(
    session: Session,
    service_request: ServiceRequest,
    api_key: ApiKey,
    update: IncomingUpdate,
    now: datetime,
    time_zone: ZoneInfo,
) -> RequestEvent:
    reporter = Actor.reporter(api_key)
    if update.status in REOPENING and service_request.stage is Stage.CLOSED:
        step = Step(action=Action.REOPEN_FOR_REVIEW, public_note=update.description or REOPEN_NOTE)
        actions.perform(
            session, service_request.number, step, reporter, time_zone=time_zone, now=now
        )
        return _latest_event(session, service_request)
    details = {
        "status": update.status,
        "update_id": update.update_id,
        "partner_datetime": update.partner_datetime.isoformat()
        if update.partner_datetime
        else None,
        "media_url": update.media_url,
    }
    service_request.updated_at = now
    return actions.record(
        session, service_request, "partner_update", reporter, now,
        public_note=update.description, details=details,
    )  # fmt: skip


def _latest_event(session: Session, service_request: ServiceRequest) -> RequestEvent:
    return session.scalars(
        sa.select(RequestEvent)
        .where(RequestEvent.service_request_id == service_request.id)
        .order_by(RequestEvent.id.desc())
        .limit(1)
    ).one()
