"""Scheduled commands run one at a time, however many servers run the schedule.

deploy/open311.crontab can then go on every app server: losing the machine that
had it loses no text reply, no estimate and no sweep. Each run of a scheduled
command first takes the command's lock; a run that finds it taken (another
server's run of the same minute, or this server's previous run still going)
does nothing and says so. Two runs of `resend-sms` at once would send a
resident the same text twice; two of `find-patterns` or `learn-estimates` would
replace the same rows under each other.

The lock lives where every server looks: on PostgreSQL a session advisory lock
on a connection of its own, held until the run ends (and dropped by PostgreSQL
if the process dies); on SQLite, which one machine serves, an flock on a file
beside the database, dropped by the kernel if the process dies.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

import click
import sqlalchemy as sa

from open311.extensions import db

Command = TypeVar("Command", bound=Callable[..., Any])
ALONE: Final = "open311_runs_alone"  # the attribute naming a wrapped command's lock


def runs_alone(name: str) -> Callable[[Command], Command]:
    """A click command's function that runs only while it holds the lock `name`.

    Put it between the command's decorator and its options: click reads the
    options from the function this returns."""

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def alone(*args: Any, **kwargs: Any) -> Any:
            with held(name) as taken:
                if not taken:
                    click.echo(f"{name}: another run of it holds its lock; nothing done")
                    return None
                return command(*args, **kwargs)

        setattr(alone, ALONE, name)
        return alone  # type: ignore[return-value]

    return decorate


@contextmanager
def held(name: str) -> Iterator[bool]:
    """Whether this process took the lock `name` (held until the block ends); never waits."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, name) as taken:
            yield taken
    else:
        with _file_lock(engine.url.database, name) as taken:
            yield taken


@contextmanager
def _advisory_lock(engine: sa.Engine, name: str) -> Iterator[bool]:
    # Outside any transaction: a run lasts minutes, and an idle open transaction
    # would hold back vacuum for as long.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        key = {"key": lock_key(name)}
        taken = bool(connection.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), key))
        try:
            yield taken
        finally:
            if taken:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), key)


@contextmanager
def _file_lock(database: str | None, name: str) -> Iterator[bool]:
    if database in (None, "", ":memory:"):
        yield True  # a store in memory has one process
        return
    path = Path(f"{database}.{name}.lock")
    with path.open("a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for `name`: the same on every server and release."""
    digest = hashlib.blake2b(f"open311 job {name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
