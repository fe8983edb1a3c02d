"""The files a form sends in `media` (or `media[]`), read and bounded, for every
interface that takes photos (GeoReport's POST, the site's form)."""

from __future__ import annotations

from werkzeug.datastructures import FileStorage, MultiDict

from open311.errors import InvalidRequest

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
