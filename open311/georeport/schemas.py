"""Input at the edge: the POST form and the GET /requests query, validated.

Both follow GeoReport's rule that an empty parameter equals an absent one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from werkzeug.datastructures import MultiDict

from open311.errors import InvalidRequest
from open311.formats.w3c import parse_w3c
from open311.knowledge import search
from open311.knowledge.queries import ArticleSearch
from open311.models import Status
from open311.service_requests.actions import Submission
from open311.service_requests.queries import RequestFilter
from open311.spatial import Box
from open311.validation import describe, without_control_characters
from open311.workflow.partner_updates import STATUSES, IncomingUpdate

DEFAULT_WINDOW = timedelta(days=90)  # spec: the last 90 days by default
LARGEST_PAGE_NUMBER = 10**9
_DIGITS = re.compile(
    r"[0-9]+"
)  # ASCII only: str.isdigit() also accepts superscripts and other scripts
# attribute[C], attribute[C][], attribute[C][0]: three of the four encodings
# of reference 4.6 (the fourth, a comma list, is split by the answer checker).
_ATTRIBUTE = re.compile(r"^attribute\[(?P<code>[^\[\]]+)\](?:\[(?P<index>\d*)\])?$")


class ServiceRequestForm(Schema):
    """POST /requests: application/x-www-form-urlencoded or multipart fields."""

    class Meta:
        unknown = EXCLUDE  # api_key, jurisdiction_id, attribute[…], files

    service_code = fields.String(required=True, validate=validate.Length(1, 64))
    lat = fields.Float(validate=validate.Range(-90, 90))
    long = fields.Float(validate=validate.Range(-180, 180))
    address_string = fields.String(validate=validate.Length(max=500))
    address_id = fields.String(validate=validate.Length(max=64))
    email = fields.Email(validate=validate.Length(max=254))
    device_id = fields.String(validate=validate.Length(max=200))
    account_id = fields.String(validate=validate.Length(max=200))
    first_name = fields.String(validate=validate.Length(max=100))
    last_name = fields.String(validate=validate.Length(max=100))
    phone = fields.String(validate=validate.Length(max=40))
    description = fields.String(validate=validate.Length(max=4000))
    media_url = fields.Url(
        schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2048)
    )

    @validates_schema
    def _lat_and_long_together(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("lat" in data) != ("long" in data):
            raise ValidationError("lat and long must be sent together.", "lat")


_form = ServiceRequestForm()


def submission(params: MultiDict[str, Any]) -> Submission:
    """A Submission from merged query and body parameters; InvalidRequest otherwise.

    Values are form text, or JSON values from the staff API (lat and long as numbers).
    """
    # Cleaned first: a value of control characters alone is as absent as an empty one.
    cleaned = {key: without_control_characters(params.get(key)) for key in _form.fields}
    present = {key: value for key, value in cleaned.items() if _given(value)}
    try:
        data = _form.load(present)
    except ValidationError as error:
        raise InvalidRequest(*describe(error.normalized_messages())) from error  # type: ignore[no-untyped-call]
    return Submission(**data, attributes=attribute_answers(params))


def _given(value: Any) -> bool:
    """Empty equals absent (spec); a JSON null too."""
    return value is not None and not (isinstance(value, str) and not value.strip())


ANSWER_LENGTH = 4000


def reporter_answer(params: MultiDict[str, str]) -> str:
    """The reporter's answer to a department's question: required, at most 4,000 characters."""
    answer = _clean(params.get("answer", "")).strip()
    if not answer:
        raise InvalidRequest("answer: the reporter's answer is required.")
    if len(answer) > ANSWER_LENGTH:
        raise InvalidRequest(f"answer: at most {ANSWER_LENGTH} characters.")
    return answer


RATINGS = range(1, 6)


def feedback(params: MultiDict[str, str]) -> tuple[int, str | None]:
    """The reporter's rating (a whole number from 1 to 5) and optional comment."""
    value = params.get("rating", "").strip()
    if not value:
        raise InvalidRequest("rating: a rating from 1 (bad) to 5 (good) is required.")
    if not _DIGITS.fullmatch(value) or int(value) not in RATINGS:
        raise InvalidRequest(f"rating: {value!r} is not a whole number from 1 to 5.")
    comment = _clean(params.get("comment", ""))
    if len(comment) > ANSWER_LENGTH:
        raise InvalidRequest(f"comment: at most {ANSWER_LENGTH} characters.")
    return int(value), comment.strip() or None


UPDATES_WINDOW = timedelta(hours=2)  # FixMyStreet polls the last 2 hours by default


@dataclass(frozen=True)
class UpdateWindow:
    """GET servicerequestupdates after validation: [start, end), whole or a page of it."""

    start: datetime
    end: datetime
    page: int | None  # None: every update of the window at once (FixMyStreet never pages)
    page_size: int


def update_window(
    args: Mapping[str, str], time_zone: ZoneInfo, now: datetime, max_page_size: int
) -> UpdateWindow:
    """GET servicerequestupdates: start_date and end_date together, or the last 2 hours;
    page and page_size as on GET requests."""
    problems: list[str] = []
    start = _parse_date(args, "start_date", time_zone, problems)
    end = _parse_date(args, "end_date", time_zone, problems)
    page = _parse_int(args, "page", 1, problems) if args.get("page", "").strip() else None
    page_size = _page_size(args, max_page_size, problems)
    if not problems and (start is None) != (end is None):
        problems.append("start_date and end_date: send both, or neither (the last 2 hours).")
    elif start and end and start >= end:
        problems.append("start_date must be earlier than end_date.")
    elif start and end and end - start > DEFAULT_WINDOW:
        problems.append("start_date to end_date may not span more than 90 days.")
    if problems:
        raise InvalidRequest(*problems)
    if not (start and end):
        start, end = now - UPDATES_WINDOW, now + timedelta(seconds=1)
    return UpdateWindow(start, end, page, page_size)


