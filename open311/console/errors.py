"""The console's error pages: the domain's own words, in the console's layout, through
the edge's one error mechanism (rollback, headers, outages as 503)."""

from __future__ import annotations

from flask import Blueprint, Response, g, render_template

from open311.console import layout
from open311.edge.errors import install_error_handlers
from open311.pages.i18n import _


def install(bp: Blueprint) -> None:
    install_error_handlers(bp, render_errors)


def render_errors(pairs: list[tuple[int, str]], status: int) -> Response:
    body = render_template(
        "console/error.html",
        title=_title(status),
        code=status,
        descriptions=[description for _code, description in pairs],
        **layout.page_context(),
        viewer=g.get("console_staff"),
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def _title(code: int) -> str:
    titles = {
        400: _("Something in the form needs a change"),
        403: _("You may not do that"),
        404: _("We could not find that page"),
        409: _("That cannot be done now"),
        429: _("Too many attempts: wait a moment"),
        503: _("The service is busy: try again soon"),
    }
    return titles.get(code, _("Something went wrong") if code >= 500 else _("That did not work"))
