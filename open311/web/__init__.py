"""The resident site at /: server-rendered pages, in English and Spanish, that work
without JavaScript (the map only enhances them)."""

from __future__ import annotations

from flask import Flask

from open311.web import account, i18n, installable
from open311.web.views import bp

__all__ = ["account", "init_app", "installable"]  # their routes join bp when imported


def init_app(app: Flask) -> None:
    i18n.init_app(app)
    app.register_blueprint(bp)
