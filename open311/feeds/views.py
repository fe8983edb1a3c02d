"""The feeds over HTTP: streamed as they are read, with GET /requests' filters, and
resumable: `after=<service_request_id>` goes on after the last request received."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from flask import Blueprint, Response, current_app, request, stream_with_context

from open311 import parameters
from open311.database import as_unavailable, ensure_available
from open311.edge.errors import install_error_handlers
from open311.errors import InvalidRequest
from open311.extensions import db
from open311.models.base import utcnow
from open311.opendata.feeds import FEEDS, RESUME_FIELDS, resume_after
from open311.service_requests.filters import request_filter

PREFIX = "/open311/feeds"


def render_errors(pairs: list[tuple[int, str]], status: int) -> Response:
    """A bad filter, answered before the feed starts: GeoReport's errors, in JSON."""
    errors = [{"code": code, "description": text} for code, text in pairs]
    return Response(orjson.dumps(errors), status=status, content_type="application/json")


bp = Blueprint("feeds", __name__, url_prefix=PREFIX)
install_error_handlers(bp, render_errors)
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
    after = request.args.get("after")
    start = 0 if after is None else resume_after(db.session(), after)

    ensure_available(db.session())  # an outage is a 503 before the first byte, not after

    def chunks() -> Iterator[bytes]:
        # The session is taken once the stream starts: the view's own is closed
        # when it returns, and this one when the last chunk has been sent.
        try:
            yield from FEEDS[fmt](db.session(), where, time_zone, start)
        except Exception as error:
            # Mid-stream, a 503 can no longer be sent: end the stream (the outage
            # is logged in one line) rather than leave a traceback per feed.
            if as_unavailable(error) is None:
                raise

    response = Response(stream_with_context(chunks()), content_type=CONTENT_TYPES[fmt])
    # A download that broke resumes with ?after= this field of the last complete record.
    response.headers["Open311-Resume-Field"] = RESUME_FIELDS[fmt]
    return response
