"""Read replicas: GET and HEAD requests read from a PostgreSQL hot standby.

DATABASE_REPLICA_URLS names one or more streaming replicas of the primary. Each GET or
HEAD request is given one before its first statement (`_choose`, the one place the
choice is made; open311/routing.py applies it to every statement), so that views and
domain code stay as they are. What must be current reads the primary whatever the
method: writes, a write transaction (begin_write), and credentials (reading_primary).

Read-your-writes, two ways. A caller that just wrote carries a cookie for as long as a
replica in use may lag (DATABASE_REPLICA_MAX_LAG_SECONDS), and reads the primary
meanwhile: a browser that files a request and is sent to its page sees it. A client
without cookies (a partner's app) may still ask for what it filed before the replica
has it: a view that answers 404 from a replica is asked again on the primary, so a
request filed is never "not found". (Only misses pay the second read.)

Each process checks its replicas every DATABASE_REPLICA_CHECK_SECONDS, in a thread
of its own so that a hung replica holds no request: a replica that does not answer,
is not a standby, or lags more than the setting is skipped, and with none left every
read goes to the primary. A replica that fails a request's statement is skipped at
once, and that request is answered from the primary. Lag is measured against the
primary's WAL position: a replica that has replayed everything the primary wrote is
caught up however long ago the last transaction was (on an idle primary,
now() - pg_last_xact_replay_timestamp() grows without the replica falling behind);
one that has not lags by the age of the last transaction it replayed. That age
overstates the lag of a replica a moment behind after a quiet spell: the cost is one
check's interval of reads on the primary, never a stale read.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
import sqlalchemy as sa
from flask import Flask, current_app, request
from sqlalchemy.engine import URL, make_url
from werkzeug.exceptions import NotFound as HttpNotFound
from werkzeug.wrappers import Response as BaseResponse

from open311.database import (
    POSTGRESQL_SESSION_OPTIONS,
    SAFE_METHODS,
    TIMEOUTS,
    BoundedConnection,
    Timeouts,
    bound_postgresql,
    is_unavailable,
)
from open311.errors import NotFound, ServiceUnavailable
from open311.extensions import db
from open311.routing import READ_FROM, read_for_request, read_from, replica_of

log = logging.getLogger(__name__)
REPLICAS: Final = "open311.replicas"  # the app's ReplicaSet, in app.extensions
READ_METHODS: Final = frozenset({"GET", "HEAD"})
APPLICATION_NAME: Final = "open311-replica"  # pg_stat_activity on a replica
CHECK_APPLICATION_NAME: Final = "open311-replica-check"
WROTE_COOKIE: Final = "open311_read_primary"
# On the standby: is it one, how far has it replayed, and how old is what it replayed.
_STANDBY_STATUS: Final = """
SELECT pg_is_in_recovery(),
       pg_last_wal_replay_lsn() >= COALESCE(%(primary)s::pg_lsn, pg_last_wal_receive_lsn()),
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
"""


class ReplicasNeedPostgreSQL(RuntimeError):
    """DATABASE_REPLICA_URLS is set where replicas cannot be: the embedded SQLite
    database, or a replica URL that is not PostgreSQL."""


@dataclass(frozen=True)
class ReplicaState:
    """What the last check of one replica found."""

    name: str
    lag_seconds: float | None = None  # None: unknown (not checked yet, or unreachable)
    problem: str | None = "not checked yet"  # why it is skipped; None: in use

    @property
    def in_use(self) -> bool:
        return self.problem is None

    def payload(self) -> dict[str, object]:
        lag = None if self.lag_seconds is None else round(self.lag_seconds, 3)
        problem = self.problem
        return {"name": self.name, "in_use": self.in_use, "lag_seconds": lag, "problem": problem}


@dataclass
class Replica:
    name: str  # host:port/database, never the password
    engine: sa.Engine  # serves the requests' reads
    conninfo: str  # for the check's own short connection
    state: ReplicaState


@dataclass
class ReplicaSet:
    """One per app: the replicas, what their last check found, the check in flight."""

    replicas: list[Replica]
    primary_conninfo: str
    max_lag: float
    interval: float
    timeouts: Timeouts
    _checked_at: float = -1e9  # monotonic; far in the past: check on first use
    _running: Future[None] | None = None
    _pid: int = 0  # the process that started _running (a forked worker starts its own)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _turn: Iterator[int] = field(default_factory=itertools.count)

    def choose(self) -> sa.Engine | None:
        """A replica in use, in turn; None when none is (read the primary)."""
        if time.monotonic() - self._checked_at >= self.interval:
            self._start_check()
        usable = [replica for replica in self.replicas if replica.state.in_use]
        if not usable:
            return None
        return usable[next(self._turn) % len(usable)].engine

    def check_now(self, timeout: float) -> list[ReplicaState]:
        """The replicas as a check finds them within `timeout` (the last one's
        findings if it takes longer: a hung replica holds no probe)."""
        running = self._start_check(force=True)
        with contextlib.suppress(FutureTimeout):
            running.result(timeout=timeout)
        return self.states()

    def states(self) -> list[ReplicaState]:
        return [replica.state for replica in self.replicas]

    def skip(self, engine: sa.Engine, problem: str) -> None:
        """Stop reading from this replica until its next check finds it well."""
        for replica in self.replicas:
            if replica.engine is engine and replica.state.in_use:
                replica.state = ReplicaState(replica.name, None, problem)
                log.warning("read replica %s skipped: %s", replica.name, problem)

    def _start_check(self, force: bool = False) -> Future[None]:
        with self._lock:
            running = self._running
            mine = running is not None and self._pid == os.getpid()
            if running is not None and mine and not running.done():
                return running
            if not force and time.monotonic() - self._checked_at < self.interval:
                return running if running is not None and mine else _done()
            self._checked_at = time.monotonic()
            running = self._running = Future()
            self._pid = os.getpid()
        threading.Thread(
            target=self._check, args=(running,), name="open311-replica-check", daemon=True
        ).start()
        return running

    def _check(self, result: Future[None]) -> None:
        try:
            primary_lsn = self._primary_lsn()
            for replica in self.replicas:
                found = self._check_one(replica, primary_lsn)
                if found.in_use != replica.state.in_use:  # one line when it changes
                    log.warning("read replica %s: %s", replica.name, found.problem or "in use")
                replica.state = found
        finally:
            result.set_result(None)

    def _primary_lsn(self) -> str | None:
        """Where the primary's WAL is now; None if it cannot be read (each replica is
        then compared with what it has received)."""
        try:
            with self._connect(self.primary_conninfo) as connection:
                row = connection.execute("SELECT pg_current_wal_lsn()::text").fetchone()
                return None if row is None else str(row[0])
        except psycopg.Error:
            return None

    def _check_one(self, replica: Replica, primary_lsn: str | None) -> ReplicaState:
        try:
            with self._connect(replica.conninfo) as connection:
                row = connection.execute(_STANDBY_STATUS, {"primary": primary_lsn}).fetchone()
        except psycopg.Error as error:
            return ReplicaState(replica.name, None, f"unreachable ({type(error).__name__})")
        standby, caught_up, age = row if row is not None else (False, False, None)
        if not standby:
            return ReplicaState(replica.name, None, "not a standby (pg_is_in_recovery() is false)")
        lag = 0.0 if caught_up else age
        if lag is None:
            return ReplicaState(replica.name, None, "behind the primary, lag unknown")
        if lag > self.max_lag:
            problem = f"lags {lag:.1f} s behind the primary (more than {self.max_lag:g} s)"
            return ReplicaState(replica.name, lag, problem)
        return ReplicaState(replica.name, max(lag, 0.0), None)

    def _connect(self, conninfo: str) -> BoundedConnection:
        connection = BoundedConnection.connect(
            conninfo,
            autocommit=True,
            connect_timeout=max(self.timeouts.connect, 2),
            application_name=CHECK_APPLICATION_NAME,
            options=self.timeouts.postgresql_options(),
        )
        connection.answer_timeout = self.timeouts.answer or None
        return connection


def _done() -> Future[None]:
    future: Future[None] = Future()
    future.set_result(None)
    return future


def looked_at(app: Flask) -> list[ReplicaState]:
    """The replicas as a check finds them now (within READY_TIMEOUT_SECONDS), for
    /readyz and /metrics; none when the app has none."""
    replicas: ReplicaSet | None = app.extensions.get(REPLICAS)
    if replicas is None:
        return []
    return replicas.check_now(float(app.config["READY_TIMEOUT_SECONDS"]))


def readiness(states: list[ReplicaState]) -> dict[str, object]:
    """What /readyz adds: each replica, and where reads go. A replica out never makes
    the app unready: its reads go to the primary."""
    if not states:
        return {}
    reads_from = "replicas" if any(state.in_use for state in states) else "primary"
    return {"reads_from": reads_from, "replicas": [state.payload() for state in states]}


def replica_urls(value: object) -> list[str]:
    """DATABASE_REPLICA_URLS: a list, or one comma-separated string (the environment)."""
    items: Iterable[object] = value.split(",") if isinstance(value, str) else value or ()  # type: ignore[assignment]
    return [str(item).strip() for item in items if str(item).strip()]


def init_app(app: Flask) -> None:
    """Call once every blueprint is registered: each view is wrapped (see _on_primary_if_missed)."""
    urls = replica_urls(app.config["DATABASE_REPLICA_URLS"])
    if not urls:
        return
    primary = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    _require_postgresql(primary, [make_url(url) for url in urls])
    timeouts: Timeouts = app.extensions[TIMEOUTS]
    replicas = app.extensions[REPLICAS] = ReplicaSet(
        [_replica(app, make_url(url)) for url in urls],
        primary_conninfo=_conninfo(primary),
        max_lag=float(app.config["DATABASE_REPLICA_MAX_LAG_SECONDS"]),
        interval=float(app.config["DATABASE_REPLICA_CHECK_SECONDS"]),
        timeouts=timeouts,
    )
    for replica in replicas.replicas:
        _skip_when_failing(replica.engine, replicas)
    app.before_request(_choose)
    app.after_request(_remember_writes)
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = _on_primary_if_missed(view)


def _require_postgresql(primary: URL, replicas: list[URL]) -> None:
    if primary.get_backend_name() != "postgresql":
        raise ReplicasNeedPostgreSQL(
            "OPEN311_DATABASE_REPLICA_URLS is set, but the database is "
            f"{primary.get_backend_name()}: read replicas are PostgreSQL streaming "
            "standbys of a PostgreSQL primary. Unset it, or set OPEN311_DATABASE_URL "
            "to the PostgreSQL primary."
        )
    for url in replicas:
        if url.get_backend_name() != "postgresql":
            raise ReplicasNeedPostgreSQL(
                f"OPEN311_DATABASE_REPLICA_URLS: {_name(url)} is not a PostgreSQL URL "
                "(postgresql+psycopg://user@host:port/database)."
            )


def _replica(app: Flask, url: URL) -> Replica:
    options: dict[str, Any] = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    connect_args = dict(options.get("connect_args", {}))
    given = url.query.get("options")
    connect_args["options"] = " ".join(
        filter(None, [given if isinstance(given, str) else "", POSTGRESQL_SESSION_OPTIONS])
    )
    connect_args["application_name"] = APPLICATION_NAME
    options["connect_args"] = connect_args
    engine = sa.create_engine(url.set(drivername="postgresql+psycopg"), **options)
    bound_postgresql(engine, app)  # the served timeouts, as the primary's
    return Replica(_name(url), engine, _conninfo(url), ReplicaState(_name(url)))


def _name(url: URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def _conninfo(url: URL) -> str:
    """A libpq URI for psycopg (SQLAlchemy's has a +driver in its scheme)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _skip_when_failing(engine: sa.Engine, replicas: ReplicaSet) -> None:
    @sa.event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        error = context.sqlalchemy_exception or context.original_exception
        if context.is_disconnect or is_unavailable(error):
            replicas.skip(engine, f"failed a request ({type(context.original_exception).__name__})")


def _choose() -> None:
    """The request's database for its reads: a replica for a GET or HEAD from a
    caller who did not just write, else the primary."""
    replicas: ReplicaSet = current_app.extensions[REPLICAS]
    db.session().info.pop(READ_FROM, None)  # (a session kept from an earlier request)
    if request.method in READ_METHODS and WROTE_COOKIE not in request.cookies:
        read_for_request(replicas.choose())
    else:
        read_for_request(None)


def _remember_writes(response: BaseResponse) -> BaseResponse:
    """After a write, the caller reads the primary until any replica in use has it."""
    if request.method not in SAFE_METHODS and response.status_code < 400:
        replicas: ReplicaSet = current_app.extensions[REPLICAS]
        response.set_cookie(
            WROTE_COOKIE,
            "1",
            max_age=int(replicas.max_lag + replicas.interval) + 1,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            httponly=True,
            samesite="Lax",
        )
    return response


def _on_primary_if_missed(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view, asked again on the primary when its answer from a replica was a 404
    (what the caller asks for may not have reached the replica yet) or the replica
    failed."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        session = db.session()
        if replica_of(session) is None:
            return view(*args, **kwargs)
        try:
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code != 404:
                return response
        except (NotFound, HttpNotFound, ServiceUnavailable):
            pass
        except sa.exc.SQLAlchemyError as error:
            if not is_unavailable(error):
                raise
        session.rollback()  # objects read so far are read again, from the primary
        read_for_request(None)
        read_from(session, None)
        return view(*args, **kwargs)

    return wrapped
