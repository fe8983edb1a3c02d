"""What the request page and the queue show beyond the workflow: redactions (for roles
that may moderate), the department's response templates, and pattern flags."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from open311.console.pages import local
from open311.extensions import db
from open311.models import ServiceRequest, Staff
from open311.patterns import queries as pattern_queries
from open311.workflow import moderation, permissions, templates
from open311.workflow.permissions import Operation


def request_extras(staff: Staff, service_request: ServiceRequest) -> dict[str, Any]:
    """What the request page adds for moderation, templates and patterns."""
    session_ = db.session()
    department = service_request.agency_responsible
    may_moderate = permissions.allowed(staff, Operation.MODERATE, department)
    time_zone = current_app.extensions["open311.jurisdiction"].time_zone
    return {
        "may_moderate": may_moderate,
        "redactions": [
            {"at": local(r.at, time_zone), "original": r.original or "", "redacted": r.redacted,
             "reason": r.reason}
            for r in (moderation.redactions(session_, service_request.id) if may_moderate else ())
        ],
        "response_templates": [
            {"id": t.id, "title": t.title}
            for t in (templates.of_department(session_, department) if department else ())
        ],
        "pattern_flags": flag_rows(
            pattern_queries.patterns_for_request(session_, service_request.number), time_zone
        ),
    }  # fmt: skip


def flag_rows(found: list[pattern_queries.Flag], time_zone: ZoneInfo) -> list[dict[str, Any]]:
    return [
        {"kind": f.kind.value, "label": f.label, "requests": f.requests,
         "since": local(f.first_requested_at, time_zone)[:10]}
        for f in found
    ]  # fmt: skip


def queue_flags(numbers: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each queue row's pattern flags, read in one query."""
    time_zone = current_app.extensions["open311.jurisdiction"].time_zone
    found = pattern_queries.flags_for_requests(db.session(), numbers)
    return {number: flag_rows(flags, time_zone) for number, flags in found.items()}
