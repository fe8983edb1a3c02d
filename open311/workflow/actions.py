"""Every change to a request after it is filed. Callers own the transaction.

`perform` locks the request, checks the actor's permission and the transition,
applies it, mirrors it into the Open311 fields (status, status_notes,
updated_datetime) and appends one RequestEvent row. Nothing is changed in
place without that row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import Conflict, Forbidden, Gone, InvalidRequest, NotFound
from open311.estimates.actions import refresh_expected
from open311.models import (
    ActorKind,
    ApiKey,
    CloseReason,
    Intake,
    RequestEvent,
    Service,
    ServiceRequest,
    Staff,
    Stage,
    Status,
)
from open311.models.base import utcnow
from open311.notifications import outbox
from open311.workflow import permissions, templates
from open311.workflow.transitions import TRANSITIONS, Action

# Reasons staff give with CLOSE; the others come from their own actions.
CLOSING_REASONS = frozenset(CloseReason) - {CloseReason.DUPLICATE, CloseReason.REJECTED}


@dataclass(frozen=True, kw_only=True)
class Step:
    """One workflow action with what it needs, validated at the edge."""

    action: Action
    public_note: str | None = None  # shown in Open311 status_notes and notes
    internal_note: str | None = None  # staff only, never public
    assignee: str | None = None
    scheduled_for: date | None = None
    department: str | None = None
    reason: CloseReason | None = None
    parent: str | None = None  # the request number a duplicate belongs to
    # A department's response template (workflow/templates.py), instead of public_note.
    template_id: int | None = None


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member, or the reporter through the key that filed the request."""

    kind: ActorKind
    staff: Staff | None = None
    api_key: ApiKey | None = None
    # The reporter through the signed link of the email that asked them (the
    # ASK_REPORTER row's id): it may answer that question, and only while it is open.
    question_id: int | None = None

    @classmethod
    def of_staff(cls, staff: Staff) -> Actor:
        return cls(ActorKind.STAFF, staff=staff)

    @classmethod
    def reporter(cls, api_key: ApiKey) -> Actor:
        return cls(ActorKind.REPORTER, api_key=api_key)

    @classmethod
    def reporter_by_link(cls, question_id: int) -> Actor:
        return cls(ActorKind.REPORTER, question_id=question_id)


SYSTEM = Actor(ActorKind.SYSTEM)


@dataclass
class _Change:
    """What a step does beyond the stage, collected before anything is written."""

    target: Stage
    details: dict[str, Any] = field(default_factory=dict)
    # ANSWER: what status_notes becomes once the question has left it.
    notes_after_answer: str | None = None


def perform(
    session: Session,
    number: str,
    step: Step,
    actor: Actor,
    *,
    time_zone: ZoneInfo,
    now: datetime | None = None,
) -> ServiceRequest:
    """Apply `step` to request `number` as `actor`; raise before changing anything.

    NotFound: no such public request. Forbidden: the actor may not (403).
    Conflict: the request's stage does not allow the step (409, naming the stage).
    InvalidRequest: the step lacks what it needs (400).
    """
    now = now or utcnow()
    service_request = locked_request(session, number)
    _authorise(session, service_request, step.action, actor)
    step = _with_template(session, service_request, step, time_zone)
    change = _change(session, service_request, step)
    apply(session, service_request, step, actor, change, now, time_zone)
    if change.target is Stage.CLOSED and step.action is Action.CLOSE:
        _close_duplicates_of(session, service_request, step, now, time_zone)
    return service_request


def _with_template(
    session: Session, service_request: ServiceRequest, step: Step, time_zone: ZoneInfo
) -> Step:
    """The step with its response template's text as the public note (templates.py)."""
    if step.template_id is None:
        return step
    if step.public_note:
        raise InvalidRequest("public_note or template_id: give one, not both.")
    note = templates.note_from_template(session, service_request, step.template_id, time_zone)
    return replace(step, public_note=note[:NOTE_LIMIT])


