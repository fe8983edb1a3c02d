"""Every error under /open311 answers in the caller's format, as <errors> or a JSON array."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from open311.database import as_unavailable
from open311.errors import Open311Error
from open311.extensions import db
from open311.formats import render

PREFIX = "/open311/"


def register_error_handlers(app: Flask) -> None:
    # App-level, not bp.errorhandler: 404s and 405s from routing never reach a blueprint.
    @app.errorhandler(Open311Error)
    def domain_error(error: Open311Error) -> Response:
        db.session.rollback()  # nothing a failed request did is kept
        response = render.errors([(error.code, d) for d in error.descriptions], status=error.code)
        response.headers.update(error.headers)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | HTTPException:
        if not request.path.startswith(PREFIX):
            return error
        code = error.code or 500
        response = render.errors([(code, error.description or error.name)], status=code)
        # Keep what the exception says beyond its body: Allow on a 405 (RFC 9110),
        # Retry-After on a 429 or 503.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        if unavailable := as_unavailable(error):  # an outage: 503, logged in one line
            return domain_error(unavailable)
        # A bug, not the client's fault: log it, keep nothing, answer in format.
        current_app.logger.exception("unhandled error on %s", request.path)
        db.session.rollback()
        return render.errors([(500, "Internal error; the request was not stored.")], status=500)
