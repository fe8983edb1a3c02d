"""GET /requests' parameters → RequestFilter, for every interface that lists requests
(GeoReport, the feeds, the CLI's export, the site): one reading of the same words.

GeoReport's rule holds throughout: an empty parameter equals an absent one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from open311.errors import InvalidRequest
from open311.formats.w3c import parse_w3c
from open311.models import Status
from open311.service_requests.queries import RequestFilter
from open311.spatial import Box

DEFAULT_WINDOW = timedelta(days=90)  # spec: the last 90 days by default
LARGEST_PAGE_NUMBER = 10**9
WHOLE_NUMBER = re.compile(
    r"[0-9]+"
)  # ASCII only: str.isdigit() also accepts superscripts and other scripts


def request_filter(
    args: Mapping[str, str],
    time_zone: ZoneInfo,
    now: datetime,
    max_page_size: int,
    *,
    default_window: bool = True,
) -> RequestFilter:
    """GET /requests arguments → RequestFilter; see the README for the rules.

    Without default_window (the open-data feeds) no dates mean every request,
    and start_date and end_date may be any distance apart.
    """
    problems: list[str] = []
    dates = {
        key: parse_date(args, key, time_zone, problems)
        for key in ("start_date", "end_date", "updated_after", "updated_before")
    }
    statuses = _parse_statuses(args.get("status", ""), problems)
    page = parse_int(args, "page", 1, problems)
    page_size = parse_page_size(args, max_page_size, problems)
    start, end = _window(dates, now) if default_window else (dates["start_date"], dates["end_date"])
    if start and end and start >= end:
        problems.append("start_date must be earlier than end_date.")
    elif default_window and start and end and end - start > DEFAULT_WINDOW:
        problems.append(
            "start_date to end_date may not span more than 90 days (spec); ask for shorter windows."
        )
    if problems:
        raise InvalidRequest(*problems)
    extensions = extensions_flag(args, problems)
    places = _places(args, max_page_size, problems)
    if problems:
        raise InvalidRequest(*problems)
    return RequestFilter(
        **places,
        extensions=extensions,
        numbers=comma_list(args.get("service_request_id", "")),
        service_codes=comma_list(args.get("service_code", "")),
        statuses=statuses,
        start=start,
        end=end,
        updated_after=dates["updated_after"],
        updated_before=dates["updated_before"],
        page=page,
        page_size=page_size,
    )


AREA_PARAMETERS = ("ward", "community_area", "police_district", "neighborhood")
MAX_RADIUS_METRES = 50_000.0


def _places(args: Mapping[str, str], max_nearest: int, problems: list[str]) -> dict[str, Any]:
    """The neighbourhood extensions: lat/long with radius or nearest, bbox, area codes."""
    places: dict[str, Any] = {
        "areas": tuple(
            (kind, codes) for kind in AREA_PARAMETERS if (codes := comma_list(args.get(kind, "")))
        )
    }
    lat = _parse_number(args, "lat", -90, 90, problems)
    lon = _parse_number(args, "long", -180, 180, problems)
    radius = _parse_number(args, "radius", 0, MAX_RADIUS_METRES, problems)
    nearest = parse_int(args, "nearest", 0, problems)
    if (radius is not None or nearest) and (lat is None or lon is None):
        problems.append("radius and nearest need lat and long.")
    elif (lat is None) != (lon is None) or (lat is not None and radius is None and not nearest):
        problems.append("lat and long go together, with radius (metres) or nearest.")
    if lat is not None and lon is not None:
        places.update(near=(lon, lat), radius=radius, nearest=min(nearest, max_nearest) or None)
    places["box"] = _parse_box(args.get("bbox", ""), problems)
    return places


def _parse_number(
    args: Mapping[str, str], key: str, low: float, high: float, problems: list[str]
) -> float | None:
    value = args.get(key, "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not low <= number <= high:  # also false for nan
        problems.append(f"{key}: {value!r} is not a number from {low:g} to {high:g}.")
        return None
    return number


def _parse_box(value: str, problems: list[str]) -> Box | None:
    """bbox=min_long,min_lat,max_long,max_lat."""
    if not value.strip():
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(part) for part in value.split(","))
    except ValueError:
        min_lon = min_lat = max_lon = max_lat = math.nan
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        problems.append(f"bbox: {value!r} is not min_long,min_lat,max_long,max_lat.")
        return None
    return Box(min_lon, min_lat, max_lon, max_lat)


def extensions_flag(args: Mapping[str, str], problems: list[str] | None = None) -> bool:
    """extensions=true asks for Chicago's extended output (README); empty means false."""
    value = args.get("extensions", "").strip().lower()
    if value in ("", "false"):
        return False
    if value == "true":
        return True
    message = f"extensions: {value!r} is not true or false."
    if problems is None:
        raise InvalidRequest(message)
    problems.append(message)
    return False


def _window(
    dates: dict[str, datetime | None], now: datetime
) -> tuple[datetime | None, datetime | None]:
    """The requested_datetime range: 90 days unless the client gave both ends."""
    start, end = dates["start_date"], dates["end_date"]
    if start and not end:
        return start, _shifted(start, DEFAULT_WINDOW)
    if end and not start:
        return _shifted(end, -DEFAULT_WINDOW), end
    if start or dates["updated_after"] or dates["updated_before"]:
        return start, end
    return now - DEFAULT_WINDOW, None


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """moment + delta, stopping at the ends of the calendar instead of overflowing."""
    try:
        return moment + delta
    except OverflowError:
        return (datetime.max if delta > timedelta(0) else datetime.min).replace(tzinfo=UTC)


def parse_date(
    args: Mapping[str, str], key: str, tz: ZoneInfo, problems: list[str]
) -> datetime | None:
    value = args.get(key, "").strip()
    if not value:
        return None
    try:
        return parse_w3c(value, tz)
    except ValueError as error:
        problems.append(f"{key}: {error}")
        return None


def _parse_statuses(value: str, problems: list[str]) -> tuple[Status, ...]:
    statuses = []
    for name in comma_list(value.lower()):
        if name in Status.__members__.values():
            statuses.append(Status(name))
        else:
            problems.append(f"status: {name!r} is not open or closed.")
    return tuple(statuses)


def parse_int(args: Mapping[str, str], key: str, default: int, problems: list[str]) -> int:
    value = args.get(key, "").strip()
    if not value:
        return default
    if not WHOLE_NUMBER.fullmatch(value) or int(value) < 1:
        problems.append(f"{key}: {value!r} is not a whole number of 1 or more.")
        return default
    # Past the last page the answer is an empty list anyway; this keeps the
    # row offset inside a 64-bit integer.
    return min(int(value), LARGEST_PAGE_NUMBER)


def parse_page_size(args: Mapping[str, str], max_page_size: int, problems: list[str]) -> int:
    """page_size, the maximum by default; larger values are clamped, as the README says."""
    return min(parse_int(args, "page_size", max_page_size, problems), max_page_size)


def comma_list(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
