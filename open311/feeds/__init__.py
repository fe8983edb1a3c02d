"""Open-data feeds at /open311/feeds/: every public request as CSV, GeoJSON or NDJSON."""

from __future__ import annotations

from flask import Flask

from open311.feeds.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
