"""Staff redact what a resident wrote in a request's description, with a reason.

The public (GeoReport, feeds, the resident site) reads the description column
only, so from the redaction on it sees the redacted text. The text it replaced
is kept in its DescriptionRedaction row, which staff whose role may MODERATE
read (the staff API's request includes them for those staff only). The history
row (`redact_description`) has the reason as its internal note and never names
the original: every member of staff who may view the request reads history.
Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import InvalidRequest
from open311.models import DescriptionRedaction, Staff
from open311.workflow import actions, permissions
from open311.workflow.permissions import Operation

REDACT = "redact_description"  # the history row's action: staff-only, it tells no subscriber
REMOVED = "[removed by the City]"  # the public text when staff give no redacted text


def redact_description(
    session: Session,
    number: str,
    redacted: str | None,
    reason: str,
    staff: Staff,
    now: datetime,
) -> DescriptionRedaction:
    """Replace request `number`'s description with `redacted` (default: REMOVED)."""
    service_request = actions.locked_request(session, number)
    permissions.require(staff, Operation.MODERATE, service_request.agency_responsible)
    text = (redacted or "").strip() or REMOVED
    if not reason.strip():
        raise InvalidRequest("reason: say why the description is redacted.")
    if text == service_request.description:
        raise InvalidRequest("description: the redacted text is the same as the description.")
    redaction = DescriptionRedaction(
        service_request_id=service_request.id,
        original=service_request.description,
        redacted=text,
        reason=reason,
        staff_id=staff.id,
        at=now,
    )
    session.add(redaction)
    service_request.description = text
    service_request.updated_at = now  # pollers (updated_after) fetch the new text
    session.flush()
    actions.record(
        session,
        service_request,
        REDACT,
        actions.Actor.of_staff(staff),
        now,
        internal_note=reason,
        details={"redaction_id": redaction.id},
    )
    return redaction


def redactions(session: Session, service_request_id: int) -> Sequence[DescriptionRedaction]:
    """Every redaction of the request, oldest first (the first original is the resident's)."""
    return session.scalars(
        sa.select(DescriptionRedaction)
        .where(DescriptionRedaction.service_request_id == service_request_id)
        .order_by(DescriptionRedaction.id)
    ).all()
