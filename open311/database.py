"""Engine set-up for the two supported backends.

PostgreSQL + PostGIS needs nothing special. SQLite needs three things:
a driver that can load extensions (sqlean.py, whatever Python the user has),
SpatiaLite loaded on every connection (GeoAlchemy2's plugin does it), and
write transactions that take the write lock up front (BEGIN IMMEDIATE), so
that several gunicorn workers queue for the lock instead of failing with
"database is locked" when a read transaction tries to become a write one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask, request
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from open311.errors import InvalidRequest
from open311.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IMMEDIATE = {"open311_sqlite_begin": "BEGIN IMMEDIATE"}
AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
# Every PostgreSQL connection of the app runs its queries without parallel workers:
# our reads are pages of at most 1,000 rows, for which starting a worker costs
# more than it saves. At ten million requests the planner chose a parallel plan
# for a 500 m page, and it ran in 20-25 ms where the plan without took 11-19.
# (The feed's cursor and the writes get no parallel plans anyway.) bench/ runs its
# raw SQL with the same settings, so that both sides run the same plan.
POSTGRESQL_SESSION_OPTIONS = "-c max_parallel_workers_per_gather=0"
SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA synchronous=NORMAL",
)


class SpatiaLiteUnavailable(RuntimeError):
    """mod_spatialite could not be loaded; the message says how to install it."""


def configure(app: Flask) -> None:
    """Fill SQLALCHEMY_ENGINE_OPTIONS for the configured URL (before db.init_app)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    options: dict[str, Any] = {"plugins": ["geoalchemy2"]}
    if url.get_backend_name() == "sqlite":
        import sqlean

        os.environ.setdefault("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
        options["module"] = sqlean
        if "geoalchemy2_connect_sqlite_init_mode" not in url.query:
            # WGS84 only: initialising every EPSG SRID takes seconds per new file.
            url = url.update_query_dict({"geoalchemy2_connect_sqlite_init_mode": "WGS84"})
            app.config["SQLALCHEMY_DATABASE_URI"] = url.render_as_string(hide_password=False)
    else:
        # Recycle rather than pre-ping: a ping is a round trip on every request.
        options["pool_recycle"] = 300
        # Added to the URL's own libpq options (a city's statement_timeout, say), which
        # connect_args would otherwise replace.
        given = url.query.get("options")
        theirs = f"{given} " if isinstance(given, str) else ""
        options["connect_args"] = {"options": theirs + POSTGRESQL_SESSION_OPTIONS}
    options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def init_app(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                _tune_sqlite(engine)

    @app.before_request
    def _refuse_nul_bytes() -> None:
        # PostgreSQL text cannot hold NUL: a %00 in a path or query would reach
        # a query and fail there (a 500). Form and JSON fields are cleaned at the edge.
        # A path no route serves keeps its 404 or 405 (with Allow): nothing reaches a query.
        if request.routing_exception is not None:
            return
        if "\x00" in request.path or any(
            "\x00" in k + v for k, v in request.args.items(multi=True)
        ):
            raise InvalidRequest("NUL bytes (%00) are not allowed in a path or a query.")

    @app.before_request
    def _begin_writes_immediately() -> None:
        if request.method not in SAFE_METHODS:
            begin_write(db.session())


def begin_write(session: Session) -> None:
    """Open the session's transaction as a write transaction (SQLite: BEGIN IMMEDIATE).

    Call it before the first statement of a transaction that will write;
    PostgreSQL ignores the option.
    """
    session.connection(execution_options=IMMEDIATE)


def read_without_a_transaction(session: Session) -> None:
    """Let each statement of a read-only request run on its own (PostgreSQL).

    A read that opens a transaction pays two more round trips, BEGIN and
    ROLLBACK, and each one waits for the server's turn on a busy machine (a
    ward's page took 25-35% longer). Under READ COMMITTED every statement
    takes its own snapshot anyway, so the request sees what it saw before.
    Call it before the request's first statement; a session already in a
    transaction keeps it. SQLite keeps its transactions (their BEGIN is ours,
    see _tune_sqlite), and so must anything that needs one: a server-side
    cursor, a savepoint, a write.
    """
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return
    session.connection(execution_options=AUTOCOMMIT)


@contextmanager
def apart_from(session: Session) -> Iterator[sa.Connection]:
    """A connection for short writes that commit on their own, where the backend allows.

    PostgreSQL: another pooled connection in autocommit, so each statement is
    a transaction of its own (one round trip, no BEGIN or COMMIT) and its row
    locks last for that statement, not for the caller's whole transaction
    (which it does not see, uncommitted). SQLite has one writer at a time and
    the caller's write transaction holds it: the block joins that transaction,
    and commits or rolls back with it.
    """
    bind = session.get_bind()
    if isinstance(bind, sa.Connection) or bind.dialect.name != "postgresql":
        yield session.connection()  # (a session bound to one connection has no other)
        return
    with bind.connect().execution_options(**AUTOCOMMIT) as connection:
        yield connection


def refresh_statistics(session: Session, *tables: str) -> None:
    """ANALYZE these tables on PostgreSQL, after a load, rather than whenever autovacuum
    gets to them: until then the planner guesses their size. Guessing 30 rows for a
    catalogue of 126 services turned the join in every GET /requests into a nested loop
    that compared each request with 79 services (a 500 m page: 11 ms of 19 at 10M rows).
    SQLite plans without statistics unless asked, and we do not ask."""
    if session.get_bind().dialect.name != "postgresql":
        return
    quote = session.get_bind().dialect.identifier_preparer.quote
    for table in tables:
        session.execute(sa.text(f"ANALYZE {quote(table)}"))


def insert_unless_present(dialect_name: str, entity: Any) -> Any:
    """An INSERT into `entity` that skips rows whose key is already there (ON CONFLICT DO
    NOTHING: PostgreSQL and SQLite spell it alike, SQLAlchemy in one module each)."""
    dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return dialect_insert(entity).on_conflict_do_nothing()


def _tune_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        for pragma in SQLITE_PRAGMAS:
            dbapi_connection.execute(pragma)
        if engine.url.database not in (None, "", ":memory:"):
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        options = connection.get_execution_options()
        connection.exec_driver_sql(options.get("open311_sqlite_begin", "BEGIN"))


def alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    from open311.config import PROJECT_DIR

    config = Config()
    config.set_main_option("script_location", str(PROJECT_DIR / "migrations"))
    config.attributes["connection"] = connection
    return config


def upgrade_schema(app: Flask) -> None:
    """Bring the database to the newest migration (both backends)."""
    from alembic import command

    with app.app_context(), db.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
