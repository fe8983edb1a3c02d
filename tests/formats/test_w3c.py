"""W3C datetimes: lenient parsing never fails with anything but ValueError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


@pytest.mark.parametrize("zone", ["America/Chicago", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_formatting_agrees_with_the_zone_across_its_changes(zone: str) -> None:
    # Every 7 min 13.5 s through the days around 2026's clock changes (Chicago's and
    # Lord Howe's, whose offsets move by half an hour), each from UTC and from
    # another zone: the cached hours give what converting each moment would.
    time_zone, elsewhere = ZoneInfo(zone), ZoneInfo("Europe/Berlin")
    starts = [datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 4, 4, tzinfo=UTC),
              datetime(2026, 10, 3, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)]  # fmt: skip
    for start in starts:
        for step in range(1_000):
            moment = start + timedelta(seconds=433.5 * step)
            expected = moment.astimezone(time_zone).isoformat(timespec="seconds")
            assert format_w3c(moment, time_zone) == expected
            assert format_w3c(moment.astimezone(elsewhere), time_zone) == expected