NOTE_LIMIT = 4000  # as the staff API's notes


def locked_request(session: Session, number: str) -> ServiceRequest:
    """The request, locked until the transaction ends (PostgreSQL: FOR UPDATE).

    SQLite has no row locks; its write transactions already run one at a time
    (BEGIN IMMEDIATE, database.begin_write), which serialises actions the same way.
    """
    service_request = session.scalar(
        sa.select(ServiceRequest)
        .where(ServiceRequest.number == number, ServiceRequest.intake == Intake.ACCEPTED)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if service_request is None:
        raise NotFound(f"No service request {number!r}.")
    return service_request


def _authorise(
    session: Session, service_request: ServiceRequest, action: Action, actor: Actor
) -> None:
    if actor.staff is not None:
        permissions.require(actor.staff, action, service_request.agency_responsible)
    elif actor.kind is ActorKind.REPORTER:
        if action not in REPORTER_ACTIONS:
            raise Forbidden("A reporter may only answer a question or give feedback.")
        if actor.question_id is not None:
            _require_open_question(session, service_request, action, actor.question_id)
        else:
            require_filing_key(service_request, actor.api_key)


def _require_open_question(
    session: Session, service_request: ServiceRequest, action: Action, question_id: int
) -> None:
    """Gone unless `question_id` is the question the request is waiting for (a link
    answers once: after an answer, or a newer question, it answers nothing)."""
    if action is not Action.ANSWER:
        raise Forbidden("This link may only answer the department's question.")
    question = last_question(session, service_request)
    if (
        service_request.stage is not Stage.AWAITING_REPORTER
        or question is None
        or question.id != question_id
    ):
        raise Gone("This question has already been answered, or is no longer asked.")


# What a reporter may do, through the key that filed the request: answer the
# department's question, and reopen for review, which only bad feedback (or a
# FixMyStreet reopening update) asks for: the staff API refuses that action.
REPORTER_ACTIONS = frozenset({Action.ANSWER, Action.REOPEN_FOR_REVIEW})


def require_filing_key(service_request: ServiceRequest, api_key: ApiKey | None) -> None:
    """Forbidden unless `api_key` filed the request: only it speaks for the reporter."""
    if api_key is None or api_key.id != service_request.api_key_id:
        raise Forbidden("Only the API key that filed this request may speak for its reporter.")


def _change(session: Session, service_request: ServiceRequest, step: Step) -> _Change:
    """Check the transition and what the step needs; nothing is written yet."""
    transition = TRANSITIONS[step.action]
    current = service_request.stage
    if current not in transition.sources:
        allowed = ", ".join(sorted(s.value for s in transition.sources))
        raise Conflict(
            f"Request {service_request.number} is {current.value}; "
            f"{step.action.value} needs it to be {allowed}."
        )
    target = transition.target or current
    check = _CHECKS.get(step.action)
    details = check(session, service_request, step) if check else {}
    if step.action is Action.ANSWER:
        return _answer_change(session, service_request, details)
    return _Change(target, details)


def _needs_assignee(_s: Session, _r: ServiceRequest, step: Step) -> dict[str, Any]:
    if not step.assignee:
        raise InvalidRequest("assignee: a crew or a person is required to assign.")
    return {"assignee": step.assignee}


def _needs_date(_s: Session, _r: ServiceRequest, step: Step) -> dict[str, Any]:
    if step.scheduled_for is None:
        raise InvalidRequest("scheduled_for: a date (YYYY-MM-DD) is required to schedule.")
    return {"scheduled_for": step.scheduled_for.isoformat()}


def _needs_question(_s: Session, _r: ServiceRequest, step: Step) -> dict[str, Any]:
    if not step.public_note:
        raise InvalidRequest("public_note: the question for the reporter is required.")
    return {}


def _needs_answer(_s: Session, _r: ServiceRequest, step: Step) -> dict[str, Any]:
    if not step.internal_note:
        raise InvalidRequest("answer: the reporter's answer is required.")
    return {}


def _needs_note(_s: Session, _r: ServiceRequest, step: Step) -> dict[str, Any]:
    if not (step.public_note or step.internal_note):
        raise InvalidRequest("public_note or internal_note: a note needs some text.")
    return {}


def _needs_reason(_s: Session, _r: ServiceRequest, step: Step) -> dict[str, Any]:
    if step.reason not in CLOSING_REASONS:
        reasons = ", ".join(sorted(r.value for r in CLOSING_REASONS))
        raise InvalidRequest(f"reason: one of {reasons} is required to close.")
    return {"reason": step.reason.value}


def _needs_department(
    session: Session, service_request: ServiceRequest, step: Step
) -> dict[str, Any]:
    if not step.department or step.department not in departments(session):
        raise InvalidRequest(
            f"department: {step.department!r} is not a department of the catalogue."
        )
    if step.department == service_request.agency_responsible:
        raise InvalidRequest(f"department: the request is already with {step.department}.")
    return {"from_department": service_request.agency_responsible, "department": step.department}


def _needs_parent(session: Session, service_request: ServiceRequest, step: Step) -> dict[str, Any]:
    parent = session.scalar(
        sa.select(ServiceRequest).where(
            ServiceRequest.number == (step.parent or ""), ServiceRequest.intake == Intake.ACCEPTED
        )
    )
    if parent is None:
        raise InvalidRequest(f"parent: no request {step.parent!r} to be a duplicate of.")
    if parent.id == service_request.id:
        raise InvalidRequest("parent: a request cannot be a duplicate of itself.")
    if parent.duplicate_of is not None:
        raise InvalidRequest(
            f"parent: {parent.number} is itself a duplicate of {parent.duplicate_of}; use that."
        )
    has_children = session.scalar(
        sa.select(sa.func.count())
        .select_from(ServiceRequest)
        .where(ServiceRequest.duplicate_of == service_request.number)
    )
    if has_children:
        raise Conflict(
            f"Request {service_request.number} has duplicates of its own; "
            "it cannot become a duplicate."
        )
    return {"parent": parent.number}


_CHECKS = {
    Action.ASSIGN: _needs_assignee,
    Action.SCHEDULE: _needs_date,
    Action.ASK_REPORTER: _needs_question,
    Action.ANSWER: _needs_answer,
    Action.NOTE: _needs_note,
    Action.CLOSE: _needs_reason,
    Action.TRANSFER: _needs_department,
    Action.MARK_DUPLICATE: _needs_parent,
}


def last_question(session: Session, service_request: ServiceRequest) -> RequestEvent | None:
    """The department's latest question to the reporter (its ASK_REPORTER row)."""
    return session.scalar(
        sa.select(RequestEvent)
        .where(
            RequestEvent.service_request_id == service_request.id,
            RequestEvent.action == Action.ASK_REPORTER.value,
        )
        .order_by(RequestEvent.id.desc())
        .limit(1)
    )


def _answer_change(
    session: Session, service_request: ServiceRequest, details: dict[str, Any]
) -> _Change:
    """Back to where the request was when the department asked, and the question
    out of status_notes: they say again what they said before it was asked."""
    question = last_question(session, service_request)
    if question is None:
        return _Change(Stage.ACKNOWLEDGED, details, service_request.status_notes)
    notes = service_request.status_notes
    if notes == question.public_note:
        notes = session.scalar(
            sa.select(RequestEvent.public_note)
            .where(
                RequestEvent.service_request_id == service_request.id,
                RequestEvent.id < question.id,
                RequestEvent.action != Action.ASK_REPORTER.value,
                RequestEvent.public_note.is_not(None),
            )
            .order_by(RequestEvent.id.desc())
            .limit(1)
        )
    return _Change(
        question.from_stage or Stage.ACKNOWLEDGED,
        {**details, "question_event_id": question.id},
        notes,
    )


def apply(
    session: Session,
    service_request: ServiceRequest,
    step: Step,
    actor: Actor,
    change: _Change,
    now: datetime,
    time_zone: ZoneInfo,
) -> None:
    """Write the change and its history row; the Open311 fields, and the
    expected time to resolve, follow the stage."""
    from_stage = service_request.stage
    _apply_fields(service_request, step, change)
    service_request.stage = change.target
    service_request.status = Status.CLOSED if change.target is Stage.CLOSED else Status.OPEN
    if step.action is Action.ANSWER:
        service_request.status_notes = change.notes_after_answer
    if step.public_note:
        service_request.status_notes = step.public_note
    service_request.updated_at = now
    refresh_expected(session, service_request, now, time_zone=time_zone)
    record(
        session,
        service_request,
        step.action.value,
        actor,
        now,
        from_stage=from_stage,
        public_note=step.public_note,
        internal_note=step.internal_note,
        details=change.details,
    )


def _apply_fields(service_request: ServiceRequest, step: Step, change: _Change) -> None:
    action = step.action
    if action is Action.ASSIGN:
        service_request.assignee = step.assignee
    elif action is Action.SCHEDULE:
        service_request.scheduled_for = step.scheduled_for
    elif action is Action.TRANSFER:
        service_request.agency_responsible = step.department
        service_request.assignee = None
        service_request.scheduled_for = None
    elif action is Action.CLOSE:
        service_request.close_reason = step.reason
    elif action is Action.MARK_DUPLICATE:
        service_request.close_reason = CloseReason.DUPLICATE
        service_request.duplicate_of = change.details["parent"]
    elif action in (Action.REOPEN, Action.REOPEN_FOR_REVIEW):
        service_request.close_reason = None
        service_request.duplicate_of = None


def record(
    session: Session,
    service_request: ServiceRequest,
    action: str,
    actor: Actor,
    now: datetime,
    *,
    from_stage: Stage | None = None,
    public_note: str | None = None,
    internal_note: str | None = None,
    details: dict[str, Any] | None = None,
) -> RequestEvent:
    """Append the history row of a change to `service_request`, already made, and
    queue its notifications in the same transaction.

    Every history row is written here: workflow steps (apply), the city's intake
    review, and changes beside the workflow (citations, feedback, partners'
    updates), for which the stage stays. `from_stage` is the stage before the
    change (default: the current one). Rows of actions the public history does
    not know (workflow/transitions.public_summary) never appear in public output,
    and tell no subscriber.
    """
    event = RequestEvent(
        service_request_id=service_request.id,
        at=now,
        action=action,
        actor_kind=actor.kind,
        staff_id=actor.staff.id if actor.staff else None,
        api_key_id=actor.api_key.id if actor.api_key else None,
        from_stage=from_stage or service_request.stage,
        to_stage=service_request.stage,
        public_note=public_note,
        internal_note=internal_note,
        details=details or {},
    )
    session.add(event)
    session.flush()
    outbox.enqueue(session, service_request, event)
    return event


def _close_duplicates_of(
    session: Session, parent: ServiceRequest, step: Step, now: datetime, time_zone: ZoneInfo
) -> None:
    """Closing a parent closes its open duplicates, with the parent's public note."""
    children = session.scalars(
        sa.select(ServiceRequest)
        .where(ServiceRequest.duplicate_of == parent.number, ServiceRequest.stage != Stage.CLOSED)
        .with_for_update()
    ).all()
    for child in children:
        child_step = Step(action=Action.CLOSE, public_note=step.public_note, reason=step.reason)
        change = _Change(
            Stage.CLOSED,
            {"reason": step.reason.value if step.reason else None, "closed_with": parent.number},
        )
        apply(session, child, child_step, SYSTEM, change, now, time_zone)


def departments(session: Session) -> set[str]:
    """The departments of the catalogue: every agency responsible for a service."""
    return set(session.scalars(sa.select(Service.agency_responsible).distinct()))
