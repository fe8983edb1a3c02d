"""Writes for citations. Callers own the transaction; every write is also a history row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from open311.citations import parties
from open311.errors import Conflict, NotFound
from open311.models import Citation, CitationStatus, PartyKind, ServiceRequest, Staff
from open311.workflow import actions as workflow_actions
from open311.workflow import permissions
from open311.workflow.actions import Actor
from open311.workflow.permissions import Operation

LARGEST_ID = 2**31 - 1  # an INTEGER column: larger ids cannot exist (and would overflow)
# Paid and dismissed are final; a contested citation may be upheld (issued again).
NEXT_STATUSES: dict[CitationStatus, frozenset[CitationStatus]] = {
    CitationStatus.ISSUED: frozenset(
        {CitationStatus.PAID, CitationStatus.CONTESTED, CitationStatus.DISMISSED}
    ),
    CitationStatus.CONTESTED: frozenset(
        {CitationStatus.ISSUED, CitationStatus.PAID, CitationStatus.DISMISSED}
    ),
    CitationStatus.PAID: frozenset(),
    CitationStatus.DISMISSED: frozenset(),
}


@dataclass(frozen=True, kw_only=True)
class NewCitation:
    """A citation as validated at the edge."""

    party_kind: PartyKind
    party_name: str
    licence_number: str | None = None
    party_address: str | None = None
    violation_code: str
    cited_on: date
    fine_amount: Decimal
    internal_note: str | None = None


def cite(session: Session, number: str, new: NewCitation, staff: Staff, now: datetime) -> Citation:
    """Record a citation on request `number` by `staff` of the request's department.

    The history row (action "cite") has no public note: the public never learns of it.
    """
    service_request = workflow_actions.locked_request(session, number)
    permissions.require(staff, Operation.CITE, service_request.agency_responsible)
    citation = Citation(
        service_request_id=service_request.id,
        department=service_request.agency_responsible or staff.department,
        party_kind=new.party_kind,
        party_name=new.party_name,
        licence_number=new.licence_number,
        party_address=new.party_address,
        party_key=parties.party_key(new.party_name, new.licence_number),
        name_key=parties.name_key(new.party_name),
        licence_key=parties.licence_key(new.licence_number),
        violation_code=new.violation_code,
        cited_on=new.cited_on,
        fine_amount=new.fine_amount,
        status=CitationStatus.ISSUED,
        recorded_by_staff_id=staff.id,
        recorded_at=now,
    )
    session.add(citation)
    session.flush()
    details = {
        "citation_id": citation.id,
        "violation_code": citation.violation_code,
        "fine_amount": str(citation.fine_amount),
    }
    workflow_actions.record(
        session, service_request, "cite", Actor.of_staff(staff), now,
        internal_note=new.internal_note, details=details,
    )  # fmt: skip
    return citation


def change_status(
    session: Session,
    citation_id: int,
    status: CitationStatus,
    staff: Staff,
    now: datetime,
    internal_note: str | None = None,
) -> Citation:
    """Move a citation to `status` (paid, contested, …); the request's history says who did."""
    citation = None
    if 0 < citation_id <= LARGEST_ID:
        citation = session.get(Citation, citation_id, with_for_update=True, populate_existing=True)
    if citation is None:
        raise NotFound(f"No citation {citation_id}.")
    permissions.require(staff, Operation.CITE, citation.department)
    if status not in NEXT_STATUSES[citation.status]:
        raise Conflict(
            f"Citation {citation_id} is {citation.status.value}; it cannot become {status.value}."
        )
    service_request = session.get_one(ServiceRequest, citation.service_request_id)
    details = {"citation_id": citation.id, "from": citation.status.value, "to": status.value}
    citation.status = status
    workflow_actions.record(
        session, service_request, "citation_status", Actor.of_staff(staff), now,
        internal_note=internal_note, details=details,
    )  # fmt: skip
    return citation
