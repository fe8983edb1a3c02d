"""Defaults, then instance/config.py, then OPEN311_* environment variables.

`OPEN311_DATABASE_URL=postgresql+psycopg://…` sets SQLALCHEMY_DATABASE_URI;
every other `OPEN311_<KEY>` sets `<KEY>` (Flask's prefixed environment).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from flask import Flask

PACKAGE_DIR: Final = Path(__file__).resolve().parent
PROJECT_DIR: Final = PACKAGE_DIR.parent

DEFAULTS: Final[Mapping[str, Any]] = {
    # Relative SQLite paths are resolved against the instance folder.
    "SQLALCHEMY_DATABASE_URI": "sqlite:///open311.sqlite",
    "SECRET_KEY": "dev-only-change-me",
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "JURISDICTION_ID": "cityofchicago.org",
    "JURISDICTION_NAME": "City of Chicago",
    "TIME_ZONE": "America/Chicago",
    "REQUEST_NUMBER_PREFIX": "SR",
    "CITY_BOUNDARY": str(PACKAGE_DIR / "demo" / "data" / "city_boundary.geojson"),
    # A factory "module:callable" taking the config; a city plugs in its own geocoder here.
    "GEOCODER": "open311.geocoding.chicago:ChicagoGeocoder.from_config",
    "GEOCODER_INDEX": str(PACKAGE_DIR / "demo" / "data" / "chicago_streets.csv.gz"),
    "CATALOG_DIR": str(PROJECT_DIR / "services_catalog" / "chicago"),
    # Knowledge articles: Markdown files with TOML front matter (flask open311 load-articles).
    "ARTICLES_DIR": str(PROJECT_DIR / "services_catalog" / "chicago" / "articles"),
    "SCHEMAS_DIR": str(PROJECT_DIR / "schemas"),
    "MEDIA_ROOT": "media",
    "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    "CONTACT": "CHI 311: call 311 (or 312-744-5000 from outside Chicago)",
    "KEY_SERVICE": "Partners ask the City's 311 team for an API key; "
    "keys are issued with `flask open311 create-key`.",
    "ENDPOINT_TYPE": "production",
    # A retried POST with the same key and content inside this window
    # returns the original request instead of filing a second one.
    "REPLAY_WINDOW_SECONDS": 24 * 3600,
    # Likely parents of a duplicate, for services whose catalogue file sets no
    # duplicate_radius_m / duplicate_window_days. 200 m: the farthest a duplicate
    # lay from its parent among the City's 2021 sample requests (199 m), about
    # one Chicago block (1/8 mile); 30 days: the longest of the City's stated
    # duplicate rules (alley lights, shared/chicago311 README §2).
    "DUPLICATE_RADIUS_M": 200.0,
    "DUPLICATE_WINDOW_DAYS": 30.0,
    # A rating of 1 or 2 this many days after a request was completed reopens
    # it for a supervisor's review.
    "FEEDBACK_REOPEN_DAYS": 14,
    "DEFAULT_PAGE_SIZE": 1000,
    "MAX_PAGE_SIZE": 1000,
    # Notifications (open311/notifications): email through this SMTP server, …
    "SMTP_HOST": "localhost",
    "SMTP_PORT": 25,
    "SMTP_TIMEOUT_SECONDS": 10,
    "MAIL_FROM": "CHI 311 <no-reply@localhost>",
    # … texts through a factory "module:callable" taking the config (the default logs them),
    "SMS_GATEWAY": "open311.notifications.channels:LoggingSmsGateway.from_config",
    # … and partners' webhooks, each POST given up after this long.
    "WEBHOOK_TIMEOUT_SECONDS": 5,
    # Webhooks go to public addresses only; these networks (CIDR, a list or one
    # comma-separated string) are allowed besides, e.g. a partner inside the city's
    # network. Empty by default: no loopback, private, link-local or metadata address.
    "WEBHOOK_ALLOWED_NETWORKS": (),
    # An email or phone subscribed through the API is told nothing until its owner
    # follows the link in one confirmation message, which works this many days after
    # it was sent; asking again re-sends it at most once in this many seconds.
    "CONFIRMATION_VALID_DAYS": 7,
    "CONFIRMATION_RESEND_SECONDS": 3600,
    # The outbox worker (`flask open311 send-outbox`).
    "OUTBOX_CONCURRENCY": 8,  # deliveries in flight per worker
    "OUTBOX_LEASE_SECONDS": 120,  # a claim dies with its worker after this long
    "OUTBOX_MAX_ATTEMPTS": 8,  # then a notification is parked, with its last error
    "OUTBOX_BACKOFF_SECONDS": 30,  # before the 2nd attempt, doubling after each failure
    "OUTBOX_BACKOFF_MAX_SECONDS": 6 * 3600,
    "OUTBOX_POLL_SECONDS": 2,  # how often an idle worker looks at the outbox
    # Logs: JSON lines on stderr; INFO writes one line per request answered.
    "LOG_LEVEL": "INFO",
    # /readyz fails when the database takes longer than this to answer (a hung
    # database must not hold the orchestrator's probe, nor a worker, for long) …
    "READY_TIMEOUT_SECONDS": 1.0,
    # … or when a due notification has waited this long for an outbox worker: a
    # running worker takes due rows within seconds (OUTBOX_POLL_SECONDS), so minutes
    # mean none is running or they cannot keep up. 0 skips the check.
    "READY_OUTBOX_MAX_WAIT_SECONDS": 300,
    # /metrics answers callers from these networks only (CIDR, a list or one
    # comma-separated string): loopback by default, where a local Prometheus or
    # agent scrapes; the request counts and outbox sizes are not for the public.
    "METRICS_ALLOWED_NETWORKS": ("127.0.0.0/8", "::1/128"),
}


def load(app: Flask, test_config: Mapping[str, Any] | None = None) -> None:
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("OPEN311")
        if url := os.environ.get("OPEN311_DATABASE_URL"):
            app.config["SQLALCHEMY_DATABASE_URI"] = url
    else:
        app.config.from_mapping(test_config)
