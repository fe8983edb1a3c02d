"""The reporter answers the department's question from the link in the email.

The link names the question (its ASK_REPORTER history row), signed with
SECRET_KEY (notifications/answer_links.py). It works once: while the request
waits for that very question and the question is younger than
QUESTION_LINK_VALID_DAYS. The answer goes through the same workflow action as
the staff API's ANSWER (actions.perform), so history has one writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import Gone, InvalidRequest, NotFound
from open311.models import Intake, RequestEvent, Service, ServiceRequest, Stage
from open311.notifications.answer_links import question_named_by
from open311.notifications.subscriptions import LinkKeys
from open311.validation import without_control_characters
from open311.workflow import actions
from open311.workflow.transitions import Action

ANSWER_LENGTH = 4000


@dataclass(frozen=True)
class OpenQuestion:
    question_id: int
    number: str
    service_name: str
    question: str
    asked_at: datetime


def open_question(
    session: Session, keys: LinkKeys, token: str, valid_for: timedelta, now: datetime
) -> OpenQuestion:
    """The question a link asks, if it may still be answered; reads only.

    NotFound: forged or unknown. Gone: answered already (by this link or
    otherwise), replaced by a newer question, or expired.
    """
    question_id = question_named_by(keys, token)
    row = session.execute(
        sa.select(RequestEvent, ServiceRequest)
        .join(ServiceRequest, ServiceRequest.id == RequestEvent.service_request_id)
        .where(
            RequestEvent.id == question_id,
            RequestEvent.action == Action.ASK_REPORTER.value,
            ServiceRequest.intake == Intake.ACCEPTED,
        )
    ).first()
    if row is None:
        raise NotFound("This link is not valid.")
    event, service_request = row
    latest = actions.last_question(session, service_request)
    if (
        service_request.stage is not Stage.AWAITING_REPORTER
        or latest is None
        or (latest.id != event.id)
    ):
        raise Gone("This question has already been answered, or is no longer asked.")
    if event.at + valid_for < now:
        raise Gone("This link has expired. Call 311 to give the department your answer.")
    service = session.get(Service, service_request.service_code)
    return OpenQuestion(
        question_id=event.id,
        number=service_request.number,
        service_name=service.name if service else service_request.service_code,
        question=event.public_note or "",
        asked_at=event.at,
    )


def clean_answer(text: str | None) -> str:
    """The answer as typed, checked: InvalidRequest names what is wrong."""
    answer: str = without_control_characters(text or "").strip()
    if not answer:
        raise InvalidRequest("answer: write your answer before sending it.")
    if len(answer) > ANSWER_LENGTH:
        raise InvalidRequest(f"answer: at most {ANSWER_LENGTH} characters.")
    return answer


def answer(
    session: Session,
    keys: LinkKeys,
    token: str,
    text: str | None,
    *,
    valid_for: timedelta,
    time_zone: ZoneInfo,
    now: datetime,
) -> ServiceRequest:
    """Record the reporter's answer to the link's question; raises before changing anything."""
    question = open_question(session, keys, token, valid_for, now)
    checked = clean_answer(text)
    return actions.perform(
        session,
        question.number,
        actions.Step(action=Action.ANSWER, internal_note=checked),
        actions.Actor.reporter_by_link(question.question_id),
        time_zone=time_zone,
        now=now,
    )
