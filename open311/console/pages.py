"""Models → the plain dicts the console's templates render (as payloads do for the API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from open311.accounts import staff as staff_accounts
from open311.catalog.answers import labelled
from open311.media.actions import photo_url
from open311.models import RequestEvent, RequestPhoto, ServiceRequest, Staff, Status
from open311.service_requests.emergency import is_flagged
from open311.workflow.transitions import public_summary


def local(when: datetime | None, time_zone: ZoneInfo) -> str:
    return when.astimezone(time_zone).strftime("%Y-%m-%d %H:%M") if when else ""


def card(
    service_request: ServiceRequest, names: dict[str, str], time_zone: ZoneInfo, now: datetime
) -> dict[str, Any]:
    """A request as a row of the queue."""
    due_at = service_request.due_at
    overdue = due_at is not None and due_at < now and service_request.status is Status.OPEN
    return {
        "number": service_request.number,
        "service": names.get(service_request.service_code, service_request.service_code),
        "service_code": service_request.service_code,
        "stage": service_request.stage.value,
        "department": service_request.agency_responsible,
        "assignee": service_request.assignee,
        "address": service_request.address,
        "lat": service_request.lat,
        "long": service_request.long,
        "requested": local(service_request.requested_at, time_zone),
        "due": local(due_at, time_zone),
        "overdue": overdue,
        "overdue_days": (now - due_at).days if overdue and due_at else 0,
        "emergency": is_flagged(service_request.service_notice),
        "description": service_request.description or "",
        "community_area": service_request.community_area,
        "ward": service_request.ward,
    }


def detail(
    service_request: ServiceRequest,
    names: dict[str, str],
    time_zone: ZoneInfo,
    now: datetime,
    questions: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The request page's head: the card, with what the reporter gave (`questions`: its
    service's, which name the answers)."""
    return {
        **card(service_request, names, time_zone, now),
        "answers": labelled(questions, service_request.attributes or {}),
        "reporter": {
            "name": " ".join(
                part for part in (service_request.first_name, service_request.last_name) if part
            ),
            "email": service_request.email,
            "phone": service_request.phone,
        },
        "channel": service_request.channel,
        "scheduled_for": service_request.scheduled_for.isoformat()
        if service_request.scheduled_for
        else None,
        "close_reason": service_request.close_reason.value
        if service_request.close_reason
        else None,
        "duplicate_of": service_request.duplicate_of,
        "status_notes": service_request.status_notes,
    }


def timeline(
    events: Sequence[RequestEvent], staff_names: dict[int, str], time_zone: ZoneInfo
) -> list[dict[str, Any]]:
    """The whole history, newest first: who, when, what, and both kinds of note."""
    rows = []
    for event in reversed(events):
        details = event.details or {}
        rows.append(
            {
                "at": local(event.at, time_zone),
                "action": event.action,
                "summary": public_summary(event.action, details) or event.action.replace("_", " "),
                "who": staff_names.get(event.staff_id or 0) or event.actor_kind.value,
                "from_stage": event.from_stage.value if event.from_stage else None,
                "to_stage": event.to_stage.value if event.to_stage else None,
                "public_note": event.public_note,
                "internal_note": event.internal_note,
                "details": sorted(
                    (key, value) for key, value in details.items() if value not in (None, "")
                ),
            }
        )
    return rows


def photos(found: Sequence[RequestPhoto], base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "position": photo.position,
            "hidden": photo.hidden_at is not None,
            "reason": photo.hidden_reason,
            "url": photo_url(base_url, photo.name),
            "thumbnail": photo_url(base_url, photo.thumbnail_name),
        }
        for photo in found
    ]


def staff_row(staff: Staff) -> dict[str, Any]:
    return {
        **staff_accounts.summary(staff),
        "has_password": staff.password_hash is not None,
        "has_code": staff.totp_secret is not None,
    }
