"""Open311 GeoReport v2 server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Flask

from open311 import (
    config,
    console,
    database,
    feeds,
    georeport,
    observability,
    rate_limits,
    replicas,
    sandbox,
    sms,
    staff,
    web,
)
from open311.cli import open311_cli
from open311.edge import headers
from open311.edge.errors import install_fallback_handlers
from open311.extensions import db
from open311.georeport.errors import render_errors_by_suffix
from open311.georeport.paths import TolerantPaths
from open311.jurisdiction import Jurisdiction
from open311.parameters import StrictRequest


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the application."""
    app = Flask(__name__, instance_relative_config=True)
    app.request_class = StrictRequest  # form bodies: UTF-8 or a 400, never emptied
    config.load(app, test_config)
    database.configure(app)

    db.init_app(app)
    observability.init_app(app)  # first of the request hooks: every answer gets an id
    database.init_app(app)
    app.extensions["open311.jurisdiction"] = Jurisdiction.from_config(app.config)
    rate_limits.init_app(app)
    georeport.init_app(app)
    feeds.init_app(app)
    staff.init_app(app)
    web.init_app(app)
    sms.init_app(app)
    console.init_app(app)  # after web: the pages' Flask-Babel is set up there
    init_edge(app)
    replicas.init_app(app)  # last: it wraps every view
    sandbox.init_app(app, lambda: create_sandbox_app(app))
    app.cli.add_command(open311_cli)
    return app


def create_sandbox_app(production: Flask) -> Flask:
    """The partner sandbox under /open311/sandbox: production's settings and jurisdiction,
    its own store and request numbers, and the GeoReport API alone (no site, console,
    staff API or feeds)."""
    app = Flask(__name__, instance_relative_config=True)
    app.request_class = StrictRequest
    app.config.from_mapping(production.config)
    app.config.update(sandbox.settings(production.config))
    database.configure(app)

    db.init_app(app)
    observability.init_app(app)
    database.init_app(app)
    # Production's boundary and geocoder (built once), numbering requests as the sandbox.
    city: Jurisdiction = production.extensions["open311.jurisdiction"]
    app.extensions["open311.jurisdiction"] = replace(
        city, number_prefix=app.config["REQUEST_NUMBER_PREFIX"]
    )
    rate_limits.init_app(app)
    sandbox.require_store(app)
    georeport.init_app(app, url_prefix=sandbox.PREFIX)
    app.wsgi_app = TolerantPaths(app.wsgi_app)  # type: ignore[method-assign]
    app.after_request(georeport.allow_any_origin)
    headers.init_app(app)
    # Every path of the sandbox is the API's: a page, console or staff path is its 404.
    install_fallback_handlers(app, {}, default=render_errors_by_suffix)
    return app


def init_edge(app: Flask) -> None:
    """What no one blueprint owns: the paths clients send, CORS, security headers, and
    errors on unknown paths."""
    app.wsgi_app = TolerantPaths(  # type: ignore[method-assign]
        app.wsgi_app, suffixless=(staff.views.PREFIX,)
    )
    app.after_request(georeport.allow_any_origin)
    headers.init_app(app)
    # Each blueprint answers its own errors; these are for paths none of them matched.
    install_fallback_handlers(
        app,
        {
            f"{staff.views.PREFIX}/": staff.views.render_errors,
            f"{feeds.views.PREFIX}/": feeds.views.render_errors,
            f"{console.PREFIX}/": console.errors.render_errors,
            georeport.errors.PREFIX: render_errors_by_suffix,
        },
        default=web.errors.render_errors,  # the resident site owns every other path
    )
