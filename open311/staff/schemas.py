"""Staff API input, validated at the edge into the workflow's plain values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from open311.citations.actions import NewCitation
from open311.models import CitationStatus, PartyKind, Role

# The workflow's own forms (a step, the queue's filter, hiding a photo) are the
# domain's (workflow/steps.py): the console reads the same ones.
from open311.workflow.steps import (
    NAME_LENGTH,
    NOTE_LENGTH,
    STAFF_ACTIONS,
    hide_photo_reason,
    load_form,
    queue_filter,
    step,
)

__all__ = ["STAFF_ACTIONS", "hide_photo_reason", "queue_filter", "step"]


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
    return NewCitation(**load_form(CitationForm(), params))


def citation_status(params: Mapping[str, Any]) -> dict[str, Any]:
    return load_form(CitationStatusForm(), params)


def party_query(params: Mapping[str, Any]) -> dict[str, Any]:
    return load_form(PartyQueryForm(), params)


def repeat_parties_query(params: Mapping[str, Any]) -> dict[str, Any]:
    return load_form(RepeatPartiesForm(), params)


def new_staff(params: Mapping[str, Any]) -> dict[str, Any]:
    return load_form(StaffForm(), params)
