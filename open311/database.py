"""Engine set-up for the two supported backends.

PostgreSQL + PostGIS needs nothing special. SQLite needs three things:
a driver that can load extensions (sqlean.py, whatever Python the user has),
SpatiaLite loaded on every connection (GeoAlchemy2's plugin does it), and
write transactions that take the write lock up front (BEGIN IMMEDIATE), so
that several gunicorn workers queue for the lock instead of failing with
"database is locked" when a read transaction tries to become a write one.

While it serves a request, each backend waits for its database a bounded time
(Timeouts), so that a database that is down, frozen, full or locked costs a
caller a few seconds and a 503 (as_unavailable), never a worker. Outside a
request (the CLI's imports and migrations, a script) the same connections run
without those limits: that work takes minutes on purpose.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

import psycopg
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from open311.errors import InvalidRequest, ServiceUnavailable
from open311.extensions import db
from open311.routing import read_from

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
# What pg_stat_activity shows for the app's connections to the primary (a URL's own
# application_name wins); those to a read replica say open311-replica.
APPLICATION_NAME: Final = "open311"
SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)
TIMEOUTS: Final = "open311.database_timeouts"  # the served Timeouts, in app.extensions
BOUNDED_EVERYWHERE: Final = "open311.database_bounded_everywhere"  # see keep_served_timeouts
APPLIED: Final = "open311_timeouts"  # the Timeouts a pooled connection runs with (record.info)
RETRY_AFTER_SECONDS: Final = 5  # outside an app (DATABASE_RETRY_AFTER_SECONDS inside)
BATCH_SQLITE_BUSY_SECONDS: Final = 30.0  # a command queues behind the served writes
# What "the database is unavailable" looks like. PostgreSQL: an error without a
# SQLSTATE is the connection's (refused, lost, no answer in time); then the classes
# 08 connection, 53 insufficient resources (disk full, too many connections), 57
# operator intervention (statement_timeout, shutdown) and 58 system (I/O), and a
# lock not granted in lock_timeout, a read-only server, an idle transaction ended,
# a deadlock. SQLite: the primary result codes BUSY, LOCKED, READONLY, IOERR, FULL
# and CANTOPEN (the low byte of the extended code).
UNAVAILABLE_SQLSTATE_CLASSES: Final = frozenset({"08", "53", "57", "58"})
UNAVAILABLE_SQLSTATES: Final = frozenset({"55P03", "25006", "25P03", "40P01"})
UNAVAILABLE_SQLITE_CODES: Final = frozenset({5, 6, 8, 10, 13, 14})


@dataclass(frozen=True)
class Timeouts:
    """How long the app waits on its database, in seconds; 0 waits for ever.

    `connect`, `statement`, `lock` and `idle_in_transaction` are PostgreSQL's own
    (libpq's connect_timeout and the server's settings). `answer` bounds every wait
    for a reply on the client: a frozen server (SIGSTOP, a hung host whose kernel
    still acknowledges) never fires its own timeouts, and a pooled connection would
    wait in poll() for ever. `sqlite_busy` is how long SQLite waits for a lock.
    """

    connect: int
    statement: float
    lock: float
    idle_in_transaction: float
    answer: float
    sqlite_busy: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Timeouts:
        return cls(
            connect=int(config["DATABASE_CONNECT_TIMEOUT_SECONDS"]),
            statement=float(config["DATABASE_STATEMENT_TIMEOUT_SECONDS"]),
            lock=float(config["DATABASE_LOCK_TIMEOUT_SECONDS"]),
            idle_in_transaction=float(config["DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS"]),
            answer=float(config["DATABASE_ANSWER_TIMEOUT_SECONDS"]),
            sqlite_busy=float(config["SQLITE_BUSY_TIMEOUT_SECONDS"]),
        )

    def for_batch_work(self) -> Timeouts:
        """No limit on a statement or a reply: a command's import or migration may
        run for minutes (connecting stays bounded)."""
        return replace(
            self,
            statement=0,
            lock=0,
            idle_in_transaction=0,
            answer=0,
            sqlite_busy=BATCH_SQLITE_BUSY_SECONDS,
        )

    def postgresql_options(self) -> str:
        """libpq `options` setting the server's timeouts, in milliseconds."""
        settings = {
            "statement_timeout": self.statement,
            "lock_timeout": self.lock,
            "idle_in_transaction_session_timeout": self.idle_in_transaction,
        }
        return " ".join(f"-c {name}={round(s * 1000)}" for name, s in settings.items())


class BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection that waits at most `answer_timeout` seconds for any reply.

    psycopg sends every wait on the socket through Connection.wait; past the limit
    the connection is closed (its state is unknown) and the wait raises an
    OperationalError, which SQLAlchemy takes for a disconnection: the pool drops
    this connection and the ones opened before it.
    """

    answer_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None or not self.answer_timeout:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.answer_timeout)
        except psycopg.errors._WaitTimeout:
            self.close()
            raise psycopg.OperationalError(
                f"no answer from the database within {self.answer_timeout:g} s"
            ) from None


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
        if "application_name" not in url.query:
            options["connect_args"]["application_name"] = APPLICATION_NAME
    options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def init_app(app: Flask) -> None:
    app.extensions[TIMEOUTS] = Timeouts.from_config(app.config)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                _tune_sqlite(engine, app)
            elif engine.dialect.name == "postgresql":
                bound_postgresql(engine, app)

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


def keep_served_timeouts(app: Flask) -> None:
    """Bound this app's connections outside requests too: for a process that runs
    for ever on short statements (the outbox worker) and would rather retry than
    wait on a hung database."""
    app.extensions[BOUNDED_EVERYWHERE] = True


def timeouts_now(app: Flask) -> Timeouts:
    """The served Timeouts while a request is served, else those of batch work."""
    served: Timeouts = app.extensions[TIMEOUTS]
    if has_request_context() or app.extensions.get(BOUNDED_EVERYWHERE):
        return served
    return served.for_batch_work()


def as_unavailable(error: BaseException) -> ServiceUnavailable | None:
    """The 503 to answer when `error` means the database is unavailable, else None.

    Unavailable: unreachable, stopped, frozen, out of time, out of disk, locked or
    read-only (see UNAVAILABLE_*). The failure is logged in one line, without a
    traceback: an outage fails every request the same way.
    """
    if not is_unavailable(error):
        return None
    driver_error = _driver_error(error)
    retry_after = RETRY_AFTER_SECONDS
    if has_app_context():
        retry_after = int(current_app.config["DATABASE_RETRY_AFTER_SECONDS"])
        where = f"{request.method} {request.path}" if has_request_context() else "a command"
        current_app.logger.warning(
            "database unavailable (%s): %s", where, _first_line(driver_error)
        )
    return ServiceUnavailable(
        "The database is unavailable for a moment; nothing was stored. "
        f"Try again in {retry_after} seconds.",
        retry_after=retry_after,
    )


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database is unavailable (see as_unavailable)."""
    invalidated = isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated
    # sa.exc.TimeoutError: no pooled connection came free in time.
    return (
        invalidated
        or isinstance(error, sa.exc.TimeoutError)
        or _means_unavailable(_driver_error(error))
    )


def _driver_error(error: BaseException) -> BaseException:
    if isinstance(error, sa.exc.DBAPIError) and error.orig is not None:
        return error.orig
    return error


def ensure_available(session: Session) -> None:
    """Raise ServiceUnavailable now if the database does not answer: a streamed
    answer must learn it before its first byte, while it can still be a 503."""
    try:
        session.execute(sa.select(sa.literal(1)))
    except Exception as error:
        if (unavailable := as_unavailable(error)) is None:
            raise
        raise unavailable from error


def lift_statement_timeouts(session: Session) -> None:
    """No statement_timeout nor idle_in_transaction timeout for the rest of the
    session's transaction (PostgreSQL): a feed's COPY is one statement that runs as
    long as the feed, and its cursor waits idle while the client reads. Each
    reply is still awaited at most DATABASE_ANSWER_TIMEOUT_SECONDS."""
    _set_for_this_transaction(
        session, statement_timeout="0", idle_in_transaction_session_timeout="0"
    )


