"""Plain dicts for the templates, built from domain objects (as payloads.py does for the API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from flask import current_app, get_template_attribute, url_for
from flask_babel import format_date, format_time, get_locale
from markupsafe import Markup

from open311.accounts.residents import OwnRequest
from open311.estimates import wording
from open311.formats.markdown import to_safe_html
from open311.knowledge.queries import ArticleTitle
from open311.media.actions import photo_url
from open311.models import Article, CloseReason, Intake, RequestPhoto, Service, Status
from open311.service_requests.queries import Cluster, PublicRequest, RequestExtras
from open311.web.forms import attribute_id
from open311.web.i18n import (
    _,
    attributes_in_language,
    ngettext,
    service_description,
    service_name,
)
from open311.workflow.queries import PublicNote

# singlevaluelists with more choices than this are a <select>, fewer are radio buttons
MAX_RADIOS = 6


def service_card(service: Service) -> dict[str, Any]:
    return {
        "code": service.code,
        "name": service_name(service.code, service.name),
        "description": service_description(service.code, service.description),
        "group": service.group,
    }


def questions(service: Service) -> list[dict[str, Any]]:
    """The service definition's questions in order, each with what its control needs."""
    attributes = attributes_in_language(service.code, service.attributes)
    asked = [a for a in attributes if a.get("variable", True)]
    return [_question(a) for a in sorted(asked, key=lambda a: a.get("order", 0))]


BLANK_FIELDS: Final = "open311.web.blank_fields"  # app.extensions: {key: BlankFields}
BLANK_FIELDS_KEPT: Final = 2000  # forgotten all at once past it


@dataclass(frozen=True)
class BlankFields:
    """The parts of the service form that show nothing typed yet, as HTML."""

    questions: Markup
    contact: Markup


def blank_fields(service: Service) -> BlankFields:
    """The form's questions and contact fields with nothing answered: rendered once per
    service version and language, then reused, since every GET of the form shows the
    same ones. A form sent back with answers or errors renders them afresh."""
    key = (service.code, service.changed_at, str(get_locale()))
    cache: dict[tuple[Any, ...], BlankFields] = current_app.extensions.setdefault(BLANK_FIELDS, {})
    found = cache.get(key)
    if found is None:
        if len(cache) >= BLANK_FIELDS_KEPT:
            cache.clear()
        question = get_template_attribute("web/macros.html", "question")
        contact = get_template_attribute("web/macros.html", "contact_fields")
        found = cache[key] = BlankFields(
            Markup("".join(question(q, {}, {}) for q in questions(service))),
            Markup(contact({}, {})),
        )
    return found


def notes(service: Service) -> list[str]:
    """The definition's statements that ask nothing (variable = false): shown as text."""
    attributes = attributes_in_language(service.code, service.attributes)
    return [a.get("description", "") for a in attributes if not a.get("variable", True)]


def _question(attribute: dict[str, Any]) -> dict[str, Any]:
    code = attribute["code"]
    datatype = attribute["datatype"]
    multiple = datatype == "multivaluelist"
    values = attribute.get("values", [])
    return {
        "code": code,
        "id": attribute_id(code),
        "name": f"attribute[{code}][]" if multiple else f"attribute[{code}]",
        "datatype": datatype,
        "control": _control(datatype, len(values)),
        "required": attribute.get("required", False),
        "label": attribute.get("description") or code,
        "values": values,
        "min": attribute.get("min"),
        "max": attribute.get("max"),
    }


def _control(datatype: str, choices: int) -> str:
    if datatype == "singlevaluelist":
        return "radios" if choices <= MAX_RADIOS else "select"
    return {"multivaluelist": "checkboxes", "text": "textarea"}.get(datatype, datatype)


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
