"""The files a form sends in `media` (or `media[]`), read and bounded, for every
interface that takes photos (GeoReport's POST, the site's form)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict

from open311.database import begin_write
from open311.errors import InvalidRequest
from open311.media.pipeline import Limits, Photo, process_all

MEDIA_FIELDS = ("media", "media[]")


def uploads(files: MultiDict[str, FileStorage], max_files: int, max_bytes: int) -> list[bytes]:
    """The files sent in `media` (or `media[]`), read; InvalidRequest naming `media`
    for too many, an empty one or one too large, and for files in any other field."""
    others = sorted({key for key in files if key not in MEDIA_FIELDS})
    if others:
        raise InvalidRequest(f"{others[0]}: files are accepted only in media (up to {max_files}).")
    sent = [upload for key in MEDIA_FIELDS for upload in files.getlist(key)]
    if len(sent) > max_files:
        raise InvalidRequest(f"media: at most {max_files} photos, not {len(sent)}.")
    found = []
    for number, upload in enumerate(sent, start=1):
        data = upload.stream.read(max_bytes + 1)
        if not data and not upload.filename:
            continue  # a form's file input left empty: no photo, not a bad one
        if not data:
            raise InvalidRequest(f"media (file {number}): the file is empty.")
        if len(data) > max_bytes:
            raise InvalidRequest(
                f"media (file {number}): the file is larger than {max_bytes // (1024 * 1024)} MB."
            )
        found.append(data)
    return found


def posted_photos(
    session: Session, files: MultiDict[str, FileStorage], config: Mapping[str, Any]
) -> tuple[Photo, ...]:
    """The photos a form sent, cleaned; InvalidRequest naming media for a bad one.

    Every interface that files with photos (GeoReport's POST, the site's form)
    calls this, so both take the same files and refuse them with the same words.
    Decoding takes a CPU moment per photo: SQLite's write lock, taken when the
    POST began (database.py), is let go meanwhile, so other filings go on, and
    taken again before the filing writes.
    """
    limits = Limits.from_config(config)
    sent = uploads(files, int(config["MEDIA_MAX_FILES"]), limits.max_bytes)
    if not sent:
        return ()
    session.rollback()
    photos = process_all(sent, limits)
    begin_write(session)
    return photos
