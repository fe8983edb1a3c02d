"""Staff API input, validated at the edge into the workflow's plain values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

# The workflow's own forms (a step, the queue's filter, hiding a photo) are the
# domain's (workflow/steps.py): the console reads the same ones.
from open311.citations.forms import new_citation
from open311.models import CitationStatus, PatternKind, Role
from open311.workflow.steps import (
    NAME_LENGTH,
    NOTE_LENGTH,
    STAFF_ACTIONS,
    hide_photo_reason,
    load_form,
    queue_filter,
    step,
)
from open311.workflow.templates import TemplateText

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


class RedactForm(Schema):
    class Meta:
        unknown = EXCLUDE

    # What the public will read instead; absent: the whole description is removed.
    description = fields.String(validate=NOTE_LENGTH)
    reason = fields.String(required=True, validate=NOTE_LENGTH)


def redaction(params: Mapping[str, Any]) -> dict[str, Any]:
    return load_form(RedactForm(), params)


class TemplateForm(Schema):
    class Meta:
        unknown = EXCLUDE

    title = fields.String(required=True, validate=NAME_LENGTH)
    text = fields.String(required=True, validate=NOTE_LENGTH)


class NewTemplateForm(TemplateForm):
    department = fields.String(validate=NAME_LENGTH)


class TemplatesQueryForm(Schema):
    class Meta:
        unknown = EXCLUDE

    department = fields.String(validate=NAME_LENGTH)


def template_fields(params: Mapping[str, Any]) -> TemplateText:
    data = load_form(TemplateForm(), params)
    return TemplateText(title=data["title"], text=data["text"])


def new_template(params: Mapping[str, Any], own_department: str) -> tuple[str, TemplateText]:
    data = load_form(NewTemplateForm(), params)
    fields_ = TemplateText(title=data["title"], text=data["text"])
    return data.get("department", own_department), fields_


def templates_query(params: Mapping[str, Any], own_department: str) -> str:
    department: str = load_form(TemplatesQueryForm(), params).get("department", own_department)
    return department


class PatternsForm(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(validate=validate.OneOf([k.value for k in PatternKind]))
    department = fields.String(validate=NAME_LENGTH)


def patterns_query(params: Mapping[str, Any]) -> dict[str, Any]:
    data = load_form(PatternsForm(), params)
    if "kind" in data:
        data["kind"] = PatternKind(data["kind"])
    return data
