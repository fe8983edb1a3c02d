"""Open311 GeoReport v2 server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from open311 import config, database, feeds, georeport, staff
from open311.cli import open311_cli
from open311.extensions import db
from open311.jurisdiction import Jurisdiction
from open311.parameters import StrictRequest


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the application."""
    app = Flask(__name__, instance_relative_config=True)
    app.request_class = StrictRequest  # form bodies: UTF-8 or a 400, never emptied
    config.load(app, test_config)
    database.configure(app)

    db.init_app(app)
    database.init_app(app)
    app.extensions["open311.jurisdiction"] = Jurisdiction.from_config(app.config)
    georeport.init_app(app)
    feeds.init_app(app)
    staff.init_app(app)
    app.cli.add_command(open311_cli)
    return app
