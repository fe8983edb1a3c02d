"""Reads of photos: which are public, and which files rows still name."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import Intake, RequestPhoto, ServiceRequest

# <sha256>.jpg, <sha256>.thumb.jpg (or .png): the only names a photo's files have.
FILE_NAME: Final = re.compile(r"^(?P<digest>[0-9a-f]{64})(?P<thumb>\.thumb)?\.(?P<ext>jpg|png)$")
CONTENT_TYPES: Final = {"jpg": "image/jpeg", "png": "image/png"}


@dataclass(frozen=True)
class ServedFile:
    """A file a URL may serve: its name in the storage and its type."""

    name: str
    content_type: str


def visible_photos(session: Session, numbers: Sequence[str]) -> dict[str, list[RequestPhoto]]:
    """The photos of these requests that are not hidden, by number, in position order."""
    if not numbers:
        return {}
    rows = session.execute(
        sa.select(ServiceRequest.number, RequestPhoto)
        .join(RequestPhoto, RequestPhoto.service_request_id == ServiceRequest.id)
        .where(ServiceRequest.number.in_(numbers), RequestPhoto.hidden_at.is_(None))
        .order_by(RequestPhoto.service_request_id, RequestPhoto.position)
    )
    found: dict[str, list[RequestPhoto]] = {}
    for number, photo in rows:
        found.setdefault(number, []).append(photo)
    return found


def servable(session: Session, file_name: str) -> ServedFile | None:
    """The file behind a public URL, or None: no such photo, or one staff hid, or
    one whose request is not public (waiting for review, rejected).

    Two requests filed with the same photo share its files: once staff hide it
    on either, it is served for neither (a face is a face on both).
    """
    match = FILE_NAME.match(file_name)
    if match is None:
        return None
    rows = session.execute(
        sa.select(RequestPhoto.hidden_at, ServiceRequest.intake, RequestPhoto.ext)
        .join(ServiceRequest, ServiceRequest.id == RequestPhoto.service_request_id)
        .where(RequestPhoto.digest == match["digest"])
    ).all()
    if not rows or any(hidden is not None for hidden, _intake, _ext in rows):
        return None
    if not any(intake is Intake.ACCEPTED and ext == match["ext"] for _h, intake, ext in rows):
        return None
    return ServedFile(file_name, CONTENT_TYPES[match["ext"]])


def stored_digests(session: Session) -> set[str]:
    """Every digest a photo row names, hidden ones included."""
    return set(session.scalars(sa.select(RequestPhoto.digest).distinct()))


def photos_for_staff(session: Session, service_request_id: int) -> list[RequestPhoto]:
    """Every photo of a request, hidden ones too (with who hid it and why), by position."""
    return list(
        session.scalars(
            sa.select(RequestPhoto)
            .where(RequestPhoto.service_request_id == service_request_id)
            .order_by(RequestPhoto.position)
        )
    )
