"""What makes the site installable and usable offline: the web app manifest, the
service worker and the page it shows when there is no connection.

The worker is a plain file in static/web/; it is served from /sw.js so that its
scope covers the whole site, with a short cache lifetime so that a new version
reaches phones on their next visit. Its cache name carries a hash of the shell it
keeps, so a deploy that changes any of those files makes browsers install it again.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Final

from flask import Response, current_app, render_template, url_for
from flask_babel import get_locale

from open311.config import PACKAGE_DIR
from open311.web import i18n
from open311.web.i18n import _
from open311.web.views import bp, jurisdiction

WORKER: Final = PACKAGE_DIR / "static" / "web" / "sw.js"
VERSION_MARK: Final = '"dev"'  # sw.js's VERSION, replaced by the shell's hash
THEME_COLOUR: Final = "#1a4480"  # USWDS primary-dark, the site's header
BACKGROUND: Final = "#ffffff"
# What sw.js keeps on install; its list must name the same files (test_installable checks).
SHELL_FILES: Final = (
    "vendor/uswds/css/uswds.min.css",
    # The site's text: without them the offline page would fall back to another typeface.
    "vendor/uswds/fonts/source-sans-pro/sourcesanspro-regular-webfont.woff2",
    "vendor/uswds/fonts/source-sans-pro/sourcesanspro-bold-webfont.woff2",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/leaflet.js",
    "web/site.css",
    "web/outbox.js",
    "web/offline.js",
    "web/city-map.js",
    "web/map.js",
    "web/photos.js",
    "web/icon.svg",
    "web/icon-192.png",
    "web/icon-512.png",
)
TEMPLATES: Final = ("web/offline.html", "web/base.html")


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    name = _("CHI 311")
    body = {
        "name": name,
        "short_name": name,
        "description": _("Report a problem to %(city)s and follow it.", city=jurisdiction().name),
        "lang": str(get_locale() or i18n.DEFAULT_LANGUAGE),
        "start_url": url_for("web.home"),
        "scope": url_for("web.home"),
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND,
        "icons": [
            {"src": url_for("static", filename="web/icon.svg"), "sizes": "any",
             "type": "image/svg+xml"},
            {"src": url_for("static", filename="web/icon-192.png"), "sizes": "192x192",
             "type": "image/png"},
            {"src": url_for("static", filename="web/icon-512.png"), "sizes": "512x512",
             "type": "image/png"},
            {"src": url_for("static", filename="web/icon-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
        ],
    }  # fmt: skip
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    response.vary.add("Accept-Language")  # its name and description are translated
    response.vary.add("Cookie")
    return response


@bp.get("/sw.js")
def service_worker() -> Response:
    response = Response(worker_source(), mimetype="text/javascript")
    # Browsers look for a new worker on every visit; no cache keeps them from seeing it.
    response.cache_control.no_cache = True
    response.cache_control.max_age = 0
    response.headers["Service-Worker-Allowed"] = url_for("web.home")
    # The worker's own policy: it fetches and imports from this site only.
    response.headers["Content-Security-Policy"] = "default-src 'self'"
    return response


@bp.get("/offline")
def offline_page() -> str:
    """What the worker shows for a page it cannot fetch and did not keep."""
    return render_template("web/offline.html")


def worker_source() -> str:
    static = Path(current_app.static_folder or PACKAGE_DIR / "static")
    templates = PACKAGE_DIR / "templates"
    return _worker_source(static, templates)


@cache  # deployed files change only with a restart
def _worker_source(static: Path, templates: Path) -> str:
    digest = hashlib.sha256()
    source = WORKER.read_text(encoding="utf-8")
    for path in [*(static / name for name in SHELL_FILES), *(templates / t for t in TEMPLATES)]:
        digest.update(path.read_bytes())
    digest.update(source.encode())
    return source.replace(VERSION_MARK, json.dumps(digest.hexdigest()[:16]), 1)
