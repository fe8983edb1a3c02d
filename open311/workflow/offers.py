"""What a staff member may do to a request now: the permissions table and the
transitions table read together, so a page offers exactly what `perform` accepts."""

from __future__ import annotations

from open311.models import ServiceRequest, Staff
from open311.workflow import permissions
from open311.workflow.permissions import Operation
from open311.workflow.transitions import TRANSITIONS, Action

# What staff do on a request's page, in the order a request usually meets them. ANSWER
# (the reporter's answer, passed on by staff) and REOPEN_FOR_REVIEW (the reporter's
# feedback) have pages of their own elsewhere.
ON_THE_PAGE = (
    Action.ACKNOWLEDGE,
    Action.ASSIGN,
    Action.SCHEDULE,
    Action.START,
    Action.ASK_REPORTER,
    Action.ANSWER,
    Action.TRANSFER,
    Action.CLOSE,
    Action.MARK_DUPLICATE,
    Action.REOPEN,
    Action.NOTE,
)


def offered(staff: Staff, service_request: ServiceRequest) -> list[Action]:
    """The actions this person may take on this request in its current stage."""
    department = service_request.agency_responsible
    return [
        action
        for action in ON_THE_PAGE
        if service_request.stage in TRANSITIONS[action].sources
        and permissions.allowed(staff, action, department)
    ]


def may(staff: Staff, operation: Operation, service_request: ServiceRequest) -> bool:
    return permissions.allowed(staff, operation, service_request.agency_responsible)


def sees_every_department(staff: Staff) -> bool:
    """May this person view any department's requests (administrators, call-takers)?"""
    return permissions.ALLOWED[staff.role].get(Operation.VIEW) is permissions.Scope.ANY
