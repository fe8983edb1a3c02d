"""Writes for photos: attach them to a new request, hide one. Callers own the transaction.

Files are written last, after every row of the filing is flushed, and removed
again if the transaction rolls back: a filing that fails leaves no file behind.
A worker killed between the write and the commit leaves files no row names;
`flask open311 sweep-media` removes those (sweep, below).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from open311 import sandbox
from open311.errors import Conflict, NotFound
from open311.media import queries
from open311.media import storage as media_storage
from open311.media.pipeline import Photo
from open311.media.storage import Storage
from open311.models import RequestPhoto, ServiceRequest, Staff
from open311.workflow import actions as workflow_actions
from open311.workflow import permissions
from open311.workflow.permissions import Operation

PATH = "/open311/v2/media/"  # where photos are served (georeport/media_views.py)
HIDE = "hide_photo"  # the history row's action: staff-only, it tells no subscriber
_WRITTEN = "open311.media.written"  # session.info: files this transaction created


@dataclass(frozen=True)
class Destination:
    """Where a filing's photos go, and the public address they are served from."""

    storage: Storage
    base_url: str  # PUBLIC_BASE_URL, or the request's own host when that is empty
    path: str = PATH  # the partner sandbox serves its own photos under its prefix

    def url(self, name: str) -> str:
        return photo_url(self.base_url, name, self.path)


def destination(app: Flask, host_url: str) -> Destination:
    """Where the app's photos go, served from PUBLIC_BASE_URL, else the host the caller reached."""
    return Destination(
        media_storage.for_app(app),
        app.config["PUBLIC_BASE_URL"] or host_url,
        f"{sandbox.api_root(app.config)}/v2/media/",
    )


def photo_url(base_url: str, name: str, path: str = PATH) -> str:
    """Our public URL of a photo file."""
    return f"{base_url.rstrip('/')}{path}{name}"


def attach_photos(
    session: Session,
    service_request: ServiceRequest,
    photos: Sequence[Photo],
    destination: Destination,
    now: datetime,
) -> None:
    """Rows for `photos` (position 1, 2, …), then their files; call it last in a filing."""
    for position, photo in enumerate(photos, start=1):
        session.add(
            RequestPhoto(
                service_request_id=service_request.id,
                position=position,
                digest=photo.digest,
                ext=photo.ext,
                width=photo.display.width,
                height=photo.display.height,
                thumbnail_width=photo.thumbnail.width,
                thumbnail_height=photo.thumbnail.height,
                created_at=now,
            )
        )
    session.flush()
    for photo in photos:
        _put(session, destination.storage, photo.name, photo.display.data, photo.content_type)
        _put(
            session,
            destination.storage,
            photo.thumbnail_name,
            photo.thumbnail.data,
            photo.content_type,
        )


def _put(session: Session, storage: Storage, name: str, data: bytes, content_type: str) -> None:
    """Store a file; one this transaction created goes again if it rolls back."""
    if not event.contains(session, "after_rollback", _remove_written):
        event.listen(session, "after_rollback", _remove_written)
        event.listen(session, "after_commit", _keep_written)
    if storage.put(name, data, content_type):
        session.info.setdefault(_WRITTEN, []).append((storage, name))


# Both events fire for savepoints too: only the transaction's own end decides. A
# savepoint rolled back around written files leaves them to the sweep (never the
# other way round: a file is only removed when nothing can have committed its row).


def _remove_written(session: Session) -> None:
    if not session.in_nested_transaction():
        for storage, name in session.info.pop(_WRITTEN, []):
            storage.delete(name)


def _keep_written(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_WRITTEN, None)


def hide_photo(
    session: Session,
    number: str,
    position: int,
    reason: str,
    staff: Staff,
    base_url: str,
    now: datetime,
) -> RequestPhoto:
    """Staff hide photo `position` of request `number`: its URLs answer 404 from now on.

    The row keeps who hid it, when and why, and so does the request's history
    (an internal note: the public is not told what was in the photo).
    """
    service_request = workflow_actions.locked_request(session, number)
    permissions.require(staff, Operation.HIDE_PHOTO, service_request.agency_responsible)
    photo = session.scalar(
        sa.select(RequestPhoto).where(
            RequestPhoto.service_request_id == service_request.id,
            RequestPhoto.position == position,
        )
    )
    if photo is None:
        raise NotFound(f"Request {number} has no photo {position}.")
    if photo.hidden_at is not None:
        raise Conflict(f"Photo {position} of request {number} is already hidden.")
    photo.hidden_at, photo.hidden_by_staff_id, photo.hidden_reason = now, staff.id, reason
    session.flush()
    visible = queries.visible_photos(session, [number]).get(number, [])
    service_request.media_url = photo_url(base_url, visible[0].name) if visible else None
    service_request.updated_at = now  # pollers (updated_after) see media_url change
    workflow_actions.record(
        session,
        service_request,
        HIDE,
        workflow_actions.Actor.of_staff(staff),
        now,
        internal_note=reason,
        details={"photo": position, "digest": photo.digest},
    )
    return photo


def sweep(session: Session, storage: Storage, now: datetime, grace: timedelta) -> list[str]:
    """Remove files older than `grace` that no photo row names; the names removed.

    The grace keeps files a filing in flight has written and not yet committed.
    Hidden photos' files stay: their rows still name them.
    """
    named = queries.stored_digests(session)
    removed = []
    for stored in storage.list():
        if stored.modified_at > now - grace or stored.name.split(".", 1)[0] in named:
            continue
        storage.delete(stored.name)
        removed.append(stored.name)
    return removed
