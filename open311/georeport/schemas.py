"""GeoReport's own input, validated: the reporter's answer and feedback, FixMyStreet's
updates and their poll, article searches. The POST form and the GET /requests query,
which other interfaces share, are read in the domain (service_requests.submissions and
service_requests.filters).

All follow GeoReport's rule that an empty parameter equals an absent one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from werkzeug.datastructures import MultiDict

from open311.errors import InvalidRequest
from open311.knowledge import search
from open311.knowledge.queries import ArticleSearch
from open311.service_requests.filters import (
    DEFAULT_WINDOW,
    parse_date,
    parse_int,
    parse_page_size,
)
from open311.validation import describe, without_control_characters
from open311.workflow.partner_updates import STATUSES, IncomingUpdate

ANSWER_LENGTH = 4000


def reporter_answer(params: MultiDict[str, str]) -> str:
    """The reporter's answer to a department's question: required, at most 4,000 characters."""
    answer = _clean(params.get("answer", "")).strip()
    if not answer:
        raise InvalidRequest("answer: the reporter's answer is required.")
    if len(answer) > ANSWER_LENGTH:
        raise InvalidRequest(f"answer: at most {ANSWER_LENGTH} characters.")
    return answer


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
    start = parse_date(args, "start_date", time_zone, problems)
    end = parse_date(args, "end_date", time_zone, problems)
    page = parse_int(args, "page", 1, problems) if args.get("page", "").strip() else None
    page_size = parse_page_size(args, max_page_size, problems)
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
    when = parse_date(present, "updated_datetime", time_zone, problems)
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


def _clean(value: str) -> str:
    cleaned: str = without_control_characters(value)
    return cleaned


def article_search(args: Mapping[str, str]) -> ArticleSearch:
    """GET articles: q (words to find) and/or service_code; one of them is required."""
    text = args.get("q", "").strip()
    service_code = args.get("service_code", "").strip() or None
    if len(text) > search.MAX_QUERY_LENGTH:
        raise InvalidRequest(f"q: at most {search.MAX_QUERY_LENGTH} characters.")
    terms = tuple(search.words(text))
    if text and not terms:
        raise InvalidRequest(f"q: {text!r} has no words to search for.")
    if not terms and service_code is None:
        raise InvalidRequest("q or service_code is required.")
    return ArticleSearch(words=terms, service_code=service_code)
