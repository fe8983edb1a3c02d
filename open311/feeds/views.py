"""The feeds over HTTP: streamed as they are read, with GET /requests' filters, and
resumable: `after=<service_request_id>` goes on after the last request received."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from flask import Blueprint, Response, current_app, request, stream_with_context

from open311.errors import InvalidRequest, Open311Error
from open311.extensions import db
from open311.georeport.schemas import request_filter
from open311.models.base import utcnow
from open311.opendata.feeds import FEEDS, RESUME_FIELDS, resume_after

bp = Blueprint("feeds", __name__, url_prefix="/open311/feeds")
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
    after = request.args.get("after")
    start = 0 if after is None else resume_after(db.session(), after)

    def chunks() -> Iterator[bytes]:
        # The session is taken once the stream starts: the view's own is closed
        # when it returns, and this one when the last chunk has been sent.
        yield from FEEDS[fmt](db.session(), where, time_zone, start)

    response = Response(stream_with_context(chunks()), content_type=CONTENT_TYPES[fmt])
    # A download that broke resumes with ?after= this field of the last complete record.
    response.headers["Open311-Resume-Field"] = RESUME_FIELDS[fmt]
    return response


@bp.errorhandler(Open311Error)
def feed_error(error: Open311Error) -> Response:
    """A bad filter, answered before the feed starts: GeoReport's errors, in JSON."""
    errors = [{"code": error.code, "description": text} for text in error.descriptions]
    return Response(
        orjson.dumps(errors), status=error.code, content_type="application/json; charset=utf-8"
    )
