"""Staff API input, validated at the edge into the workflow's plain values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from open311.citations.actions import NewCitation
from open311.errors import InvalidRequest
from open311.models import CitationStatus, CloseReason, PartyKind, PatternKind, Role, Stage
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
    page = fields.Integer(validate=validate.Range(min=1, max=10**6))
    page_size = fields.Integer(validate=validate.Range(min=1, max=500))


class StaffForm(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=NAME_LENGTH)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.Enum(Role, by_value=True, required=True)
    department = fields.String(required=True, validate=NAME_LENGTH)


# Chicago's ordinance sections look like 7-28-120 or 4-4-313(a); other codes are alike.
VIOLATION_CODE = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9.()/ -]{0,63}$",
    error="an ordinance or violation code: letters, digits and . ( ) / - (at most 64).",
)
LARGEST_FINE = 1_000_000


class CitationForm(Schema):
    class Meta:
        unknown = EXCLUDE

    party_kind = fields.Enum(PartyKind, by_value=True, required=True)
    party_name = fields.String(required=True, validate=NAME_LENGTH)
    licence_number = fields.String(validate=validate.Length(min=1, max=64))
    party_address = fields.String(validate=validate.Length(min=1, max=500))
    violation_code = fields.String(required=True, validate=VIOLATION_CODE)
    cited_on = fields.Date(required=True)
    fine_amount = fields.Decimal(
        required=True, places=2, validate=validate.Range(min=0, max=LARGEST_FINE)
    )
    internal_note = fields.String(validate=NOTE_LENGTH)

    @validates_schema
    def _licence_or_address(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not (data.get("licence_number") or data.get("party_address")):
            raise ValidationError(
                "a licence number or an address identifies the party.", "licence_number"
            )


class CitationStatusForm(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.Enum(CitationStatus, by_value=True, required=True)
    internal_note = fields.String(validate=NOTE_LENGTH)


class PartyQueryForm(Schema):
    class Meta:
        unknown = EXCLUDE

    party = fields.String(required=True, validate=NAME_LENGTH)
    department = fields.String(validate=NAME_LENGTH)


class RepeatPartiesForm(Schema):
    class Meta:
        unknown = EXCLUDE

    min = fields.Integer(validate=validate.Range(min=1, max=10**6))
    department = fields.String(validate=NAME_LENGTH)


def new_citation(params: Mapping[str, Any]) -> NewCitation:
    return NewCitation(**_load(CitationForm(), params))


def citation_status(params: Mapping[str, Any]) -> dict[str, Any]:
    return _load(CitationStatusForm(), params)


def party_query(params: Mapping[str, Any]) -> dict[str, Any]:
    return _load(PartyQueryForm(), params)


def repeat_parties_query(params: Mapping[str, Any]) -> dict[str, Any]:
    return _load(RepeatPartiesForm(), params)


def step(action_name: str, params: Mapping[str, Any]) -> Step:
    try:
        action = Action(action_name)
    except ValueError:
        raise InvalidRequest(
            f"action: {action_name!r} is not one of {', '.join(a.value for a in STAFF_ACTIONS)}."
        ) from None
    if action not in STAFF_ACTIONS:
        raise InvalidRequest(f"action: {action.value} follows the reporter's feedback only.")
    data = _load(StepForm(), params)
    answer = data.pop("answer", None)
    if action is Action.ANSWER:
        data["internal_note"] = answer
    return Step(action=action, **data)


def queue_filter(params: Mapping[str, Any], own_department: str) -> QueueFilter:
    data = _load(QueueForm(), params)
    return QueueFilter(
        department=data.get("department", own_department),
        stages=tuple(data.get("stage", ())),
        service_codes=tuple(data.get("service_code", ())),
        assignee=data.get("assignee"),
        overdue_only=data.get("overdue", False),
        page=data.get("page", 1),
        page_size=data.get("page_size", 100),
    )


def new_staff(params: Mapping[str, Any]) -> dict[str, Any]:
    return _load(StaffForm(), params)


def _load(schema: Schema, params: Mapping[str, Any]) -> dict[str, Any]:
    # Cleaned first: a value of control characters alone is as absent as an empty one.
    cleaned = {k: without_control_characters(v) for k, v in params.items()}
    return load(schema, {k: v for k, v in cleaned.items() if v not in ("", None, [])})


class HidePhotoForm(Schema):
    class Meta:
        unknown = EXCLUDE

    # Why staff hid it (a face, a licence plate): kept in the audit, never public.
    reason = fields.String(required=True, validate=[validate.Length(min=1), NOTE_LENGTH])


def hide_photo_reason(params: Mapping[str, Any]) -> str:
    reason: str = _load(HidePhotoForm(), params)["reason"]
    if not reason.strip():
        raise InvalidRequest("reason: say why the photo is hidden.")
    return reason


class PatternsForm(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(validate=validate.OneOf([k.value for k in PatternKind]))
    department = fields.String(validate=NAME_LENGTH)


def patterns_query(params: Mapping[str, Any]) -> dict[str, Any]:
    data = _load(PatternsForm(), params)
    if "kind" in data:
        data["kind"] = PatternKind(data["kind"])
    return data
