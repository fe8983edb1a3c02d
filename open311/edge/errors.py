"""One way to answer errors, installed on each blueprint with that blueprint's renderer.

A blueprint knows its format (GeoReport's routes have a `fmt`, the staff API and the
feeds speak JSON, pages speak HTML), so each one renders its own errors: it calls
`install_error_handlers(bp, render_errors)` where `render_errors(pairs, status)` turns
(code, description) pairs into a Response. What is common to every format lives here:
nothing a failed request wrote is kept, the headers an error calls for are sent, and an
unexpected exception is logged and answered 500 in the blueprint's format.

Flask looks for a handler among the blueprint's first (across the exception's whole
class hierarchy), then among the app's. Routing errors (404 on an unknown path, 405 on
a wrong method) belong to no blueprint: `install_fallback_handlers` answers them by the
path's prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from open311.database import as_unavailable
from open311.errors import Open311Error
from open311.extensions import db

RenderErrors = Callable[[list[tuple[int, str]], int], Response]
Pairs = list[tuple[int, str]]

INTERNAL_ERROR = "Internal error; the request was not stored."
# An answer lists this many problems at most, then says how many more there were: a
# form with 100,000 unknown attributes would otherwise get an answer of megabytes.
MAX_PROBLEMS = 20


def classify(error: Exception) -> Open311Error | None:
    """The error a client can act on that an unexpected exception stands for, if any.

    None means a bug: it is logged and answered 500. This is the one place where
    exceptions from below (a database outage, say) are turned into client errors.
    """
    return as_unavailable(error)  # logs the outage in one line, without a traceback


def install_error_handlers(scope: Flask | Blueprint, render_errors: RenderErrors) -> None:
    """Answer every error raised under `scope` (a blueprint, or the app) with render_errors."""

    def domain_error(error: Open311Error) -> Response:
        pairs = [(error.code, text) for text in error.descriptions]
        return _answer(render_errors, pairs, error.code, error.headers.items())

    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        # Keep what the exception says beyond its body: Allow on a 405 (RFC 9110),
        # Retry-After on a 429 or 503.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return _answer(render_errors, [(code, error.description or error.name)], code, headers)

    def unexpected_error(error: Exception) -> Response:
        known = classify(error)
        if known is not None:
            return domain_error(known)
        # A bug, not the client's fault: log it, keep nothing, answer in format.
        current_app.logger.exception("unhandled error on %s", request.path)
        return _answer(render_errors, [(500, INTERNAL_ERROR)], 500, ())

    scope.register_error_handler(Open311Error, domain_error)
    scope.register_error_handler(HTTPException, http_error)
    scope.register_error_handler(Exception, unexpected_error)


def install_fallback_handlers(
    app: Flask, by_prefix: Mapping[str, RenderErrors], default: RenderErrors
) -> None:
    """Errors no blueprint owns (unknown paths, wrong methods, the app's own hooks) answer
    with the renderer of the longest prefix of the path, else with `default`."""
    longest_first = sorted(by_prefix.items(), key=lambda item: len(item[0]), reverse=True)

    def render_unowned(pairs: Pairs, status: int) -> Response:
        for prefix, render_errors in longest_first:
            if request.path.startswith(prefix):
                return render_errors(pairs, status)
        return default(pairs, status)

    install_error_handlers(app, render_unowned)


def _answer(
    render_errors: RenderErrors, pairs: Pairs, status: int, headers: Iterable[tuple[str, str]]
) -> Response:
    db.session.rollback()  # nothing a failed request did is kept
    response = render_errors(at_most(pairs, MAX_PROBLEMS), status)
    for name, value in headers:
        response.headers[name] = value
    return response


def at_most(pairs: Pairs, limit: int) -> Pairs:
    """The first `limit` problems, then one more entry that says how many were left out
    (one left out is simply listed: the entry saying so would take its place)."""
    if len(pairs) <= limit + 1:
        return pairs
    left_out = len(pairs) - limit
    return [*pairs[:limit], (pairs[limit][0], f"and {left_out} more problems.")]
