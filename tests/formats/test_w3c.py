"""W3C datetimes: lenient parsing never fails with anything but ValueError."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from open311.formats.w3c import format_w3c, parse_w3c

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+05:00",  # before datetime.min once in UTC
        "9999-12-31T23:00:00-05:00",  # after datetime.max once in UTC
        "9999-12-31",  # Chicago local midnight, after datetime.max in UTC
        "0001-01-01T00:00:00Z",  # representable in UTC, but not in Chicago's offset
    ],
)
def test_moments_at_the_ends_of_the_calendar_are_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="too far in the past or the future"):
        parse_w3c(text, CHICAGO)


def test_every_parsed_moment_can_be_shown_in_local_time() -> None:
    earliest = parse_w3c("0001-01-03T00:00:00Z", CHICAGO)
    latest = parse_w3c("9999-12-30T00:00:00Z", CHICAGO)
    assert format_w3c(earliest, CHICAGO).startswith("0001-01-02T")
    assert format_w3c(latest, CHICAGO).startswith("9999-12-29T")


def test_ordinary_moments_still_parse_to_utc() -> None:
    assert parse_w3c("2026-05-01T10:00:00-05:00", CHICAGO) == datetime(2026, 5, 1, 15, tzinfo=UTC)
