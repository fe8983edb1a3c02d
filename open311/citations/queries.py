"""Reads for citations: one party's citations, and the parties cited or complained of
again and again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.citations import parties
from open311.models import Citation, ServiceRequest

PAGE_LIMIT = 500


def of_party(session: Session, party: str, department: str) -> Sequence[tuple[Citation, str]]:
    """A department's citations whose party's name or licence matches `party`, newest first.

    Each with its request's number. Both sides are normalised (parties.py).
    """
    matches = [Citation.name_key == parties.name_key(party)]
    if licence := parties.licence_key(party):
        matches.append(Citation.licence_key == licence)
    stmt = (
        sa.select(Citation, ServiceRequest.number)
        .join(ServiceRequest, ServiceRequest.id == Citation.service_request_id)
        .where(Citation.department == department, sa.or_(*matches))
        .order_by(Citation.cited_on.desc(), Citation.id.desc())
        .limit(PAGE_LIMIT)
    )
    return [(citation, number) for citation, number in session.execute(stmt)]


@dataclass(frozen=True)
class PartyRecord:
    """One party's citations in a department, summed up, and the complaints at its address."""

    party_key: str
    latest: Citation  # its most recent citation: the name and licence as last written
    citations: int
    complaints: int  # the department's requests without a citation at the party's address
    fines_total: Decimal
    first_cited_on: date
    last_cited_on: date


def repeat_parties(session: Session, department: str, at_least: int) -> list[PartyRecord]:
    """Parties with at least `at_least` citations and complaints together in `department`,
    the most first.

    One party is every citation joined through a shared licence or a shared name at
    one address (parties.group): "ACME INC." with a licence and "Acme, Inc" without
    one at the same address are one repeat offender. Its complaints are the
    department's requests that carry no citation whose street address (normalised as
    parties.address_key does) is one of the party's citation addresses; an address
    where two parties were cited names neither, so no complaint is counted twice.
    """
    citations = session.scalars(
        sa.select(Citation).where(Citation.department == department).order_by(Citation.id)
    ).all()
    keys = [
        parties.keys_of_citation(c.party_name, c.licence_number, c.party_address) for c in citations
    ]
    groups = parties.group(keys)
    complaints_at = _complaints_by_party_address(session, department, citations, groups)
    records = []
    for index, members in enumerate(groups):
        cited = [citations[i] for i in members]
        complaints = complaints_at.get(index, 0)
        if len(cited) + complaints < at_least:
            continue
        latest = cited[-1]
        licences = [k for i in members for k in keys[i] if k.startswith("licence:")]
        records.append(
            PartyRecord(
                licences[-1] if licences else keys[members[-1]][0],
                latest,
                len(cited),
                complaints,
                sum((c.fine_amount for c in cited), Decimal(0)).quantize(Decimal("0.01")),
                min(c.cited_on for c in cited),
                max(c.cited_on for c in cited),
            )
        )
    records.sort(
        key=lambda r: (-(r.citations + r.complaints), -r.last_cited_on.toordinal(), r.party_key)
    )
    return records[:PAGE_LIMIT]


def _complaints_by_party_address(
    session: Session,
    department: str,
    citations: Sequence[Citation],
    groups: Sequence[Sequence[int]],
) -> dict[int, int]:
    """How many of the department's uncited requests stand at each party's addresses,
    by the party's index in `groups`. Addresses are compared by parties.address_key,
    the one normalisation the parties and the repeat places share."""
    party_at: dict[str, int | None] = {}  # address key → its one party (None: several)
    for index, members in enumerate(groups):
        for i in members:
            key = parties.address_key(citations[i].party_address)
            if not key:
                continue
            if party_at.setdefault(key, index) != index:
                party_at[key] = None
    if not any(party is not None for party in party_at.values()):
        return {}
    cited = sa.select(Citation.id).where(Citation.service_request_id == ServiceRequest.id)
    addresses = session.scalars(
        sa.select(ServiceRequest.address).where(
            ServiceRequest.agency_responsible == department, ~cited.exists()
        )
    )
    counts: dict[int, int] = {}
    for address in addresses:
        party = party_at.get(parties.address_key(address))
        if party is not None:
            counts[party] = counts.get(party, 0) + 1
    return counts