def allow_a_long_read(session: Session) -> None:
    """For the rest of this transaction, a statement may run, and its answer be awaited,
    DATABASE_REPORT_TIMEOUT_SECONDS (PostgreSQL): a dashboard's figures over years of
    requests take seconds on purpose, which the served bounds would take for a database
    in trouble. The connection's served bounds come back when it returns to the pool
    (the answer's) and when the transaction ends (the server's)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    seconds = float(current_app.config["DATABASE_REPORT_TIMEOUT_SECONDS"])
    _set_for_this_transaction(session, statement_timeout=str(round(seconds * 1000)))
    dbapi_connection: Any = session.connection().connection.dbapi_connection
    if getattr(dbapi_connection, "answer_timeout", None):  # a BoundedConnection's bound
        dbapi_connection.answer_timeout = max(dbapi_connection.answer_timeout, seconds)


def _set_for_this_transaction(session: Session, **settings: str) -> None:
    """Set these server settings until the transaction ends (PostgreSQL; set_config's
    is_local), in one round trip."""
    if session.get_bind().dialect.name != "postgresql":
        return
    calls = ", ".join(f"set_config('{name}', :{name}, true)" for name in settings)
    session.execute(sa.text(f"SELECT {calls}"), settings)


def _means_unavailable(error: BaseException) -> bool:
    sqlite_code = getattr(error, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in UNAVAILABLE_SQLITE_CODES
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        if state is None:
            return isinstance(error, psycopg.OperationalError)
        return state[:2] in UNAVAILABLE_SQLSTATE_CLASSES or state in UNAVAILABLE_SQLSTATES
    return False


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"


def begin_write(session: Session) -> None:
    """Open the session's transaction as a write transaction (SQLite: BEGIN IMMEDIATE).

    Call it before the first statement of a transaction that will write;
    PostgreSQL ignores the option. The session reads the primary from here on: a
    transaction that writes must read what it writes over, not a replica's copy.
    """
    read_from(session, None)
    session.connection(execution_options=IMMEDIATE)


def spend_once(session: Session, entity: Any, row_id: int, now: datetime) -> bool:
    """Set `used_at` of the `entity` row `row_id` unless it is set already, by one
    conditional UPDATE; whether this call set it. Of two uses of a one-time link at the
    same moment (two tabs, two app servers), the second finds it used."""
    spent = session.execute(
        sa.update(entity).where(entity.id == row_id, entity.used_at.is_(None)).values(used_at=now),
        execution_options={"synchronize_session": False},
    )
    return bool(spent.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult


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


def bound_postgresql(engine: sa.Engine, app: Flask) -> None:
    # The listeners hold the app weakly: Flask-SQLAlchemy keeps each app's engines in a
    # WeakKeyDictionary keyed by the app, and an engine whose listeners held its app
    # would keep its own key alive, and with it every app a process ever made.
    served: Timeouts = app.extensions[TIMEOUTS]
    app_ref = weakref.ref(app)

    @sa.event.listens_for(engine, "do_connect")
    def _connect(
        _dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]
    ) -> BoundedConnection:
        # Connections start with the served timeouts, so that serving costs no
        # round trip. Ours go first in `options`: a URL's own settings (a city's
        # longer statement_timeout) come after, and win.
        cparams.setdefault("connect_timeout", served.connect)
        given = cparams.get("options")
        cparams["options"] = " ".join(filter(None, [served.postgresql_options(), given]))
        connection = BoundedConnection.connect(*cargs, **cparams)
        connection.answer_timeout = served.answer or None
        return connection

    @sa.event.listens_for(engine, "connect")
    def _started(_dbapi_connection: Any, record: Any) -> None:
        record.info[APPLIED] = served

    @sa.event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        wanted = _timeouts_of(app_ref, served)
        dbapi_connection.answer_timeout = wanted.answer or None  # after a long read too
        if record.info.get(APPLIED) != wanted:
            _set_postgresql_timeouts(dbapi_connection, wanted, served=served)
            record.info[APPLIED] = wanted


def _timeouts_of(app_ref: weakref.ref[Flask], served: Timeouts) -> Timeouts:
    """timeouts_now of the app an engine's listener was made for (held weakly); the
    served ones if that app is gone and its engine is still used (disposing)."""
    app = app_ref()
    return served if app is None else timeouts_now(app)


def _set_postgresql_timeouts(
    dbapi_connection: BoundedConnection, wanted: Timeouts, served: Timeouts
) -> None:
    """Move a pooled connection between served and batch work (a round trip, only
    when a connection changes hands: never in a web worker, never in a command).
    RESET returns to the values the connection started with, a URL's among them."""
    dbapi_connection.answer_timeout = wanted.answer or None
    names = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
    if wanted == served:
        statement = "; ".join(f"RESET {name}" for name in names)
    else:
        statement = "SELECT " + ", ".join(f"set_config('{name}', '0', false)" for name in names)
    with dbapi_connection.cursor() as cursor:
        cursor.execute(statement.encode())
    dbapi_connection.commit()


def _tune_sqlite(engine: sa.Engine, app: Flask) -> None:
    served: Timeouts = app.extensions[TIMEOUTS]
    app_ref = weakref.ref(app)  # as bound_postgresql's listeners, not the app itself

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        for pragma in SQLITE_PRAGMAS:
            dbapi_connection.execute(pragma)
        if engine.url.database not in (None, "", ":memory:"):
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @sa.event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        wanted = _timeouts_of(app_ref, served)
        if record.info.get(APPLIED) != wanted:
            busy = round(wanted.sqlite_busy * 1000)
            dbapi_connection.execute(f"PRAGMA busy_timeout={busy}")
            record.info[APPLIED] = wanted

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
