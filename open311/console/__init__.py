"""The staff console at /console: the department's queue, the request page with every
workflow action the viewer may take, and staff accounts, over the same domain
functions as the staff API (open311/workflow, open311/accounts)."""

from __future__ import annotations

from flask import Flask

from open311.console import errors, intake, supervisor
from open311.console.views import PREFIX, bp

__all__ = ["PREFIX", "errors", "init_app", "intake", "supervisor"]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
