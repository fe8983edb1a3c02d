"""The workflow's input, validated at the edge into its plain values: one path for every
interface that works requests (the staff API, the console)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from open311.errors import InvalidRequest
from open311.models import CloseReason, Stage
from open311.validation import load, without_control_characters
from open311.workflow.actions import Step
from open311.workflow.queries import QueueFilter
from open311.workflow.transitions import Action

NOTE_LENGTH = validate.Length(min=1, max=4000)
NAME_LENGTH = validate.Length(min=1, max=200)
STAFF_ACTIONS = tuple(a for a in Action if a is not Action.REOPEN_FOR_REVIEW)


class StepForm(Schema):
    class Meta:
        unknown = EXCLUDE

    public_note = fields.String(validate=NOTE_LENGTH)
    internal_note = fields.String(validate=NOTE_LENGTH)
    # The reporter's answer (ANSWER) is kept as an internal note: it may hold private details.
    answer = fields.String(validate=NOTE_LENGTH)
    assignee = fields.String(validate=NAME_LENGTH)
    scheduled_for = fields.Date()
    department = fields.String(validate=NAME_LENGTH)
    reason = fields.Enum(CloseReason, by_value=True)
    parent = fields.String(validate=validate.Length(min=1, max=32))


class QueueForm(Schema):
    class Meta:
        unknown = EXCLUDE

    department = fields.String(validate=NAME_LENGTH)
    stage = fields.List(fields.Enum(Stage, by_value=True))
    service_code = fields.List(fields.String(validate=validate.Length(min=1, max=64)))
    assignee = fields.String(validate=NAME_LENGTH)
    overdue = fields.Boolean()
    community_area = fields.String(validate=validate.Length(min=1, max=16))
    ward = fields.String(validate=validate.Length(min=1, max=16))
    emergency = fields.Boolean()  # only what the 911 rule flagged
    page = fields.Integer(validate=validate.Range(min=1, max=10**6))
    page_size = fields.Integer(validate=validate.Range(min=1, max=500))


def step(action_name: str, params: Mapping[str, Any]) -> Step:
    try:
        action = Action(action_name)
    except ValueError:
        raise InvalidRequest(
            f"action: {action_name!r} is not one of {', '.join(a.value for a in STAFF_ACTIONS)}."
        ) from None
    if action not in STAFF_ACTIONS:
        raise InvalidRequest(f"action: {action.value} follows the reporter's feedback only.")
    data = load_form(StepForm(), params)
    answer = data.pop("answer", None)
    if action is Action.ANSWER:
        data["internal_note"] = answer
    return Step(action=action, **data)


def queue_filter(params: Mapping[str, Any], own_department: str | None) -> QueueFilter:
    """The filter asked for; without a department, `own_department` (None: all)."""
    data = load_form(QueueForm(), params)
    return QueueFilter(
        department=data.get("department", own_department),
        stages=tuple(data.get("stage", ())),
        service_codes=tuple(data.get("service_code", ())),
        assignee=data.get("assignee"),
        overdue_only=data.get("overdue", False),
        community_area=data.get("community_area"),
        ward=data.get("ward"),
        emergency_only=data.get("emergency", False),
        page=data.get("page", 1),
        page_size=data.get("page_size", 100),
    )


def load_form(schema: Schema, params: Mapping[str, Any]) -> dict[str, Any]:
    # Cleaned first: a value of control characters alone is as absent as an empty one.
    cleaned = {k: without_control_characters(v) for k, v in params.items()}
    return load(schema, {k: v for k, v in cleaned.items() if v not in ("", None, [])})


class HidePhotoForm(Schema):
    class Meta:
        unknown = EXCLUDE

    # Why staff hid it (a face, a licence plate): kept in the audit, never public.
    reason = fields.String(required=True, validate=[validate.Length(min=1), NOTE_LENGTH])


def hide_photo_reason(params: Mapping[str, Any]) -> str:
    reason: str = load_form(HidePhotoForm(), params)["reason"]
    if not reason.strip():
        raise InvalidRequest("reason: say why the photo is hidden.")
    return reason
