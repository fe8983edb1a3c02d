"""Who may do what: each role's actions, on its own department's requests or on any.

The one table the staff API consults; the README's matrix is this table.
"""

from __future__ import annotations

import enum

from open311.errors import Forbidden
from open311.models import Role, Staff
from open311.workflow.transitions import Action


class Scope(enum.Enum):
    OWN = "own department"
    ANY = "any department"


class Operation(enum.StrEnum):
    """What staff do besides moving a request through the workflow."""

    VIEW = "view"
    FILE = "file"  # file a request for a caller
    CITE = "cite"
    HIDE_PHOTO = "hide_photo"  # a face or a licence plate in a resident's photo
    MANAGE_STAFF = "manage_staff"
    # Redact a request's description, and read the originals redactions replaced.
    MODERATE = "moderate"
    MANAGE_TEMPLATES = "manage_templates"  # a department's response templates


Permission = Action | Operation


_AGENT: dict[Permission, Scope] = {
    Operation.VIEW: Scope.OWN,
    Action.NOTE: Scope.OWN,
    Action.ACKNOWLEDGE: Scope.OWN,
    Action.SCHEDULE: Scope.OWN,
    Action.START: Scope.OWN,
    Action.ASK_REPORTER: Scope.OWN,
    Action.ANSWER: Scope.OWN,
    Action.CLOSE: Scope.OWN,
    Action.MARK_DUPLICATE: Scope.OWN,
    Operation.CITE: Scope.OWN,
    Operation.HIDE_PHOTO: Scope.OWN,
    # As with photos: the agent working a request is the first to see a phone
    # number or an insult in it, and the public should not wait for a supervisor.
    # Seeing the original is the same right: they read it before redacting it.
    Operation.MODERATE: Scope.OWN,
}

ALLOWED: dict[Role, dict[Permission, Scope]] = {
    # Call-takers answer callers about any request, and pass on their answers.
    Role.CALL_TAKER: {
        Operation.FILE: Scope.ANY,
        Operation.VIEW: Scope.ANY,
        Action.NOTE: Scope.ANY,
        Action.ANSWER: Scope.ANY,
    },
    Role.AGENT: _AGENT,
    Role.SUPERVISOR: {
        **_AGENT,
        Action.ASSIGN: Scope.OWN,
        Action.TRANSFER: Scope.OWN,
        Action.REOPEN: Scope.OWN,
        Operation.MANAGE_TEMPLATES: Scope.OWN,
    },
    # Administrators run the system (staff, keys, catalogue); they read requests
    # but do not work them, so every change to a request has a worker's name on it.
    # Templates are words set up ahead, not work on a request: they may manage any
    # department's. They never see redacted originals (no MODERATE).
    Role.ADMINISTRATOR: {
        Operation.VIEW: Scope.ANY,
        Operation.MANAGE_STAFF: Scope.ANY,
        Operation.MANAGE_TEMPLATES: Scope.ANY,
    },
}


def require(staff: Staff, permission: Permission, department: str | None = None) -> None:
    """Forbidden unless `staff` may do `permission` (on a request owned by `department`)."""
    scope = ALLOWED[staff.role].get(permission)
    if scope is None:
        raise Forbidden(f"A {staff.role.value} may not {permission.value.replace('_', ' ')}.")
    if scope is Scope.OWN and department is not None and department != staff.department:
        raise Forbidden(
            f"Only {department} staff may {permission.value.replace('_', ' ')} this request."
        )


def allowed(staff: Staff, permission: Permission, department: str | None = None) -> bool:
    try:
        require(staff, permission, department)
    except Forbidden:
        return False
    return True
