"""Readiness: the database answers within a second, its schema is at the newest
migration, and the outbox workers keep up.

One probe reads all three on one connection, in a thread of its own: a hung
database (a frozen server, a lost network) cannot hold the caller longer than
the timeout, and while one probe waits no second one starts, so a hung database
holds one connection and one thread, however often the probe is called.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.config import PROJECT_DIR
from open311.notifications.backlog import Backlog, backlog

log = logging.getLogger(__name__)
OK = "ok"


@dataclass(frozen=True)
class Probe:
    """What one look at the database found; `problem` says why it could not look."""

    revisions: frozenset[str] = frozenset()
    backlog: Backlog | None = None
    problem: str | None = None  # public: shown by /readyz
    detail: str | None = None  # the error itself: logged only


@dataclass(frozen=True)
class Readiness:
    checks: Mapping[str, str]  # check → OK, or what is wrong
    judged: frozenset[str] | None = None  # the checks that decide `ready`; None: every one

    @property
    def ready(self) -> bool:
        return all(outcome == OK for name, outcome in self.checks.items() if self._judges(name))

    def payload(self) -> dict[str, object]:
        not_ready = sorted(
            name for name, outcome in self.checks.items() if outcome != OK and self._judges(name)
        )
        return {"ready": self.ready, "checks": dict(self.checks), "not_ready": not_ready}

    def judging(self, asked: str | None) -> Readiness:
        """Ready by the checks named in `asked` (commas between; None: all), every check
        still shown. A load balancer asks for database,schema: the outbox is one for all
        servers, and a stalled outbox worker would take every server out at once.
        ValueError names the checks there are when `asked` names another."""
        if asked is None:
            return self
        names = frozenset(name.strip() for name in asked.split(",") if name.strip())
        unknown = names - set(self.checks)
        if unknown or not names:
            raise ValueError(
                f"checks: {', '.join(sorted(unknown)) or 'none given'} is not one of "
                f"{', '.join(self.checks)}"
            )
        return Readiness(self.checks, names)

    def _judges(self, name: str) -> bool:
        return self.judged is None or name in self.judged


@dataclass
class Prober:
    """One per app: the probe in flight, and the newest migration."""

    timeout: float
    max_outbox_wait: float  # seconds; 0 skips the outbox check
    _running: Future[Probe] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _heads: frozenset[str] | None = None
    _was_ready: bool = True

    def probe(self, engine: sa.Engine, now: datetime) -> Probe:
        """The database as a probe finds it within the timeout."""
        with self._lock:
            running = self._running
            if running is None or running.done():
                running = self._running = Future()
                threading.Thread(
                    target=_look, args=(running, engine, now), name="open311-probe", daemon=True
                ).start()
        try:
            return running.result(timeout=self.timeout)
        except FutureTimeout:
            return Probe(problem=f"the database did not answer within {self.timeout:g} s")

    def readiness(self, engine: sa.Engine, now: datetime) -> Readiness:
        found = self.probe(engine, now)
        checks = {
            "database": found.problem or OK,
            "schema": self._schema_check(found),
            "outbox": self._outbox_check(found, now),
        }
        readiness = Readiness(checks)
        if readiness.ready != self._was_ready:  # one line when it changes, not one a probe
            self._was_ready = readiness.ready
            log.warning("ready: %s %s", readiness.payload(), found.detail or "")
        return readiness

    def _schema_check(self, found: Probe) -> str:
        if found.problem:
            return "unknown: the database could not be read"
        if found.revisions != self.heads():
            have = ", ".join(sorted(found.revisions)) or "none"
            return f"at migration {have}; the newest is {', '.join(sorted(self.heads()))}"
        return OK

    def _outbox_check(self, found: Probe, now: datetime) -> str:
        if found.backlog is None:
            return "unknown: the outbox could not be read"
        waited = found.backlog.wait(now)
        if self.max_outbox_wait and waited > self.max_outbox_wait:
            return (
                f"a due notification has waited {waited:.0f} s for an outbox worker "
                f"(more than {self.max_outbox_wait:g} s)"
            )
        return OK

    def heads(self) -> frozenset[str]:
        """The newest migration(s) in migrations/, read once."""
        if self._heads is None:
            from alembic.config import Config
            from alembic.script import ScriptDirectory

            config = Config()
            config.set_main_option("script_location", str(PROJECT_DIR / "migrations"))
            self._heads = frozenset(ScriptDirectory.from_config(config).get_heads())
        return self._heads


def _look(result: Future[Probe], engine: sa.Engine, now: datetime) -> None:
    try:
        result.set_result(_read(engine, now))
    except Exception as error:  # any failure is a finding: not ready, and why
        result.set_result(
            Probe(
                problem=f"the database could not be read ({type(error).__name__})",
                detail=_first_line(error),
            )
        )


def _read(engine: sa.Engine, now: datetime) -> Probe:
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return Probe()  # never migrated: the schema check says so
        revisions = frozenset(
            connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        )
        return Probe(revisions=revisions, backlog=backlog(Session(bind=connection), now))


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
