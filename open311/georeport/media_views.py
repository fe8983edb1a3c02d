"""Photos over HTTP, under /open311/v2/media: served, and read for their position.

Under the API's own prefix, beside the requests whose media_url points here:
one proxy rule, one CORS rule and one error format cover them, and the
resident site's paths at / stay its own.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from open311.edge.errors import install_error_handlers
from open311.errors import InvalidRequest, NotFound
from open311.extensions import db
from open311.formats import render
from open311.georeport.errors import render_errors
from open311.media import actions as media_actions
from open311.media import pipeline, queries, uploads
from open311.media import storage as media_storage
from open311.media.actions import Destination
from open311.media.storage import Storage

bp = Blueprint("media", __name__, url_prefix="/open311/v2/media")
install_error_handlers(bp, render_errors)  # GeoReport's errors: XML for a photo's URL


class PhotoName(BaseConverter):
    """A photo's file name (`<sha256>.jpg`, `<sha256>.thumb.png`, …) and nothing else, so
    that /media/positions.json is not also a GET route (its Allow says POST only)."""

    regex = r"[0-9a-f]{64}(?:\.thumb)?\.(?:jpg|png)"


@bp.record_once
def _photo_names(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["photo_name"] = PhotoName


# Content-hashed names never change their bytes: a year, and no revalidation.
CACHE_CONTROL = "public, max-age=31536000, immutable"
# Nothing in a photo may run: no scripts, no plugins, no navigation, not even as a page.
PHOTO_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


def storage() -> Storage:
    return media_storage.for_app(current_app)


def limits() -> pipeline.Limits:
    return pipeline.Limits.from_config(current_app.config)


def destination() -> Destination:
    """Where photos go, and our public address: PUBLIC_BASE_URL, else this request's host."""
    return media_actions.destination(current_app, request.host_url)


def posted_photos() -> tuple[pipeline.Photo, ...]:
    """The photos of this POST, cleaned (media/uploads.py, shared with the site's form)."""
    return uploads.posted_photos(db.session(), request.files, current_app.config)


@bp.post("/positions.<any(json, xml):fmt>")
def photo_positions(fmt: str) -> Response:
    """Where each photo sent in `media` says it was taken, before anything is filed.

    Nothing is stored: the page shows "use where the photo was taken" and
    files with lat/long only if the resident says so.
    """
    config = current_app.config
    sent = uploads.uploads(request.files, config["MEDIA_MAX_FILES"], limits().max_bytes)
    if not sent:
        raise InvalidRequest("media: send at least one photo.")
    found = pipeline.positions(sent, limits())
    return render.document(
        "photo_positions",
        [{"lat": p.lat if p else None, "long": p.long if p else None} for p in found],
        fmt,
    )


@bp.get("/<photo_name:file_name>")
def photo(file_name: str) -> Response:
    served = queries.servable(db.session(), file_name)
    data = storage().get(served.name) if served else None
    if served is None or data is None:
        raise NotFound(f"No photo {file_name!r}.")
    response = Response(data, content_type=served.content_type, headers=PHOTO_HEADERS)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.set_etag(file_name)
    response.make_conditional(request)  # 304 for a client that has it
    return response


@bp.after_request
def _photo_headers(response: Response) -> Response:
    """Errors here too: nothing under /media is ever sniffed or run."""
    response.headers.update(PHOTO_HEADERS)
    return response
