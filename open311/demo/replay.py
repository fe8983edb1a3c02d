"""The demo's requests as of today: the City's two days of January 2021 moved forward.

The site's and the console's views start at the last 90 days, so requests from
2021 leave a new demo's "near me", queues and patterns empty. `load-demo
--move-to-now` moves every date by the same whole number of weeks, so that the
newest request was filed four to five weeks before `now`: weekdays, times of day
and the gaps between filing, changes and closing stay the City's. Four weeks, not
one: by then most of them are closed, as most requests a month old are, so the
expected times have a history to learn from, and the open ones fill the queues.
What happens after `now` has not happened in the demo: a request
the City closed later is loaded open, and a change later than that is left out
(its filing time stands for its last change). The numbers stay the City's (SR21-…).
"""

from __future__ import annotations

import csv
import gzip
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from open311.opendata.imports import ImportReport, import_requests

# The columns of the City's export (open311/opendata/chicago.py reads them).
FILED, CHANGED, CLOSED, STATUS = "created_date", "last_modified_date", "closed_date", "status"
OPEN_STATUS = "Open"
WEEK = timedelta(weeks=1)
AGE = timedelta(weeks=4)  # the newest request's age, at least
STAMP = "%Y-%m-%dT%H:%M:%S.%f"


@dataclass(frozen=True)
class Move:
    weeks: int
    first: datetime  # the City's first and newest filing times, local
    newest: datetime


def import_demo(
    session: Session, path: Path, time_zone: ZoneInfo, now: datetime | None
) -> tuple[ImportReport, Move | None]:
    """Import the City's file `path`: as it is, or moved as of `now` (local wall time)."""
    if now is None:
        return import_requests(session, path, time_zone=time_zone), None
    with tempfile.TemporaryDirectory() as folder:
        moved = Path(folder) / "moved.csv"
        move = move_file(path, moved, now)
        return import_requests(session, moved, time_zone=time_zone), move


def move_file(source: Path, target: Path, now: datetime) -> Move:
    """Write `source` (the City's gzipped CSV) to `target` (plain CSV) with its dates
    moved as the module says; `now` is local wall time without a zone, as the file's."""
    with gzip.open(source, "rt", encoding="utf-8", newline="") as text:
        reader = csv.DictReader(text)
        rows, columns = list(reader), list(reader.fieldnames or ())
    filed = [_parsed(row[FILED]) for row in rows]
    move = Move(weeks_to(max(filed), now - AGE), min(filed), max(filed))
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(moved_rows(iter(rows), move.weeks * WEEK, now))
    return move


def weeks_to(newest: datetime, now: datetime) -> int:
    """The whole weeks that bring `newest` into the week before `now` (none if it is there)."""
    return max(0, (now - newest) // WEEK)


def moved_rows(
    rows: Iterator[Mapping[str, str]], by: timedelta, now: datetime
) -> Iterator[dict[str, str]]:
    for row in rows:
        moved = dict(row)
        for column in (FILED, CHANGED, CLOSED):
            if row.get(column):
                moved[column] = _text(_parsed(row[column]) + by)
        if moved.get(CLOSED) and _parsed(moved[CLOSED]) > now:
            moved[STATUS], moved[CLOSED] = OPEN_STATUS, ""
        if moved.get(CHANGED) and _parsed(moved[CHANGED]) > now:
            moved[CHANGED] = moved[FILED]
        yield moved


def _parsed(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _text(moment: datetime) -> str:
    return moment.strftime(STAMP)[:-3]  # milliseconds, as the City writes them
