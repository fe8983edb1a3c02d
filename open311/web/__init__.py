"""The resident site at /: server-rendered pages, in English and Spanish, that work
without JavaScript (the map only enhances them)."""

from __future__ import annotations

from flask import Flask

from open311.web import i18n, installable, patterns  # noqa: F401  (they add their routes to bp)
from open311.web.views import bp


def init_app(app: Flask) -> None:
    i18n.init_app(app)
    app.register_blueprint(bp)
