"""Reads of the stored patterns: a department's list, and one request's flags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import NotFound
from open311.models import Pattern, PatternKind, PatternRequest, ServiceRequest

PAGE_LIMIT = 1000


def of_department(
    session: Session, department: str, kind: PatternKind | None = None
) -> Sequence[Pattern]:
    """A department's patterns, the most requests first."""
    stmt = sa.select(Pattern).where(Pattern.department == department)
    if kind is not None:
        stmt = stmt.where(Pattern.kind == kind)
    stmt = stmt.order_by(
        Pattern.requests.desc(), Pattern.last_requested_at.desc(), Pattern.id
    ).limit(PAGE_LIMIT)
    return session.scalars(stmt).all()


def with_numbers(session: Session, found: Sequence[Pattern]) -> list[tuple[Pattern, list[str]]]:
    """Each pattern with its requests' numbers, oldest first."""
    numbers: dict[int, list[str]] = {pattern.id: [] for pattern in found}
    if numbers:
        stmt = (
            sa.select(PatternRequest.pattern_id, ServiceRequest.number)
            .join(ServiceRequest, ServiceRequest.id == PatternRequest.service_request_id)
            .where(PatternRequest.pattern_id.in_(numbers))
            .order_by(ServiceRequest.requested_at, ServiceRequest.id)
        )
        for pattern_id, number in session.execute(stmt):
            numbers[pattern_id].append(number)
    return [(pattern, numbers[pattern.id]) for pattern in found]


def last_computed_at(session: Session) -> datetime | None:
    """When the stored patterns were found (None: no run found any)."""
    return session.scalar(sa.select(sa.func.max(Pattern.computed_at)))


@dataclass(frozen=True)
class Flag:
    """One pattern a request is part of, as a line on its page: "Repeat place:
    1234 W ELM ST, 4 requests since 2 Nov"."""

    kind: PatternKind
    label: str
    requests: int
    first_requested_at: datetime
    last_requested_at: datetime
    computed_at: datetime


def patterns_for_request(session: Session, number: str) -> list[Flag]:
    """The patterns the request `number` is part of (repeat place first); NotFound if
    there is no such request."""
    request_id = session.scalar(sa.select(ServiceRequest.id).where(ServiceRequest.number == number))
    if request_id is None:
        raise NotFound(f"No request {number}.")
    stmt = (
        sa.select(Pattern)
        .join(PatternRequest, PatternRequest.pattern_id == Pattern.id)
        .where(PatternRequest.service_request_id == request_id)
        .order_by(Pattern.kind.desc(), Pattern.id)
    )
    return [
        Flag(p.kind, p.label, p.requests, p.first_requested_at, p.last_requested_at, p.computed_at)
        for p in session.scalars(stmt)
    ]


def flags_for_requests(session: Session, numbers: Sequence[str]) -> dict[str, list[Flag]]:
    """The patterns each of `numbers` is part of, in one query (a queue page's rows);
    numbers in no pattern (or of no request) are absent from the answer."""
    found: dict[str, list[Flag]] = {}
    if not numbers:
        return found
    stmt = (
        sa.select(ServiceRequest.number, Pattern)
        .join(PatternRequest, PatternRequest.service_request_id == ServiceRequest.id)
        .join(Pattern, Pattern.id == PatternRequest.pattern_id)
        .where(ServiceRequest.number.in_(sorted(set(numbers))))
        .order_by(ServiceRequest.number, Pattern.kind.desc(), Pattern.id)
    )
    for number, p in session.execute(stmt):
        found.setdefault(number, []).append(
            Flag(p.kind, p.label, p.requests, p.first_requested_at, p.last_requested_at,
                 p.computed_at)
        )  # fmt: skip
    return found
