"""Staff API input, validated at the edge into the workflow's plain values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

# The workflow's own forms (a step, the queue's filter, hiding a photo) are the
# domain's (workflow/steps.py): the console reads the same ones.
from open311.citations.forms import new_citation
from open311.models import CitationStatus, Role
from open311.workflow.steps import (
    NAME_LENGTH,
    NOTE_LENGTH,
    STAFF_ACTIONS,
    hide_photo_reason,
    load_form,
    queue_filter,
    step,
)

__all__ = ["STAFF_ACTIONS", "hide_photo_reason", "new_citation", "queue_filter", "step"]


class StaffForm(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=NAME_LENGTH)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.Enum(Role, by_value=True, required=True)
    department = fields.String(required=True, validate=NAME_LENGTH)


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


def citation_status(params: Mapping[str, Any]) -> dict[str, Any]:
    return load_form(CitationStatusForm(), params)


def party_query(params: Mapping[str, Any]) -> dict[str, Any]:
    return load_form(PartyQueryForm(), params)


def repeat_parties_query(params: Mapping[str, Any]) -> dict[str, Any]:
    return load_form(RepeatPartiesForm(), params)


def new_staff(params: Mapping[str, Any]) -> dict[str, Any]:
    return load_form(StaffForm(), params)
