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
    """Parties cited at least `at_least` times by `department`, the most cited first."""
    counts = (
        sa.select(
            Citation.party_key,
            sa.func.count().label("citations"),
            sa.func.sum(Citation.fine_amount).label("fines_total"),
            sa.func.min(Citation.cited_on).label("first_cited_on"),
            sa.func.max(Citation.cited_on).label("last_cited_on"),
            sa.func.max(Citation.id).label("latest_id"),
        )
        .where(Citation.department == department)
        .group_by(Citation.party_key)
        .having(sa.func.count() >= at_least)
        .subquery()
    )
    stmt = (
        sa.select(Citation, counts)
        .join(counts, Citation.id == counts.c.latest_id)
        .order_by(counts.c.citations.desc(), counts.c.last_cited_on.desc(), Citation.party_key)
        .limit(PAGE_LIMIT)
    )
    return [
        PartyRecord(
            row.party_key,
            row.Citation,
            row.citations,
            Decimal(str(row.fines_total)).quantize(Decimal("0.01")),
            _as_date(row.first_cited_on),
            _as_date(row.last_cited_on),
        )
        for row in session.execute(stmt)
    ]


def _as_date(value: date | str) -> date:
    """min()/max() of a DATE column come back as text on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(value)
