"""GeoReport's errors: <errors> or a JSON array, in the format the caller asked for."""

from __future__ import annotations

from flask import Response, request

from open311.formats import render

PREFIX = "/open311/"
FORMATS = ("json", "xml")


def render_errors(pairs: list[tuple[int, str]], status: int) -> Response:
    """In the route's own format (its `fmt`); XML, the spec's required format, when it has
    none (the HTML pages of links in messages)."""
    fmt = (request.view_args or {}).get("fmt")
    return render.errors(pairs, status, fmt if fmt in FORMATS else "xml")


def render_errors_by_suffix(pairs: list[tuple[int, str]], status: int) -> Response:
    """For a path no route matched: JSON when it ends in .json, else XML."""
    fmt = "json" if request.path.rstrip("/").endswith(".json") else "xml"
    return render.errors(pairs, status, fmt)
