"""The feeds over HTTP: streamed as they are read, with GET /requests' filters."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from flask import Blueprint, Response, current_app, request, stream_with_context

from open311 import parameters
from open311.errors import InvalidRequest, Open311Error
from open311.extensions import db
from open311.georeport.schemas import request_filter
from open311.models.base import utcnow
from open311.opendata.feeds import FEEDS

bp = Blueprint("feeds", __name__, url_prefix="/open311/feeds")
bp.before_request(parameters.one_value_each)
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "ndjson": "application/x-ndjson",
}


@bp.get("/requests.<any(csv, geojson, ndjson):fmt>")
def requests_feed(fmt: str) -> Response:
    """Every accepted request, or those the GET /requests filters pick; no dates means all."""
    time_zone = current_app.extensions["open311.jurisdiction"].time_zone
    max_page_size = current_app.config["MAX_PAGE_SIZE"]
    where = request_filter(request.args, time_zone, utcnow(), max_page_size, default_window=False)
    if where.nearest:
        raise InvalidRequest("nearest: a feed has every matching request; use radius instead.")

    def chunks() -> Iterator[bytes]:
        # The session is taken once the stream starts: the view's own is closed
        # when it returns, and this one when the last chunk has been sent.
        yield from FEEDS[fmt](db.session(), where, time_zone)

    return Response(stream_with_context(chunks()), content_type=CONTENT_TYPES[fmt])


@bp.errorhandler(Open311Error)
def feed_error(error: Open311Error) -> Response:
    """A bad filter, answered before the feed starts: GeoReport's errors, in JSON."""
    errors = [{"code": error.code, "description": text} for text in error.descriptions]
    return Response(
        orjson.dumps(errors), status=error.code, content_type="application/json; charset=utf-8"
    )
