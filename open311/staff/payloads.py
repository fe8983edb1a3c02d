"""Model → staff API dict. Unlike GeoReport output, these carry private and internal fields."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from open311.accounts import staff as staff_accounts
from open311.citations.queries import PartyRecord
from open311.formats.w3c import format_w3c
from open311.models import (
    Citation,
    DescriptionRedaction,
    Pattern,
    RequestEvent,
    ResponseTemplate,
    ServiceRequest,
    Staff,
    Status,
)
from open311.opendata.feeds import FORMULA_STARTS
from open311.workflow.queries import DuplicateRule, LikelyParent


def staff_member(staff: Staff) -> dict[str, Any]:
    return staff_accounts.summary(staff)


def work_item(
    service_request: ServiceRequest, time_zone: ZoneInfo, now: datetime
) -> dict[str, Any]:
    """A request as a department works it: the reporter's contact details included."""
    due_at = service_request.due_at
    return {
        "service_request_id": service_request.number,
        "service_code": service_request.service_code,
        "stage": service_request.stage.value,
        "status": service_request.status.value,
        "close_reason": service_request.close_reason.value
        if service_request.close_reason
        else None,
        "department": service_request.agency_responsible,
        "assignee": service_request.assignee,
        "scheduled_for": service_request.scheduled_for.isoformat()
        if service_request.scheduled_for
        else None,
        "parent_service_request_id": service_request.duplicate_of,
        "description": service_request.description,
        "address": service_request.address,
        "lat": service_request.lat,
        "long": service_request.long,
        "requested_datetime": format_w3c(service_request.requested_at, time_zone),
        "updated_datetime": format_w3c(service_request.updated_at, time_zone),
        "due_datetime": format_w3c(due_at, time_zone) if due_at else None,
        "overdue": due_at is not None and due_at < now and service_request.status is Status.OPEN,
        "channel": service_request.channel,
        "reporter": {
            "first_name": service_request.first_name,
            "last_name": service_request.last_name,
            "email": service_request.email,
            "phone": service_request.phone,
        },
    }


def event(row: RequestEvent, time_zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "datetime": format_w3c(row.at, time_zone),
        "action": row.action,
        "actor": row.actor_kind.value,
        "staff_id": row.staff_id,
        "from_stage": row.from_stage.value if row.from_stage else None,
        "to_stage": row.to_stage.value if row.to_stage else None,
        "public_note": row.public_note,
        "internal_note": row.internal_note,
        "details": row.details,
    }


def work_item_with_history(
    service_request: ServiceRequest,
    events: Sequence[RequestEvent],
    time_zone: ZoneInfo,
    now: datetime,
) -> dict[str, Any]:
    return {
        **work_item(service_request, time_zone, now),
        "history": [event(row, time_zone) for row in events],
    }


def with_redactions(
    item: dict[str, Any], found: Sequence[DescriptionRedaction], time_zone: ZoneInfo
) -> dict[str, Any]:
    """A work item with the originals its description's redactions replaced: only for
    staff whose role may moderate (the caller decides)."""
    return {
        **item,
        "redactions": [
            {
                "id": row.id,
                "datetime": format_w3c(row.at, time_zone),
                "staff_id": row.staff_id,
                "reason": row.reason,
                "original": row.original,
                "redacted": row.redacted,
            }
            for row in found
        ],
    }


def response_template(row: ResponseTemplate, time_zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "department": row.department,
        "title": row.title,
        "text": row.text,
        "created_datetime": format_w3c(row.created_at, time_zone),
        "updated_datetime": format_w3c(row.updated_at, time_zone),
    }


def likely_parents(
    child: ServiceRequest,
    rule: DuplicateRule,
    found: Sequence[LikelyParent],
    time_zone: ZoneInfo,
    now: datetime,
) -> dict[str, Any]:
    return {
        "service_request_id": child.number,
        "radius_m": rule.radius_m,
        "window_days": rule.window_days,
        "candidates": [
            {
                "distance_m": round(parent.distance_m, 1),
                "request": work_item(parent.service_request, time_zone, now),
            }
            for parent in found
        ],
    }


def citation(row: Citation, number: str, time_zone: ZoneInfo) -> dict[str, Any]:
    """A citation; the fine is a string ("250.00") so that no client rounds it."""
    return {
        "id": row.id,
        "service_request_id": number,
        "department": row.department,
        "party_kind": row.party_kind.value,
        "party_name": row.party_name,
        "licence_number": row.licence_number,
        "party_address": row.party_address,
        "violation_code": row.violation_code,
        "cited_on": row.cited_on.isoformat(),
        "fine_amount": f"{row.fine_amount:.2f}",
        "status": row.status.value,
        "recorded_by_staff_id": row.recorded_by_staff_id,
        "recorded_datetime": format_w3c(row.recorded_at, time_zone),
    }


def party_citations(
    party: str, department: str, found: Sequence[tuple[Citation, str]], time_zone: ZoneInfo
) -> dict[str, Any]:
    return {
        "party": party,
        "department": department,
        "count": len(found),
        "citations": [citation(row, number, time_zone) for row, number in found],
    }


def repeat_parties(department: str, found: Sequence[PartyRecord]) -> dict[str, Any]:
    return {
        "department": department,
        "parties": [
            {
                "party_key": record.party_key,
                "party_kind": record.latest.party_kind.value,
                "party_name": record.latest.party_name,
                "licence_number": record.latest.licence_number,
                "citations": record.citations,
                "complaints": record.complaints,
                "fines_total": f"{record.fines_total:.2f}",
                "first_cited_on": record.first_cited_on.isoformat(),
                "last_cited_on": record.last_cited_on.isoformat(),
            }
            for record in found
        ],
    }


PATTERN_COLUMNS = (
    "kind", "service_code", "label", "lat", "long", "requests",
    "first_requested_datetime", "last_requested_datetime", "service_request_ids",
)  # fmt: skip


def patterns(
    department: str,
    found: Sequence[tuple[Pattern, list[str]]],
    computed_at: datetime | None,
    time_zone: ZoneInfo,
) -> dict[str, Any]:
    """A department's repeat places and hotspots, each with its requests' numbers."""
    return {
        "department": department,
        "computed_datetime": format_w3c(computed_at, time_zone) if computed_at else None,
        "patterns": [
            {
                "kind": pattern.kind.value,
                "service_code": pattern.service_code,
                "label": pattern.label,
                "lat": pattern.lat,
                "long": pattern.long,
                "requests": pattern.requests,
                "first_requested_datetime": format_w3c(pattern.first_requested_at, time_zone),
                "last_requested_datetime": format_w3c(pattern.last_requested_at, time_zone),
                "service_request_ids": numbers,
            }
            for pattern, numbers in found
        ],
    }


def patterns_csv(document: dict[str, Any]) -> str:
    """patterns() as CSV, one pattern a line; a cell a spreadsheet would run as a
    formula (an address typed as =HYPERLINK(…)) starts with a quote, as in the feeds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PATTERN_COLUMNS)
    for row in document["patterns"]:
        cells = {**row, "service_request_ids": " ".join(row["service_request_ids"])}
        writer.writerow([_cell(cells[name]) for name in PATTERN_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
