"""The site's error pages: the API's own words, as an HTML page in the site's layout.

`install(bp)` gives a blueprint the edge's one error mechanism (open311/edge/errors.py:
rollback, headers, outages as 503, bugs logged) with this page as its renderer, so the
APIs keep their <errors> and JSON arrays.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from open311.edge.errors import install_error_handlers
from open311.web import layout
from open311.web.i18n import _


def install(bp: Blueprint) -> None:
    install_error_handlers(bp, render_errors)


def render_errors(pairs: list[tuple[int, str]], status: int) -> Response:
    descriptions = [description for _code, description in pairs]
    body = render_template(
        "web/error.html",
        title=_title(status),
        code=status,
        descriptions=descriptions,
        **layout.page_context(),
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def _title(code: int) -> str:
    titles = {
        400: _("Something in the form needs a change"),
        404: _("We could not find that page"),
        409: _("That cannot be done now"),
        410: _("This link no longer works"),
        429: _("Too many requests: wait a moment"),
        503: _("The service is busy: try again soon"),
    }
    return titles.get(code, _("Something went wrong") if code >= 500 else _("That did not work"))
