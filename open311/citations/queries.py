"""Reads for citations: one party's citations, and the parties cited again and again."""

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
    """One party's citations in a department, summed up."""

    party_key: str
    latest: Citation  # its most recent citation: the name and licence as last written
    citations: int
    fines_total: Decimal
    first_cited_on: date
    last_cited_on: date


def repeat_parties(session: Session, department: str, at_least: int) -> list[PartyRecord]:
    """Parties cited at least `at_least` times by `department`, the most cited first.

    One party is every citation joined through a shared licence or a shared name at
    one address (parties.group): "ACME INC." with a licence and "Acme, Inc" without
    one at the same address are one repeat offender.
    """
    citations = session.scalars(
        sa.select(Citation).where(Citation.department == department).order_by(Citation.id)
    ).all()
    keys = [
        parties.keys_of_citation(c.party_name, c.licence_number, c.party_address) for c in citations
    ]
    records = []
    for members in parties.group(keys):
        if len(members) < at_least:
            continue
        cited = [citations[i] for i in members]
        latest = cited[-1]
        licences = [k for i in members for k in keys[i] if k.startswith("licence:")]
        records.append(
            PartyRecord(
                licences[-1] if licences else keys[members[-1]][0],
                latest,
                len(cited),
                sum((c.fine_amount for c in cited), Decimal(0)).quantize(Decimal("0.01")),
                min(c.cited_on for c in cited),
                max(c.cited_on for c in cited),
            )
        )
    records.sort(key=lambda r: (-r.citations, -r.last_cited_on.toordinal(), r.party_key))
    return records[:PAGE_LIMIT]
