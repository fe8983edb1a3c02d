"""Security headers on every response: what browsers need to keep our pages and our data
from being sniffed, framed or scripted by someone else.

A view may set any of these itself (a page whose URL holds a token sends
`Referrer-Policy: no-referrer`): the defaults are only added where it did not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response

HSTS = "max-age=31536000"  # a year: browsers keep to HTTPS across long gaps between visits
# The site's pages load their scripts, styles and fonts from us only, and nothing
# inline, so an injected <script> or style attribute does nothing. Images may
# also be data: URIs (the design system's icons), come from the map's tile server
# (MAP_TILES_URL) and from CSP_IMG_SOURCES.
PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "frame-ancestors": "'none'",  # no one frames our pages (clickjacking)
    "base-uri": "'none'",
    "form-action": "'self'",
}


def init_app(app: Flask) -> None:
    app.after_request(security_headers(app.config))


def security_headers(config: Mapping[str, Any]) -> Callable[[Response], Response]:
    """An after_request function adding the headers the config calls for."""
    everywhere = {"X-Content-Type-Options": "nosniff"}  # a body is what its type says
    if config["SERVED_OVER_HTTPS"]:
        everywhere["Strict-Transport-Security"] = HSTS
    on_pages = {
        "Content-Security-Policy": content_security_policy(config),
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP 2
        # Other sites learn that a visitor came from us, not from which page.
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }

    def add_headers(response: Response) -> Response:
        headers = everywhere | on_pages if response.mimetype == "text/html" else everywhere
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    return add_headers


def content_security_policy(config: Mapping[str, Any]) -> str:
    directives = dict(PAGE_POLICY)
    extra_images = _sources(config["CSP_IMG_SOURCES"]) + _tile_origin(config.get("MAP_TILES_URL"))
    if extra_images:
        directives["img-src"] += " " + " ".join(extra_images)
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _tile_origin(template: str | None) -> list[str]:
    """The map's tile server (MAP_TILES_URL's scheme and host): the site's map shows its
    images, so a city that changes the setting need not repeat it in CSP_IMG_SOURCES."""
    parts = urlsplit(template or "")
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


def _sources(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """A list of sources, or one string of them separated by spaces or commas."""
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    sources = [item.strip() for item in items if item.strip()]
    for source in sources:
        if ";" in source or "'" in source:  # a directive, or a keyword such as 'unsafe-inline'
            raise ValueError(f"CSP_IMG_SOURCES: {source!r} is not a host or scheme source.")
    return sources