class PartnerUpdateForm(Schema):
    """POST servicerequestupdates: FixMyStreet's urlencoded fields (reference Part 2 §2.6).

    first_name, last_name, email and phone are accepted and dropped: the request
    has its reporter's details from filing, and the public must never see them.
    """

    class Meta:
        unknown = EXCLUDE  # api_key, jurisdiction_id, names, attribute[…], title, …

    service_request_id = fields.String(required=True, validate=validate.Length(1, 32))
    update_id = fields.String(required=True, validate=validate.Length(1, 64))
    status = fields.String(required=True)
    updated_datetime = fields.String()
    description = fields.String(validate=validate.Length(max=4000))
    media_url = fields.Url(
        schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2048)
    )


_update_form = PartnerUpdateForm()


def incoming_update(params: MultiDict[str, str], time_zone: ZoneInfo) -> IncomingUpdate:
    """FixMyStreet's update, cleaned; InvalidRequest naming each bad field."""
    # Lengths are checked on what was sent, as the OpenAPI document states them.
    present = {
        key: value for key in _update_form.fields if (value := _clean(params.get(key, ""))).strip()
    }
    problems: list[str] = []
    try:
        data = _update_form.load(present)
    except ValidationError as error:
        problems += describe(error.normalized_messages())  # type: ignore[no-untyped-call]
        data = {}
    status = present.get("status", "").strip().upper().replace(" ", "_")
    if "status" in data and status not in STATUSES:
        problems.append(
            f"status: {present['status']!r} is not one of {', '.join(sorted(STATUSES))}."
        )
    when = _parse_date(present, "updated_datetime", time_zone, problems)
    if problems:
        raise InvalidRequest(*problems)
    return IncomingUpdate(
        number=data["service_request_id"],
        update_id=data["update_id"],
        status=status,
        description=data.get("description"),
        partner_datetime=when,
        # FixMyStreet repeats media_url for several photos; the first is kept.
        media_url=data.get("media_url"),
    )


def attribute_answers(params: MultiDict[str, Any]) -> dict[str, list[str]]:
    """attribute[CODE]=v, attribute[CODE][]=v, attribute[CODE][0]=v → {"CODE": [v, …]}."""
    matches = [m for key in params if (m := _ATTRIBUTE.match(key))]
    # Indexed keys (attribute[C][0], [1], …) keep their index order.
    matches.sort(key=lambda m: int(m["index"]) if m["index"] else -1)
    found: dict[str, list[str]] = {}
    for match in matches:
        values = (_answer_text(v) for v in params.getlist(match.string))
        found.setdefault(match["code"], []).extend(values)
    return found


def _answer_text(value: Any) -> str:
    """An answer as text: form values are; the staff API's JSON may send 3 or true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return _clean(value if isinstance(value, str) else str(value))


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
        key: _parse_date(args, key, time_zone, problems)
        for key in ("start_date", "end_date", "updated_after", "updated_before")
    }
    statuses = _parse_statuses(args.get("status", ""), problems)
    page = _parse_int(args, "page", 1, problems)
    page_size = _page_size(args, max_page_size, problems)
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
        numbers=_comma_list(args.get("service_request_id", "")),
        service_codes=_comma_list(args.get("service_code", "")),
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
            (kind, codes) for kind in AREA_PARAMETERS if (codes := _comma_list(args.get(kind, "")))
        )
    }
    lat = _parse_number(args, "lat", -90, 90, problems)
    lon = _parse_number(args, "long", -180, 180, problems)
    radius = _parse_number(args, "radius", 0, MAX_RADIUS_METRES, problems)
    nearest = _parse_int(args, "nearest", 0, problems)
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


def _parse_date(
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
    for name in _comma_list(value.lower()):
        if name in Status.__members__.values():
            statuses.append(Status(name))
        else:
            problems.append(f"status: {name!r} is not open or closed.")
    return tuple(statuses)


def _parse_int(args: Mapping[str, str], key: str, default: int, problems: list[str]) -> int:
    value = args.get(key, "").strip()
    if not value:
        return default
    if not _DIGITS.fullmatch(value) or int(value) < 1:
        problems.append(f"{key}: {value!r} is not a whole number of 1 or more.")
        return default
    # Past the last page the answer is an empty list anyway; this keeps the
    # row offset inside a 64-bit integer.
    return min(int(value), LARGEST_PAGE_NUMBER)


def _page_size(args: Mapping[str, str], max_page_size: int, problems: list[str]) -> int:
    """page_size, the maximum by default; larger values are clamped, as the README says."""
    return min(_parse_int(args, "page_size", max_page_size, problems), max_page_size)


def _comma_list(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def _clean(value: str) -> str:
    cleaned: str = without_control_characters(value)
    return cleaned


MAX_ARTICLE_QUERY_LENGTH = 200


def article_search(args: Mapping[str, str]) -> ArticleSearch:
    """GET articles: q (words to find) and/or service_code; one of them is required."""
    text = args.get("q", "").strip()
    service_code = args.get("service_code", "").strip() or None
    if len(text) > MAX_ARTICLE_QUERY_LENGTH:
        raise InvalidRequest(f"q: at most {MAX_ARTICLE_QUERY_LENGTH} characters.")
    terms = tuple(search.words(text))
    if text and not terms:
        raise InvalidRequest(f"q: {text!r} has no words to search for.")
    if not terms and service_code is None:
        raise InvalidRequest("q or service_code is required.")
    return ArticleSearch(words=terms, service_code=service_code)
