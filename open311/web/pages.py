"""Plain dicts for the templates, built from domain objects (as payloads.py does for the API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import format_date, format_time

from open311.accounts.residents import OwnRequest
from open311.estimates import wording
from open311.formats.markdown import to_safe_html
from open311.knowledge.queries import ArticleTitle
from open311.media.actions import photo_url
from open311.models import Article, CloseReason, Intake, RequestPhoto, Service, Status
from open311.service_requests.queries import Cluster, PublicRequest, RequestExtras
from open311.web.i18n import _, ngettext, service_description, service_name
from open311.workflow.queries import PublicNote


def service_card(service: Service) -> dict[str, Any]:
    return {
        "code": service.code,
        "name": service_name(service.code, service.name),
        "description": service_description(service.code, service.description),
        "group": service.group,
    }


def when(moment: datetime) -> str:
    """A moment in the city's time and the visitor's language, to the minute."""
    return f"{format_date(moment, 'medium')}, {format_time(moment, 'short')}"


def article_summary(article: Article | ArticleTitle) -> dict[str, Any]:
    return {"slug": article.slug, "title": article.title, "summary": article.summary}


def article_page(article: Article, names: dict[str, str]) -> dict[str, Any]:
    """An article with its body as sanitised HTML (formats/markdown.py), and the
    services it is about, to report from it."""
    return {
        **article_summary(article),
        "body_html": to_safe_html(article.body),
        "services": [{"code": c, "name": names[c]} for c in article.service_codes if c in names],
    }


def expected_words(
    requested_at: datetime, early: datetime | None, late: datetime | None
) -> str | None:
    """The calibrated 10th-90th percentile range in words; None without one."""
    return wording.expected_words(requested_at, early, late, _, ngettext)


def request_summary(row: PublicRequest) -> dict[str, Any]:
    """A request in a list: enough for its card."""
    return {
        "number": row.number,
        "service_name": service_name(row.service_code, row.service_name),
        "status": _("Open") if row.status is Status.OPEN else _("Closed"),
        "is_open": row.status is Status.OPEN,
        "address": row.address,
        "requested": when(row.requested_at),
        "lat": row.lat,
        "long": row.long,
    }


def ward_order(code: str) -> tuple[int, str]:
    """Wards by number (2 before 10), any other code after them."""
    return (int(code), "") if code.isdigit() else (10**9, code)


def cluster_marker(cell: Cluster, names: Mapping[str, str]) -> dict[str, Any]:
    """A map marker of one cell: a request's own (label and link), or a count to zoom into."""
    marker: dict[str, Any] = {
        "count": cell.requests,
        "lat": cell.lat,
        "long": cell.long,
        "bounds": [[cell.min_lat, cell.min_long], [cell.max_lat, cell.max_long]],
    }
    if cell.requests == 1:
        name = service_name(cell.service_code, names.get(cell.service_code, cell.service_code))
        marker["number"] = cell.number
        marker["label"] = f"{name} {cell.number}"
        marker["url"] = url_for("web.track_request", number=cell.number)
    else:
        marker["label"] = ngettext(
            "%(num)d request here: zoom in to see them",
            "%(num)d requests here: zoom in to see them",
            cell.requests,
        )
    return marker


def own_request(row: OwnRequest) -> dict[str, Any]:
    """One of a resident's requests in "My requests": public ones link to their page."""
    public = row.intake is Intake.ACCEPTED
    if row.intake is Intake.PENDING_REVIEW:
        status = _("Waiting for the City's review")
    elif row.intake is Intake.REJECTED:
        status = _("Not accepted")
    else:
        status = _("Open") if row.status is Status.OPEN else _("Closed")
    return {
        "number": row.number,
        "service_name": service_name(row.service_code, row.service_name),
        "status": status,
        "is_open": public and row.status is Status.OPEN,
        "public": public,
        "address": row.address,
        "requested": when(row.requested_at),
    }


def request_page(
    row: PublicRequest,
    extras: RequestExtras,
    notes: Sequence[PublicNote],
    close_reason: CloseReason | None,
    photos: Sequence[RequestPhoto] = (),
) -> dict[str, Any]:
    """What the track page shows of one public request."""
    is_open = row.status is Status.OPEN
    return {
        "number": row.number,
        "service_name": service_name(row.service_code, row.service_name),
        "service_code": row.service_code,
        "status": _("Open") if is_open else _("Closed"),
        "is_open": is_open,
        "completed": close_reason is CloseReason.COMPLETED,
        "status_notes": row.status_notes,
        "description": row.description,
        "address": row.address,
        "requested": when(row.requested_at),
        "updated": when(row.updated_at),
        "expected": expected_words(
            row.requested_at, extras.expected_early_at, extras.expected_late_at
        )
        if is_open
        else None,
        "expected_by": when(row.expected_at) if is_open and row.expected_at else None,
        "duplicate_of": extras.duplicate_of,
        "timeline": _timeline(row, notes),
        "photos": [photo_links(photo) for photo in photos],
    }


def photo_links(photo: RequestPhoto) -> dict[str, Any]:
    """A thumbnail that links to the display size, both served under this site's own host."""
    return {
        "url": photo_url("", photo.name),
        "thumbnail_url": photo_url("", photo.thumbnail_name),
        "width": photo.thumbnail_width,
        "height": photo.thumbnail_height,
    }


def _timeline(row: PublicRequest, notes: Sequence[PublicNote]) -> list[dict[str, Any]]:
    """The same steps as the API's notes (georeport payloads): opened, then the history,
    or the closing alone for a request imported from the City's data."""
    opened = _step(row.requested_at, _("Request opened"), None)
    if notes:
        return [opened, *(_step(n.at, n.summary, n.description) for n in notes)]
    if row.status is Status.CLOSED:
        return [opened, _step(row.updated_at, _("Request closed"), row.status_notes)]
    return [opened]


def _step(at: datetime, summary: str, description: str | None) -> dict[str, Any]:
    return {
        "when": when(at),
        "iso": at.isoformat(),
        "summary": summary,
        "description": description,
    }
