"""W3C datetimes: emitted strictly, parsed leniently (reference 4.7)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from open311.formats.local_hours import MINUTES_SECONDS, LocalHours, as_utc

# 2026-05-01T10:00:00-05:00, with the variants real clients send: a space for
# the T, fractional seconds, Z, ±HH:MM, ±HHMM, and a "+" that arrived as a
# space because the client did not encode it in the query string.
_W3C = re.compile(
    r"""^\s*(?P<date>\d{4}-\d{2}-\d{2})
    (?:[T\s](?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)
    \s*(?P<zone>Z|z|[+\-\s]\d{2}:?\d{2})?)?\s*$""",
    re.VERBOSE,
)
# The first and last days datetime can hold are left out, so that any moment
# parse_w3c returns can still be shown in any UTC offset.
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def format_w3c(moment: datetime, time_zone: ZoneInfo) -> str:
    """2026-05-01T10:00:00-05:00: local offset, no fractional seconds."""
    utc = as_utc(moment)
    hour = _W3C_HOURS.of(utc, time_zone)
    if hour is None:  # a zone whose offset is not whole hours
        return utc.astimezone(time_zone).isoformat(timespec="seconds")
    return hour[0] + MINUTES_SECONDS[utc.minute * 60 + utc.second] + hour[1]


def _w3c_hour(local: datetime) -> tuple[str, str]:
    """How W3C writes a local hour: ("2026-05-01T10:", "-05:00")."""
    text = local.isoformat(timespec="seconds")
    return text[:14], text[19:]


_W3C_HOURS = LocalHours(_w3c_hour)


def parse_w3c(text: str, time_zone: ZoneInfo) -> datetime:
    """Parse a client's datetime into an aware UTC datetime.

    A datetime without an offset, or a date alone, is read as local time in
    the jurisdiction (documented in the README). Raises ValueError.
    """
    match = _W3C.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a W3C datetime such as 2026-05-01T10:00:00-05:00")
    time = (match["time"] or "00:00").replace(",", ".")
    zone = _normalise_zone(match["zone"])
    parsed = datetime.fromisoformat(f"{match['date']}T{time}{zone}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=time_zone)
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not _EARLIEST <= moment <= _LATEST:
        raise ValueError(f"{text!r} is too far in the past or the future")
    return moment


def _normalise_zone(zone: str | None) -> str:
    if not zone:
        return ""
    if zone in ("Z", "z"):
        return "+00:00"
    sign = "+" if zone[0] in "+ " else "-"
    digits = zone[1:].replace(":", "")
    return f"{sign}{digits[:2]}:{digits[2:]}"
