"""Request numbers like Chicago's SR26-00012345: a counter per year.

Two concurrent POSTs serialise on the counter row (a row lock on PostgreSQL,
the write lock on SQLite) and never get the same number. On PostgreSQL the
number is taken by a statement that commits on its own (database.apart_from), so
the row is locked for that statement rather than for the whole filing, and
concurrent filings do not queue behind each other; a filing that fails after
taking its number leaves a gap, as a sequence would.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.database import apart_from, insert_unless_present
from open311.models import RequestNumberCounter

DIGITS = 8


def next_number(session: Session, prefix: str, moment: datetime, time_zone: ZoneInfo) -> str:
    year = moment.astimezone(time_zone).year
    with apart_from(session) as connection:
        value = _increment(connection, year)
        if value is None:
            _create_counter(connection, year)
            value = _increment(connection, year)
    assert value is not None  # the row exists now
    return f"{prefix}{year % 100:02d}-{value:0{DIGITS}d}"


def raise_counter(session: Session, year: int, at_least: int) -> None:
    """Make sure numbers handed out later in `year` start above `at_least`."""
    if session.get(RequestNumberCounter, year) is None:
        _create_counter(session.connection(), year)
    session.execute(
        sa.update(RequestNumberCounter)
        .where(RequestNumberCounter.year == year, RequestNumberCounter.last_value < at_least)
        .values(last_value=at_least)
    )


def _increment(connection: sa.Connection, year: int) -> int | None:
    # Through the Connection: the ORM has no objects to synchronise with it.
    return connection.execute(_INCREMENT, {"counter_year": year}).scalar_one_or_none()


# Built once: every filing runs it.
_INCREMENT = (
    sa.update(RequestNumberCounter)
    .where(RequestNumberCounter.year == sa.bindparam("counter_year", type_=sa.Integer))
    .values(last_value=RequestNumberCounter.last_value + 1)
    .returning(RequestNumberCounter.last_value)
)


def _create_counter(connection: sa.Connection, year: int) -> None:
    """The year's counter row, unless another transaction created it first."""
    create = insert_unless_present(connection.dialect.name, RequestNumberCounter)
    connection.execute(create.values(year=year, last_value=0))
