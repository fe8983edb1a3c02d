"""Reads of the service catalogue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import NotFound
from open311.models import Service, ServiceRequest


def active_services(session: Session) -> Sequence[Service]:
    stmt = sa.select(Service).where(Service.active).order_by(Service.group, Service.name)
    return session.scalars(stmt).all()


def active_service(session: Session, code: str) -> Service:
    """The active service with this code; NotFound (404) otherwise."""
    service = session.get(Service, code)
    if service is None or not service.active:
        raise NotFound(f"service_code {code!r} is not a service of this jurisdiction.")
    return service


def questions(session: Session, code: str) -> list[dict[str, Any]]:
    """A service's questions, an inactive one's too (its requests keep their answers)."""
    service = session.get(Service, code)
    return list(service.attributes) if service is not None else []


def service_names(session: Session) -> dict[str, str]:
    """Every service's name by its code, the inactive ones' too (their requests keep them)."""
    return {code: name for code, name in session.connection().execute(_NAMES)}


_NAMES = sa.select(Service.code, Service.name)  # built once: every page of requests runs it


def last_changed(session: Session) -> datetime | None:
    """When the catalogue last changed: discovery's changeset."""
    return session.scalar(sa.select(sa.func.max(Service.changed_at)))


def matching_services(
    services: Sequence[Service],
    words: Sequence[str],
    other_names: Mapping[str, str] | None = None,
) -> list[Service]:
    """The services whose name, keywords or group hold any of `words`, best first.

    `other_names` (by code) count as names too: the page's language ("bache"
    finds the pothole service in Spanish).

    A word in the name counts most, then a keyword, then the group; a word
    matches the start of a word of the service ("pot" finds "pothole"). The
    catalogue is a few hundred services: matching in Python keeps both
    databases alike.
    """
    names = other_names or {}
    scored = [
        (_score(service, words, names.get(service.code, "")), service) for service in services
    ]
    ranked = sorted(
        ((score, service) for score, service in scored if score), key=lambda pair: -pair[0]
    )
    return [service for _score_of, service in ranked]


_NAME_WEIGHT, _KEYWORD_WEIGHT, _GROUP_WEIGHT = 4, 2, 1


def _score(service: Service, words: Sequence[str], other_name: str) -> int:
    fields = (
        (_NAME_WEIGHT, f"{service.name} {other_name}"),
        (_KEYWORD_WEIGHT, service.keywords.replace(",", " ")),
        (_GROUP_WEIGHT, service.group),
    )
    score = 0
    for weight, text in fields:
        have = text.lower().split()
        score += weight * sum(any(w.startswith(word) for w in have) for word in words)
    return score


RECENT_REQUESTS = 5000  # "most used" counts the latest requests only: bounded work at any size


def most_requested(session: Session, limit: int) -> list[Service]:
    """The active services most requested among the latest requests; none without requests."""
    recent = (
        sa.select(ServiceRequest.service_code)
        .order_by(ServiceRequest.requested_at.desc())
        .limit(RECENT_REQUESTS)
        .subquery()
    )
    counted = (
        sa.select(Service)
        .join(recent, recent.c.service_code == Service.code)
        .where(Service.active)
        .group_by(Service.code)
        .order_by(sa.func.count().desc(), Service.name)
        .limit(limit)
    )
    return list(session.scalars(counted))
