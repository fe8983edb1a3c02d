"""The site's error pages: the API's own words, as an HTML page in the site's layout.

`install(bp)` registers the handlers on a blueprint, so they answer only for
its pages (the APIs keep their <errors> and JSON arrays).
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from werkzeug.exceptions import HTTPException

from open311.errors import Open311Error
from open311.extensions import db
from open311.web.i18n import _

Page = tuple[str, int, dict[str, str]]


def install(bp: Blueprint) -> None:
    bp.register_error_handler(Open311Error, domain_error)
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(Exception, unexpected_error)


def domain_error(error: Open311Error) -> Page:
    db.session.rollback()  # nothing a failed request did is kept
    return _page(error.code, error.descriptions, error.headers)


def http_error(error: HTTPException) -> Page:
    code = error.code or 500
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return _page(code, [error.description or error.name], headers)


def unexpected_error(error: Exception) -> Page:
    current_app.logger.exception("unhandled error on %s", request.path)
    db.session.rollback()
    return _page(500, ["Internal error; the request was not stored."], {})


def _title(code: int) -> str:
    titles = {
        400: _("Something in the form needs a change"),
        404: _("We could not find that page"),
        409: _("That cannot be done now"),
        429: _("Too many requests: wait a moment"),
        503: _("The service is busy: try again soon"),
    }
    return titles.get(code, _("Something went wrong") if code >= 500 else _("That did not work"))


def _page(code: int, descriptions: list[str], headers: dict[str, str]) -> Page:
    body = render_template(
        "web/error.html", title=_title(code), code=code, descriptions=descriptions
    )
    return body, code, {**headers, "Content-Type": "text/html; charset=utf-8"}
