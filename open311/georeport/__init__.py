"""GeoReport v2 API: /open311/discovery and /open311/v2/…"""

from __future__ import annotations

from flask import Flask, Response, request

from open311.georeport import media_views, notify_views
from open311.georeport.errors import PREFIX
from open311.georeport.views import bp
from open311.notifications.destinations import Destinations


def init_app(app: Flask, url_prefix: str = "/open311") -> None:
    """At /open311, or at the partner sandbox's prefix in the sandbox's own app."""
    Destinations.from_config(app.config)  # a bad WEBHOOK_ALLOWED_NETWORKS stops the start
    app.register_blueprint(bp, url_prefix=url_prefix)
    app.register_blueprint(notify_views.bp, url_prefix=url_prefix)
    app.register_blueprint(media_views.bp, url_prefix=f"{url_prefix}/v2/media")


def allow_any_origin(response: Response) -> Response:
    """Browser clients read the API from other origins (reference 4.20)."""
    if request.path.startswith(PREFIX):
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response
