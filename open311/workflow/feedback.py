"""The reporter's rating of a completed request, through the key that filed it.

A low rating soon after completion reopens the request for a supervisor's
review; the rating and comment stay private (the comment may hold personal
details), only the reopening is public.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from open311.errors import Conflict, InvalidRequest
from open311.models import ApiKey, CloseReason, Feedback, RequestEvent, ServiceRequest, Stage
from open311.service_requests.filters import WHOLE_NUMBER
from open311.validation import without_control_characters
from open311.workflow import actions
from open311.workflow.actions import Actor, Step
from open311.workflow.transitions import Action

LOW_RATINGS = frozenset({1, 2})
REOPEN_NOTE = "The reporter is not satisfied with the outcome; a supervisor will review it."


def give_feedback(
    session: Session,
    number: str,
    rating: int,
    comment: str | None,
    api_key: ApiKey,
    reopen_within: timedelta,
    now: datetime,
    time_zone: ZoneInfo,
) -> Feedback:
    """Store the reporter's rating (1-5) once; reopen for review if low and recent.

    NotFound: no such request. Forbidden: another key filed it. Conflict: not
    closed as completed, or this key has rated it already.
    """
    service_request = actions.locked_request(session, number)
    actions.require_filing_key(service_request, api_key)
    _check_ratable(session, service_request, api_key)
    reopens = rating in LOW_RATINGS and now - closed_at(session, service_request) <= reopen_within
    feedback = Feedback(
        service_request_id=service_request.id,
        api_key_id=api_key.id,
        rating=rating,
        comment=comment,
        reopened=reopens,
        received_at=now,
    )
    session.add(feedback)
    actions.record(
        session, service_request, "feedback", Actor.reporter(api_key), now,
        internal_note=comment, details={"rating": rating, "reopens": reopens},
    )  # fmt: skip
    if reopens:
        step = Step(action=Action.REOPEN_FOR_REVIEW, public_note=REOPEN_NOTE)
        actions.perform(
            session, number, step, Actor.reporter(api_key), time_zone=time_zone, now=now
        )
    return feedback


def _check_ratable(session: Session, service_request: ServiceRequest, api_key: ApiKey) -> None:
    if (
        service_request.stage is not Stage.CLOSED
        or service_request.close_reason is not CloseReason.COMPLETED
    ):
        state = service_request.stage.value
        if service_request.close_reason:
            state += f" ({service_request.close_reason.value})"
        raise Conflict(
            f"Request {service_request.number} is {state}; "
            "feedback is for requests closed as completed."
        )
    given = session.scalar(
        sa.select(Feedback.id).where(
            Feedback.service_request_id == service_request.id, Feedback.api_key_id == api_key.id
        )
    )
    if given is not None:
        raise Conflict(f"Request {service_request.number} has this key's feedback already.")


def closed_at(session: Session, service_request: ServiceRequest) -> datetime:
    """When the request was last closed (its updated time, for imported requests)."""
    at = session.scalar(
        sa.select(sa.func.max(RequestEvent.at)).where(
            RequestEvent.service_request_id == service_request.id,
            RequestEvent.to_stage == Stage.CLOSED,
            RequestEvent.from_stage != Stage.CLOSED,
        )
    )
    return at or service_request.updated_at


COMMENT_LENGTH = 4000
RATINGS = range(1, 6)


def feedback_form(params: MultiDict[str, str]) -> tuple[int, str | None]:
    """The reporter's rating (a whole number from 1 to 5) and optional comment."""
    value = params.get("rating", "").strip()
    if not value:
        raise InvalidRequest("rating: a rating from 1 (bad) to 5 (good) is required.")
    if not WHOLE_NUMBER.fullmatch(value) or int(value) not in RATINGS:
        raise InvalidRequest(f"rating: {value!r} is not a whole number from 1 to 5.")
    comment = without_control_characters(params.get("comment", ""))
    if len(comment) > COMMENT_LENGTH:
        raise InvalidRequest(f"comment: at most {COMMENT_LENGTH} characters.")
    return int(value), comment.strip() or None
