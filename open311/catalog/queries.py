"""Reads of the service catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import NotFound
from open311.models import Service


def active_services(session: Session) -> Sequence[Service]:
    stmt = sa.select(Service).where(Service.active).order_by(Service.group, Service.name)
    return session.scalars(stmt).all()


def active_service(session: Session, code: str) -> Service:
    """The active service with this code; NotFound (404) otherwise."""
    service = session.get(Service, code)
    if service is None or not service.active:
        raise NotFound(f"service_code {code!r} is not a service of this jurisdiction.")
    return service


def service_names(session: Session) -> dict[str, str]:
    """Every service's name by its code, the inactive ones' too (their requests keep them)."""
    return {code: name for code, name in session.connection().execute(_NAMES)}


_NAMES = sa.select(Service.code, Service.name)  # built once: every page of requests runs it


def last_changed(session: Session) -> datetime | None:
    """When the catalogue last changed: discovery's changeset."""
    return session.scalar(sa.select(sa.func.max(Service.changed_at)))
