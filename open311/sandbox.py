"""The partner sandbox: GeoReport at /open311/sandbox/v2/, on a store of its own.

Partners develop against the same API as production's, with their own keys
(`flask open311 sandbox-key create`). What they file lives in a second database
(SANDBOX_DATABASE_URI), served by a second app that has the GeoReport API and
nothing else: no department's queue, feed, dashboard, pattern or public list can
read it, because none of them is connected to that store, and no outbox worker
sends its notifications. `flask open311 empty-sandbox` empties it on a schedule.

The sandbox app is made the first time it is needed (a request under its prefix,
a command), so a server or a test that never touches it pays nothing for it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any, Final

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from open311.errors import ServiceUnavailable
from open311.extensions import db
from open311.models import Base, Staff

PREFIX: Final = "/open311/sandbox"
PRODUCTION_PREFIX: Final = "/open311"
EXTENSION: Final = "open311.sandbox"
# Sandbox keys start with this, so either side can tell a key meant for the other
# without reading the other's database (as test and live keys do elsewhere).
KEY_MARK: Final = "sandbox-"
# Sandbox request numbers start with this (TEST-SR26-00000001): never one of production's.
NUMBER_MARK: Final = "TEST-"
_SLASHES = re.compile(r"/{2,}")
_READY: Final = "open311.sandbox_ready"  # app.extensions: its store was found made
NOT_SET_UP_RETRY_SECONDS: Final = 3600
# What emptying keeps: partners' keys and webhooks, the catalogue, articles and areas
# (the same as production's), and the request-number counter, so that a number once
# given is never given again to another request. Every other table holds what was
# filed or follows from it, and is emptied: a table added later is emptied too.
KEPT_TABLES: Final = frozenset(
    {
        "api_key",
        "webhook",
        "service",
        "article",
        "article_service",
        "area",
        "request_number_counter",
        "resolution_quantiles",
        "staff",
        "role_setting",
        "response_template",
    }
)


class SandboxMisconfigured(RuntimeError):
    """The sandbox would share production's database: emptying it would empty production."""


def enabled(config: Mapping[str, Any]) -> bool:
    return bool(config["SANDBOX_DATABASE_URI"])


def api_root(config: Mapping[str, Any]) -> str:
    """Where the app's GeoReport API is mounted: /open311, or the sandbox's prefix."""
    return PREFIX if config["SANDBOX"] else PRODUCTION_PREFIX


def settings(production: Mapping[str, Any]) -> dict[str, Any]:
    """What makes a copy of production's configuration the sandbox's: its own store,
    its own photos, its own rate-limit counts (key ids repeat across the stores) and its
    own request numbers."""
    url = production["SANDBOX_DATABASE_URI"]
    if _same_database(url, production["SQLALCHEMY_DATABASE_URI"]):
        raise SandboxMisconfigured(
            "SANDBOX_DATABASE_URI names production's database; give the sandbox its own "
            "(OPEN311_SANDBOX_DATABASE_URL), or set it empty to turn the sandbox off."
        )
    media_root = PurePosixPath(production["MEDIA_ROOT"])
    return {
        "SANDBOX": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {},  # production's were made for production's URL
        "DATABASE_REPLICA_URLS": (),  # production's replicas hold production's data
        "MEDIA_ROOT": str(media_root.with_name(f"{media_root.name}-sandbox")),
        "MEDIA_S3_PREFIX": f"sandbox/{production['MEDIA_S3_PREFIX']}",
        "RATE_LIMIT_KEY_PREFIX": f"{production['RATE_LIMIT_KEY_PREFIX']}-sandbox",
        # Each store counts its own numbers: without a mark of its own, the sandbox's
        # first request would carry production's first number.
        "REQUEST_NUMBER_PREFIX": f"{NUMBER_MARK}{production['REQUEST_NUMBER_PREFIX']}",
    }


def _same_database(first: str, second: str) -> bool:
    a, b = make_url(first), make_url(second)
    return (a.get_backend_name(), a.host, a.port, a.database) == (
        b.get_backend_name(),
        b.host,
        b.port,
        b.database,
    ) and (a.database or "") not in ("", ":memory:")


class Sandbox:
    """The sandbox app of one production app, made on first use."""

    def __init__(self, build: Callable[[], Flask]) -> None:
        self._build = build
        self._app: Flask | None = None
        self._lock = threading.Lock()

    @property
    def app(self) -> Flask:
        with self._lock:
            if self._app is None:
                self._app = self._build()
            return self._app


class Dispatch:
    """WSGI middleware: paths under PREFIX go to the sandbox app, the rest to production."""

    def __init__(self, production: Any, sandbox: Sandbox) -> None:
        self.production = production
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if is_sandbox_path(environ.get("PATH_INFO", "")):
            return self.sandbox.app.wsgi_app(environ, start_response)
        return self.production(environ, start_response)  # type: ignore[no-any-return]


def is_sandbox_path(path: str) -> bool:
    path = _SLASHES.sub("/", path)  # `endpoint + path` clients send //
    return path == PREFIX or path.startswith(f"{PREFIX}/")


def init_app(app: Flask, build: Callable[[], Flask]) -> None:
    """Mount the sandbox app, made by `build`, under PREFIX (when the sandbox is on)."""
    if not enabled(app.config):
        return
    settings(app.config)  # refuses production's database now, not at the first call
    sandbox = Sandbox(build)
    app.extensions[EXTENSION] = sandbox
    app.wsgi_app = Dispatch(app.wsgi_app, sandbox)  # type: ignore[method-assign]


def require_store(app: Flask) -> None:
    """Answer 503, in the API's format, until `init-sandbox` has made the sandbox's store.

    The sandbox is on by default and discovery lists it, so partners may call it on a
    server whose operators have not made its store yet: they are told so, not given a
    500. Once the store is found, it is not looked for again.
    """

    @app.before_request
    def _store_is_made() -> None:
        if app.extensions.get(_READY):
            return
        if not sa.inspect(db.engine).has_table(Base.metadata.tables["service"].name):
            raise ServiceUnavailable(
                "The partner sandbox is not set up yet on this server; its operators "
                "make it with `flask open311 init-sandbox`.",
                retry_after=NOT_SET_UP_RETRY_SECONDS,
            )
        app.extensions[_READY] = True


class SandboxOff(RuntimeError):
    """A command needed the sandbox, and SANDBOX_DATABASE_URI is empty."""


def app_of(production: Flask) -> Flask:
    """The sandbox app mounted on `production`."""
    sandbox: Sandbox | None = production.extensions.get(EXTENSION)
    if sandbox is None:
        raise SandboxOff("The sandbox is off: SANDBOX_DATABASE_URI is empty.")
    return sandbox.app


def emptied_tables() -> list[sa.Table]:
    """The tables emptying deletes from, children before their parents."""
    return [t for t in reversed(Base.metadata.sorted_tables) if t.name not in KEPT_TABLES]


def empty_store(session: Session) -> dict[str, int]:
    """Delete everything filed in the sandbox's store (the caller commits); rows per table.

    A store with staff accounts is production's (the sandbox has no console to make
    them), reached through a URL written another way: it is refused, nothing deleted.
    """
    if session.scalar(sa.select(Staff.id).limit(1)) is not None:
        raise SandboxMisconfigured(
            "The sandbox's database holds staff accounts: it looks like production's. "
            "Nothing was deleted; check OPEN311_SANDBOX_DATABASE_URL."
        )
    deleted = {}
    for table in emptied_tables():
        result = session.execute(table.delete())
        deleted[table.name] = int(getattr(result, "rowcount", 0))  # a DELETE's CursorResult
    return deleted
