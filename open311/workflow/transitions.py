"""The workflow, written once: which action moves a request from which stage to which.

Every write to a request's stage goes through `open311.workflow.actions.perform`,
which looks the action up here; nothing else changes `ServiceRequest.stage`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from open311.models import Stage


class Action(enum.StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"  # to a crew or a person
    SCHEDULE = "schedule"  # with a date
    START = "start"  # work is in progress
    ASK_REPORTER = "ask_reporter"  # the request waits for the reporter's answer
    ANSWER = "answer"  # the reporter's answer; back where the request was
    TRANSFER = "transfer"  # to another department's queue
    CLOSE = "close"  # with a reason
    MARK_DUPLICATE = "mark_duplicate"  # closes as a duplicate of a parent
    REOPEN = "reopen"  # a supervisor puts a closed request back in the queue
    REOPEN_FOR_REVIEW = "reopen_for_review"  # bad feedback: a supervisor must look
    NOTE = "note"  # a public and/or internal note; the stage stays


OPEN_STAGES = frozenset(Stage) - {Stage.CLOSED}
WORKABLE = frozenset(
    {Stage.NEW, Stage.ACKNOWLEDGED, Stage.ASSIGNED, Stage.SCHEDULED, Stage.IN_PROGRESS}
)


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Stage]
    # None: the stage stays (NOTE) or is the one recorded when the question
    # was asked (ANSWER); see actions.py.
    target: Stage | None
    summary: str  # what the public history says happened


TRANSITIONS: dict[Action, Transition] = {
    Action.ACKNOWLEDGE: Transition(
        frozenset({Stage.NEW, Stage.REOPENED}), Stage.ACKNOWLEDGED, "Request acknowledged"
    ),
    Action.ASSIGN: Transition(WORKABLE | {Stage.REOPENED}, Stage.ASSIGNED, "Request assigned"),
    Action.SCHEDULE: Transition(
        frozenset({Stage.ACKNOWLEDGED, Stage.ASSIGNED, Stage.SCHEDULED}),
        Stage.SCHEDULED,
        "Work scheduled",
    ),
    Action.START: Transition(
        frozenset({Stage.ACKNOWLEDGED, Stage.ASSIGNED, Stage.SCHEDULED}),
        Stage.IN_PROGRESS,
        "Work in progress",
    ),
    Action.ASK_REPORTER: Transition(WORKABLE, Stage.AWAITING_REPORTER, "Information requested"),
    Action.ANSWER: Transition(
        frozenset({Stage.AWAITING_REPORTER}), None, "Information received from the reporter"
    ),
    Action.TRANSFER: Transition(WORKABLE | {Stage.REOPENED}, Stage.NEW, "Request transferred"),
    Action.CLOSE: Transition(OPEN_STAGES, Stage.CLOSED, "Request closed"),
    Action.MARK_DUPLICATE: Transition(OPEN_STAGES, Stage.CLOSED, "Closed as a duplicate"),
    Action.REOPEN: Transition(
        frozenset({Stage.CLOSED, Stage.REOPENED}), Stage.ACKNOWLEDGED, "Request reopened"
    ),
    Action.REOPEN_FOR_REVIEW: Transition(
        frozenset({Stage.CLOSED}), Stage.REOPENED, "Reopened for review after feedback"
    ),
    Action.NOTE: Transition(frozenset(Stage), None, "Note added"),
}


# History rows outside the workflow that the public sees, with their summary.
# The others (cite, citation_status, feedback) are staff-only.
BESIDE_THE_WORKFLOW = {
    "accept": "Request accepted",
    "reject": "Request rejected",
    "partner_update": "Update from the reporter",
}
PUBLIC_ACTIONS = (*(action.value for action in Action), *BESIDE_THE_WORKFLOW)


def public_summary(action: str, details: dict[str, object]) -> str | None:
    """What the public is told an action did; None for a note with nothing public."""
    try:
        known = Action(action)
    except ValueError:
        return BESIDE_THE_WORKFLOW.get(action)
    summary = TRANSITIONS[known].summary
    if known is Action.SCHEDULE and details.get("scheduled_for"):
        return f"{summary} for {details['scheduled_for']}"
    if known is Action.TRANSFER and details.get("department"):
        return f"{summary} to {details['department']}"
    if known is Action.MARK_DUPLICATE and details.get("parent"):
        return f"{summary} of {details['parent']}"
    if known is Action.CLOSE and details.get("reason"):
        return f"{summary} ({str(details['reason']).replace('_', ' ')})"
    return summary
