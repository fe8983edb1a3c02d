"""A citation as a form gives it (the staff API's JSON or fields, the console's form),
validated into the domain's NewCitation: one path for every interface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from open311.citations.actions import NewCitation
from open311.models import PartyKind
from open311.workflow.steps import NAME_LENGTH, NOTE_LENGTH, load_form

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


def new_citation(params: Mapping[str, Any]) -> NewCitation:
    return NewCitation(**load_form(CitationForm(), params))
