"""The staff API: departments work requests through open311.workflow."""

from __future__ import annotations

from flask import Flask

from open311.staff.views import WorkflowActionConverter, bp


def init_app(app: Flask) -> None:
    app.url_map.converters["workflow_action"] = WorkflowActionConverter
    app.register_blueprint(bp)
