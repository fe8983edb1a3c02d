"""Departments' response templates: prepared public notes with placeholders.

`render` is pure: the text and the values in, the note out. Placeholders are
`{name}` for the names in PLACEHOLDERS; a template naming any other is refused
when it is saved, so rendering never fails. Other braces are kept as written.
Writes take the caller's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from open311.errors import Conflict, InvalidRequest, NotFound
from open311.models import ResponseTemplate, Service, ServiceRequest, Staff
from open311.workflow import permissions
from open311.workflow.permissions import Operation

PLACEHOLDERS = {
    "service_request_id": "the request's number",
    "service_name": "the service's name",
    "address": "the address given",
    "department": "the department the request is with",
    "requested_date": "the day it was filed (YYYY-MM-DD, local)",
}
MAX_ID = 2**31 - 1  # ids are 32-bit integers
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


def render(text: str, values: Mapping[str, str]) -> str:
    """The text with each known placeholder replaced by its value (empty if absent)."""
    return _PLACEHOLDER.sub(
        lambda match: values.get(match[1], "") if match[1] in PLACEHOLDERS else match[0], text
    )


def values_for(
    service_request: ServiceRequest, service_name: str, time_zone: ZoneInfo
) -> dict[str, str]:
    return {
        "service_request_id": service_request.number,
        "service_name": service_name,
        "address": service_request.address or "",
        "department": service_request.agency_responsible or "",
        "requested_date": service_request.requested_at.astimezone(time_zone).date().isoformat(),
    }


@dataclass(frozen=True, kw_only=True)
class TemplateText:
    """A template's fields, validated at the edge (lengths) and here (placeholders)."""

    title: str
    text: str


def _checked(fields: TemplateText) -> TemplateText:
    unknown = unknown_placeholders(fields.text)
    if unknown:
        known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        raise InvalidRequest(
            f"text: unknown placeholder {', '.join('{' + n + '}' for n in unknown)}; use {known}."
        )
    if not fields.title.strip() or not fields.text.strip():
        raise InvalidRequest("title and text: a template needs both.")
    return fields


def of_department(session: Session, department: str) -> Sequence[ResponseTemplate]:
    return session.scalars(
        sa.select(ResponseTemplate)
        .where(ResponseTemplate.department == department)
        .order_by(ResponseTemplate.title, ResponseTemplate.id)
    ).all()


def create(
    session: Session,
    staff: Staff,
    department: str,
    fields: TemplateText,
    known_departments: set[str],
    now: datetime,
) -> ResponseTemplate:
    permissions.require(staff, Operation.MANAGE_TEMPLATES, department)
    if department not in known_departments:
        raise InvalidRequest(f"department: {department!r} is not a department of the catalogue.")
    checked = _checked(fields)
    template = ResponseTemplate(department=department, created_at=now)
    _save(session, template, checked, now)
    return template


def update(
    session: Session, staff: Staff, template_id: int, fields: TemplateText, now: datetime
) -> ResponseTemplate:
    template = _get_for_update(session, template_id)
    permissions.require(staff, Operation.MANAGE_TEMPLATES, template.department)
    _save(session, template, _checked(fields), now)
    return template


def delete(session: Session, staff: Staff, template_id: int) -> None:
    template = _get_for_update(session, template_id)
    permissions.require(staff, Operation.MANAGE_TEMPLATES, template.department)
    session.delete(template)
    session.flush()


def _get_for_update(session: Session, template_id: int) -> ResponseTemplate:
    if not 0 < template_id <= MAX_ID:  # a larger one names nothing (and PostgreSQL refuses it)
        raise NotFound(f"No response template {template_id}.")
    template = session.scalar(
        sa.select(ResponseTemplate).where(ResponseTemplate.id == template_id).with_for_update()
    )
    if template is None:
        raise NotFound(f"No response template {template_id}.")
    return template


def _save(
    session: Session, template: ResponseTemplate, fields: TemplateText, now: datetime
) -> None:
    """Write the fields in a savepoint: a title the department already uses is a 409
    and leaves the row as it was, not a 500."""
    department = template.department  # read now: a failed flush expires the row
    try:
        with session.begin_nested():
            template.title, template.text, template.updated_at = fields.title, fields.text, now
            session.add(template)
    except IntegrityError as error:
        raise Conflict(f"{department} already has a template titled {fields.title!r}.") from error


def note_from_template(
    session: Session, service_request: ServiceRequest, template_id: int, time_zone: ZoneInfo
) -> str:
    """The public note template `template_id` gives for this request; only the
    request's own department's templates may be used."""
    template = session.get(ResponseTemplate, template_id) if 0 < template_id <= MAX_ID else None
    if template is None or template.department != service_request.agency_responsible:
        raise InvalidRequest(
            f"template_id: {template_id} is not a template of {service_request.agency_responsible}."
        )
    service = session.get(Service, service_request.service_code)
    name = service.name if service else service_request.service_code
    return render(template.text, values_for(service_request, name, time_zone))
