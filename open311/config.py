"""Defaults, then instance/config.py, then OPEN311_* environment variables.

`OPEN311_DATABASE_URL=postgresql+psycopg://…` sets SQLALCHEMY_DATABASE_URI;
every other `OPEN311_<KEY>` sets `<KEY>` (Flask's prefixed environment).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from flask import Flask

PACKAGE_DIR: Final = Path(__file__).resolve().parent
PROJECT_DIR: Final = PACKAGE_DIR.parent
# Signs links in tests only: create_app refuses it unless TESTING (require_secret_key).
DEVELOPMENT_KEY: Final = "dev-only-change-me"
# An HMAC key this long (e.g. secrets.token_urlsafe(32): 43 characters) cannot be guessed
# offline from a signed link; a short word could.
MIN_SECRET_KEY_LENGTH: Final = 32

DEFAULTS: Final[Mapping[str, Any]] = {
    # Relative SQLite paths are resolved against the instance folder.
    "SQLALCHEMY_DATABASE_URI": "sqlite:///open311.sqlite",
    # The partner sandbox's own store (open311/sandbox.py), set by
    # OPEN311_SANDBOX_DATABASE_URL: a second SQLite file by default; with PostGIS, a
    # second database (CREATE DATABASE open311_sandbox; CREATE EXTENSION postgis).
    # Empty: no sandbox, and discovery lists production only.
    "SANDBOX_DATABASE_URI": "sqlite:///open311-sandbox.sqlite",
    "SANDBOX": False,  # True in the sandbox's own app only (sandbox.settings sets it)
    # Signs the confirmation and unsubscribe links (and Flask's sessions). Outside
    # tests it must be set: OPEN311_SECRET_KEY, or instance/secret_key via `make run`.
    "SECRET_KEY": DEVELOPMENT_KEY,
    # Old keys, still accepted while links signed with them are in people's inboxes;
    # OPEN311_SECRET_KEY_FALLBACKS is a comma-separated list (Flask 3.1 reads it too).
    "SECRET_KEY_FALLBACKS": [],
    # A POST may carry MEDIA_MAX_FILES photos of MEDIA_MAX_BYTES each, plus its form
    # fields and the multipart framing: 3 x 10 MB + 1 MB. Past this Werkzeug answers
    # 413 before reading the body; each photo's own limit is checked after (a 400).
    "MAX_CONTENT_LENGTH": 31 * 1024 * 1024,
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
    # Photos (open311/media, README "Photos"). Where the files go: "local" keeps them
    # in MEDIA_ROOT (relative to instance/); "s3" in an S3-compatible bucket, for
    # cities running several servers (pip install 'open311[s3]'; credentials from
    # boto3's usual places: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a role).
    "MEDIA_STORAGE": "local",
    "MEDIA_ROOT": "media",
    # The site's public URL (https://311.city.example), for discovery, article links and
    # the links in messages. Empty: each answer names the URL its caller reached (right
    # whatever the port), and messages, sent outside any request, the local server.
    "PUBLIC_BASE_URL": "",
    "MEDIA_S3_BUCKET": "",
    "MEDIA_S3_PREFIX": "photos/",
    "MEDIA_S3_ENDPOINT_URL": "",  # empty: AWS; MinIO or Ceph: their URL
    "MEDIA_S3_REGION": "",
    "MEDIA_MAX_FILES": 3,  # photos a request may carry (the rule)
    "MEDIA_MAX_BYTES": 10 * 1024 * 1024,  # a phone's 12-48 MP JPEG is 3-8 MB
    # 50 MP: a 48 MP phone photo passes; decoded it takes ~150 MB, and more is refused
    # before a pixel is decoded (a decompression bomb).
    "MEDIA_MAX_PIXELS": 50_000_000,
    "MEDIA_DISPLAY_EDGE": 2048,  # the long edge kept: sharp on any phone or laptop
    "MEDIA_THUMBNAIL_EDGE": 320,  # lists and timelines
    "MEDIA_QUALITY": 85,  # JPEG quality: no visible loss, a third of 95's bytes
    # The sweep removes files no row names only when older than this: a filing
    # writes its files a moment before it commits its rows.
    "MEDIA_SWEEP_GRACE_SECONDS": 3600,
    "CONTACT": "CHI 311: call 311 (or 312-744-5000 from outside Chicago)",
    "KEY_SERVICE": "Partners ask the City's 311 team for an API key; "
    "keys are issued with `flask open311 create-key`, and keys for the test endpoint "
    "(the partner sandbox) with `flask open311 sandbox-key create`.",
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
    # Patterns (open311/patterns, `flask open311 find-patterns`). A repeat place:
    # one service's requests at one address (or within a few metres of one point)
    # at least this many times in this many days; a hotspot: a DBSCAN cluster of
    # one service's requests of the last days, points within eps metres, at least
    # min points to a core.
    "REPEAT_PLACE_COUNT": 3,
    "REPEAT_PLACE_DAYS": 90,
    "REPEAT_PLACE_METRES": 15.0,
    "HOTSPOT_WINDOW_DAYS": 30,
    "HOTSPOT_EPS_M": 150.0,
    "HOTSPOT_MIN_POINTS": 5,
    # A rating of 1 or 2 this many days after a request was completed reopens
    # it for a supervisor's review.
    "FEEDBACK_REOPEN_DAYS": 14,
    # How long the link in a question's email lets the reporter answer it.
    "QUESTION_LINK_VALID_DAYS": 14,
    "DEFAULT_PAGE_SIZE": 1000,
    "MAX_PAGE_SIZE": 1000,
    # Notifications (open311/notifications): email through this SMTP server, …
    "SMTP_HOST": "localhost",
    "SMTP_PORT": 25,
    "SMTP_TIMEOUT_SECONDS": 10,
    "MAIL_FROM": "CHI 311 <no-reply@localhost>",
    # … texts through a factory "module:callable" taking the config (the default logs them),
    "SMS_GATEWAY": "open311.notifications.channels:LoggingSmsGateway.from_config",
    # … or through the Twilio-compatible adapter (open311/sms/twilio.py), which also
    # receives texts at /sms/twilio: SMS_GATEWAY =
    # "open311.sms.twilio:TwilioSmsGateway.from_config". Its API (another compatible
    # provider's, or a local one in tests), account, auth token and the number texted.
    "SMS_TWILIO_API_URL": "https://api.twilio.com",
    "SMS_TWILIO_ACCOUNT_SID": "",
    "SMS_TWILIO_AUTH_TOKEN": "",  # also checks the webhooks' signatures: unset, all are 403
    "SMS_TWILIO_FROM": "",
    "SMS_TWILIO_TIMEOUT_SECONDS": 10,
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
    # Residents sign in on the site by a link sent by email (accounts/residents.py): it
    # works once, this many minutes; the browser then stays signed in this many days
    # at most (or until it signs out).
    "SIGN_IN_LINK_MINUTES": 30,
    "RESIDENT_SESSION_DAYS": 30,
    # The outbox worker (`flask open311 send-outbox`).
    "OUTBOX_CONCURRENCY": 8,  # deliveries in flight per worker
    "OUTBOX_LEASE_SECONDS": 120,  # a claim dies with its worker after this long
    "OUTBOX_MAX_ATTEMPTS": 8,  # then a notification is parked, with its last error
    "OUTBOX_BACKOFF_SECONDS": 30,  # before the 2nd attempt, doubling after each failure
    "OUTBOX_BACKOFF_MAX_SECONDS": 6 * 3600,
    "OUTBOX_POLL_SECONDS": 2,  # how often an idle worker looks at the outbox
    # Set once the site is served over HTTPS (behind nginx, say): browsers are then told
    # to use HTTPS only (Strict-Transport-Security). Off by default, as `make run`
    # serves plain HTTP and HSTS would lock a browser out of it.
    "SERVED_OVER_HTTPS": False,
    # More places pages may show images from (a map's tile server, e.g.
    # https://tile.openstreetmap.org), a list or one string separated by spaces or
    # commas; our own host and data: URIs always may. Empty: nothing else.
    "CSP_IMG_SOURCES": (),
    # How long a served request waits on its database, well under gunicorn's worker
    # timeout (30 s), so that a database down, frozen, full or locked answers 503 with
    # Retry-After within 5 s instead of holding every worker (open311/database.py;
    # outside a request, the CLI's bulk work runs without these limits).
    # PostgreSQL: libpq's connect_timeout (whole seconds, 2 at least; always applies) …
    "DATABASE_CONNECT_TIMEOUT_SECONDS": 2,
    # … the server's statement_timeout: a request's statements take milliseconds (a
    # feed lifts it for its COPY or cursor, which lasts as long as the feed) …
    "DATABASE_STATEMENT_TIMEOUT_SECONDS": 3,
    # … its lock_timeout, below statement_timeout so that a wait for a lock is told
    # apart (a 503 either way) …
    "DATABASE_LOCK_TIMEOUT_SECONDS": 2,
    # … idle_in_transaction_session_timeout: a worker stuck between statements
    # releases its locks (a request's transaction is never idle that long) …
    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS": 10,
    # … and the longest the client waits for any reply: a frozen server never fires
    # its own timeouts. Above statement_timeout, so that the server's comes first.
    "DATABASE_ANSWER_TIMEOUT_SECONDS": 4,
    # The dashboard's figures read years of requests: their statements may run this long
    # (database.allow_a_long_read), where every other statement stops at the bounds above.
    "DATABASE_REPORT_TIMEOUT_SECONDS": 60,
    # SQLite's busy_timeout: a served write waits this long for another's lock (it was
    # 30 s, the worker timeout itself: the worker died before the caller got a reply;
    # batch work outside requests still waits 30 s).
    "SQLITE_BUSY_TIMEOUT_SECONDS": 3,
    # Read replicas (open311/replicas.py, the README, Scaling): PostgreSQL streaming
    # hot standbys of the primary, a list of URLs or one comma-separated string. GET and
    # HEAD requests read from them; writes and credentials read the primary. Empty: the
    # primary serves everything. The embedded SQLite database has none (startup fails).
    "DATABASE_REPLICA_URLS": (),
    # A replica further behind the primary than this is skipped until it catches up; a
    # caller who just wrote reads the primary for as long (plus a check's interval).
    "DATABASE_REPLICA_MAX_LAG_SECONDS": 5.0,
    # How often each process checks its replicas' lag and health (in a thread of its own).
    "DATABASE_REPLICA_CHECK_SECONDS": 2.0,
    # The Retry-After of those 503s: a restart or failover takes seconds.
    "DATABASE_RETRY_AFTER_SECONDS": 5,
    # Rate limits (open311/limits.py), each "N per minute" or several joined by ";".
    # Counted in Redis when this is set (redis://host:port/db): every worker and
    # server then shares one count. Empty: each process counts in its own memory, and
    # gunicorn warns as it starts; a city with several app servers needs it (python -m
    # open311.doctor --several-servers).
    "REDIS_URL": "",
    "RATE_LIMIT_KEY_PREFIX": "open311",  # one Redis may serve several deployments
    # GETs other than searches, per address: 10 a second is far above a person
    # browsing or an app refreshing, and stops one client from taking every worker.
    "RATE_LIMIT_READS_PER_ADDRESS": "600 per minute",
    # GET /requests, GET /articles and the feeds, per address: each may read
    # 1,000 requests or the whole table; one a second still lets a client page
    # through the City's busiest year (about 1.9 million requests) in half an hour.
    "RATE_LIMIT_SEARCHES_PER_ADDRESS": "60 per minute",
    # POST and DELETE, per address and per API key or staff member: the whole of
    # Chicago files about 4 requests a minute on average (1.9 million a year), so
    # two a second is a partner's busiest hour many times over.
    "RATE_LIMIT_WRITES_PER_ADDRESS": "120 per minute",
    "RATE_LIMIT_WRITES_PER_KEY": "120 per minute",
    # Wrong api_key or staff token, per address, counted before the next is hashed:
    # a client with a mistyped key learns it in one reply; more than 20 wrong ones
    # in 10 minutes is guessing.
    "RATE_LIMIT_FAILED_AUTH_PER_ADDRESS": "20 per 10 minutes",
    # Sign-in links asked for, per client address and per email address: a resident
    # needs one, or a few if the mail is slow; more would make us a mail cannon.
    "RATE_LIMIT_SIGN_IN_PER_ADDRESS": "10 per hour",
    "RATE_LIMIT_SIGN_IN_PER_EMAIL": "5 per hour",
    # How many proxies in front of the app set X-Forwarded-For (nginx: 1). 0 trusts
    # none: a client could otherwise name any address and dodge every limit.
    "TRUSTED_PROXIES": 0,
    # The resident site's map: base tiles from this URL template, credited with this
    # attribution (OpenStreetMap's standard tiles by default; their usage policy asks
    # for the credit). Empty: no tiles, the map still draws the city, its community
    # areas and the pin.
    "MAP_TILES_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "MAP_TILES_ATTRIBUTION": "© OpenStreetMap contributors",
    # The site's session cookie (its CSRF token, the requests filed from this browser):
    # not sent with cross-site POSTs; set OPEN311_SESSION_COOKIE_SECURE=true behind HTTPS.
    "SESSION_COOKIE_SAMESITE": "Lax",
    # The staff console (open311/console): its own cookie, holding a random session id
    # (only its hash is stored); Secure when SESSION_COOKIE_SECURE is.
    "CONSOLE_COOKIE_NAME": "open311_console",
    "CONSOLE_IDLE_MINUTES": 30,  # a session unused this long is over
    # Failed passwords or codes, per account and per address: the tenth in a minute is
    # refused (429) before any hashing.
    "CONSOLE_SIGN_IN_FAILURES": "9 per minute",
    "CONSOLE_PAGE_SIZE": 50,  # requests on a page of the queue
    "CONSOLE_RESET_VALID_HOURS": 24,  # an emailed password link works once, this long
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
        if (sandbox_url := os.environ.get("OPEN311_SANDBOX_DATABASE_URL")) is not None:
            app.config["SANDBOX_DATABASE_URI"] = sandbox_url  # empty turns the sandbox off
    else:
        app.config.from_mapping(test_config)
    app.config["SECRET_KEY_FALLBACKS"] = _key_list(app.config["SECRET_KEY_FALLBACKS"])
    if not app.config["TESTING"]:
        require_secret_key(app.config)


class InsecureSecretKey(RuntimeError):
    """The app would sign links with a key anyone can know or guess."""


def require_secret_key(config: Mapping[str, Any]) -> None:
    """Refuse the development key, or a short one, as the key or among the old ones.

    Subscription ids are sequential: with a known key anyone could sign a link that
    confirms or cancels a stranger's subscription. Every command that creates the
    app is refused, not only the server: `send-outbox` signs the links it sends.
    """
    key = config.get("SECRET_KEY")
    if not isinstance(key, str) or key == DEVELOPMENT_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
        raise InsecureSecretKey(
            "OPEN311_SECRET_KEY is not set, or is the development key, or is shorter than "
            f"{MIN_SECRET_KEY_LENGTH} characters: links in messages signed with it could be "
            "forged. Set it to a random value, e.g. the output of "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))' "
            "(`make run` keeps one in instance/secret_key)."
        )
    for old in config["SECRET_KEY_FALLBACKS"]:
        if old == DEVELOPMENT_KEY or len(old) < MIN_SECRET_KEY_LENGTH:
            raise InsecureSecretKey(
                "OPEN311_SECRET_KEY_FALLBACKS holds the development key or one shorter than "
                f"{MIN_SECRET_KEY_LENGTH} characters: links signed with it could be forged."
            )


def _key_list(value: object) -> list[str]:
    """SECRET_KEY_FALLBACKS as a list: a comma-separated string (from the environment)
    or a list (instance/config.py), blanks dropped."""
    items: Iterable[object] = ()
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, Iterable):
        items = value
    return [str(item).strip() for item in items if str(item).strip()]
