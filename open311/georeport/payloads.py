"""Model → GeoReport v2 dict. The only place that knows the wire names."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from open311 import sandbox
from open311.formats.markdown import to_safe_html
from open311.formats.w3c import format_w3c
from open311.models import (
    Article,
    Channel,
    RequestPhoto,
    Service,
    ServiceRequest,
    ServiceType,
    Stage,
    Status,
    Subscription,
    Webhook,
)
from open311.service_requests.queries import PublicRequest, RequestExtras
from open311.workflow.queries import PublicNote, PublicUpdate

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ["text/xml", "application/json"]
COORDINATE_DECIMALS = 7  # ~1 cm; FixMyStreet sends 6


def discovery(config: Mapping[str, Any], changeset: str, base_url: str) -> dict[str, Any]:
    """Production's endpoint, and the partner sandbox's beside it as `test` when it is on
    (the same document from either)."""
    places = [(f"{sandbox.PRODUCTION_PREFIX}/v2/", config["ENDPOINT_TYPE"])]
    if sandbox.enabled(config):
        places.append((f"{sandbox.PREFIX}/v2/", "test"))
    return {
        "changeset": changeset,
        "contact": config["CONTACT"],
        "key_service": config["KEY_SERVICE"],
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url + path,
                "changeset": changeset,
                "type": endpoint_type,
                "formats": FORMATS,
            }
            for path, endpoint_type in places
        ],
    }


def service(entry: Service) -> dict[str, Any]:
    return {
        "service_code": entry.code,
        "service_name": entry.name,
        "description": entry.description,
        "metadata": entry.has_metadata,
        "type": entry.type.value,
        "keywords": entry.keywords or None,
        "group": entry.group,
    }


def service_definition(
    entry: Service, articles: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The definition; with extensions=true, the articles to show before the form."""
    definition = {
        "service_code": entry.code,
        "attributes": [_attribute(a) for a in sorted(entry.attributes, key=lambda a: a["order"])],
    }
    if articles is not None:
        definition["articles"] = articles
    return definition


def _attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "variable": attribute["variable"],
        "code": attribute["code"],
        "datatype": attribute["datatype"],
        "required": attribute["required"],
        "datatype_description": attribute.get("datatype_description"),
        "order": attribute["order"],
        "description": attribute["description"],
        "values": [{"key": v["key"], "name": v["name"]} for v in attribute.get("values", [])],
    }


def article_link(entry: Article, url: str) -> dict[str, Any]:
    return {"id": entry.slug, "title": entry.title, "url": url}


def article_summary(entry: Article, url: str, time_zone: ZoneInfo) -> dict[str, Any]:
    """An article in search results: everything but the body."""
    return {
        "id": entry.slug,
        "title": entry.title,
        "summary": entry.summary,
        "service_codes": entry.service_codes,
        "keywords": entry.keyword_list,
        "updated_datetime": format_w3c(entry.changed_at, time_zone),
        "url": url,
    }


def article(entry: Article, url: str, time_zone: ZoneInfo) -> dict[str, Any]:
    """One article, its Markdown body rendered to sanitised HTML."""
    return {**article_summary(entry, url, time_zone), "body_html": to_safe_html(entry.body)}


def post_reply(filed: ServiceRequest, entry: Service) -> dict[str, Any]:
    """The POST reply: an id, a token (batch) or neither (blackbox), never both."""
    reply: dict[str, Any] = {}
    if entry.type is ServiceType.REALTIME:
        reply["service_request_id"] = filed.number
    elif entry.type is ServiceType.BATCH:
        reply["token"] = filed.token
    reply["service_notice"] = filed.service_notice
    reply["account_id"] = filed.account_id
    return reply


def token(filed: ServiceRequest, accepted: bool) -> dict[str, Any]:
    """A token's request: the id appears once the city has accepted the request."""
    if accepted:
        return {"service_request_id": filed.number, "token": filed.token}
    return {"token": filed.token}


def service_request(row: PublicRequest, time_zone: ZoneInfo) -> dict[str, Any]:
    """One public request; private fields are not in a PublicRequest."""
    return {
        "service_request_id": row.number,
        "status": row.status.value,
        "status_notes": row.status_notes,
        "service_name": row.service_name,
        "service_code": row.service_code,
        "description": row.description,
        "agency_responsible": row.agency_responsible,
        "service_notice": row.service_notice,
        "requested_datetime": format_w3c(row.requested_at, time_zone),
        "updated_datetime": format_w3c(row.updated_at, time_zone),
        "expected_datetime": _optional_time(row.expected_at, time_zone),
        "address": row.address,
        "address_id": row.address_id,
        "zipcode": row.zipcode,
        "lat": round(row.lat, COORDINATE_DECIMALS),
        "long": round(row.long, COORDINATE_DECIMALS),
        "media_url": row.media_url,
    }


def service_requests(rows: Sequence[PublicRequest], time_zone: ZoneInfo) -> list[dict[str, Any]]:
    return [service_request(row, time_zone) for row in rows]


def _optional_time(moment: datetime | None, time_zone: ZoneInfo) -> str | None:
    return None if moment is None else format_w3c(moment, time_zone)


def extended(
    public: dict[str, Any],
    row: PublicRequest,
    extras: RequestExtras,
    history: Sequence[PublicNote],
    time_zone: ZoneInfo,
) -> dict[str, Any]:
    """A public request with Chicago's extensions: answers, areas, history, and
    the range around expected_datetime.

    `notes` is the request's public history: when it was opened, then each
    step its department took, with the public note given. Internal notes and
    who did it are never in it.
    """
    return {
        **public,
        "attributes": extras.attributes,
        "extended_attributes": {
            "channel": extras.channel,
            "ward": extras.ward,
            "community_area": extras.community_area,
            "police_district": extras.police_district,
            "neighborhood": extras.neighborhood,
            "zip": row.zipcode,
            "duplicate": extras.duplicate_of is not None,
            "parent_service_request_id": extras.duplicate_of,
            "expected_range": _expected_range(row, extras, time_zone),
        },
        "notes": _notes(row, history, time_zone),
    }


def photos(shown: Sequence[RequestPhoto], url: Callable[[str], str]) -> list[dict[str, Any]]:
    """Extension (extensions=true): every photo not hidden, in the order sent;
    `url` makes a file name our public URL."""
    return [
        {
            "url": url(photo.name),
            "thumbnail_url": url(photo.thumbnail_name),
            "width": photo.width,
            "height": photo.height,
        }
        for photo in shown
    ]


def _expected_range(
    row: PublicRequest, extras: RequestExtras, time_zone: ZoneInfo
) -> dict[str, Any] | None:
    """The 10th-90th percentile around expected_datetime and its basis (README,
    "Expected time to resolve"); null for a closed request or one without any."""
    if row.status is Status.CLOSED or extras.expected_basis is None:
        return None
    return {
        "p10": _optional_time(extras.expected_early_at, time_zone),
        "p50": _optional_time(row.expected_at, time_zone),
        "p90": _optional_time(extras.expected_late_at, time_zone),
        "basis": extras.expected_basis,
    }


def _notes(
    row: PublicRequest, history: Sequence[PublicNote], time_zone: ZoneInfo
) -> list[dict[str, Any]]:
    opened = _note(row.requested_at, "Request opened", "opened", None, time_zone)
    if history:
        steps = [_note(n.at, n.summary, n.action, n.description, time_zone) for n in history]
        return [opened, *steps]
    if row.status is Status.CLOSED:
        # Imported from the City's data: only the closing time is known.
        closed = _note(row.updated_at, "Request closed", "closed", row.status_notes, time_zone)
        return [opened, closed]
    return [opened]


def _note(
    at: datetime, summary: str, kind: str, description: str | None, time_zone: ZoneInfo
) -> dict[str, Any]:
    return {
        "datetime": format_w3c(at, time_zone),
        "summary": summary,
        "type": kind,
        "description": description,
    }


# --- subscriptions and webhooks (open311/notifications) ---------------------------------


def _follows(entry: Subscription, numbers: Mapping[int, str]) -> tuple[str, str, float | None]:
    """(what kind of thing, which one, radius in metres) a subscription follows."""
    if entry.service_request_id is not None:
        return "service_request", numbers[entry.service_request_id], None
    if entry.service_code is not None:
        return "service", entry.service_code, None
    if entry.area_kind is not None:
        return entry.area_kind, entry.area_code or "", None
    return "radius", f"{entry.center_lat!r},{entry.center_long!r}", entry.radius_meters


def subscription(
    entry: Subscription, public_id: str, numbers: Mapping[int, str], time_zone: ZoneInfo
) -> dict[str, Any]:
    """The reply to a subscription request.

    For an email or phone it says the same whoever owns the address: pending (its
    owner decides, through the message we send), and the time it was last asked for,
    whether the address is new, follows already, or filed the request itself (whose
    subscription, made at filing, is confirmed). public_id hides the row's number.
    """
    follows, value, radius = _follows(entry, numbers)
    asked = entry.channel in (Channel.EMAIL, Channel.SMS)
    created = (entry.confirmation_sent_at if asked else None) or entry.created_at
    return {
        "subscription_id": public_id,
        "channel": entry.channel.value,
        "state": "pending" if asked or entry.confirmed_at is None else "active",
        "follows": follows,
        "value": value,
        "radius": radius,
        "created_datetime": format_w3c(created, time_zone),
    }


def webhook(
    entry: Webhook,
    filters: Sequence[Subscription],
    numbers: Mapping[int, str],
    time_zone: ZoneInfo,
    *,
    with_secret: bool = False,
) -> dict[str, Any]:
    """A partner's webhook; the secret only in the reply that created it."""
    payload: dict[str, Any] = {"webhook_id": str(entry.id), "url": entry.url}
    if with_secret:
        payload["secret"] = entry.secret
    payload["accounts"] = entry.accounts
    payload["filters"] = [
        dict(zip(("follows", "value"), _follows(f, numbers)[:2], strict=True)) for f in filters
    ]
    payload["created_datetime"] = format_w3c(entry.created_at, time_zone)
    payload["deleted_datetime"] = (
        format_w3c(entry.deleted_at, time_zone) if entry.deleted_at else None
    )
    return payload


# FixMyStreet's extended statuses for our stages (open311-reference.md Part 2 §2.6).
# FixMyStreet reads OPEN as "confirmed" and has no "waiting for the reporter":
# a question to the reporter is still the council investigating.
FMS_STATUS_OF_STAGE = {
    Stage.NEW: "OPEN",
    Stage.ACKNOWLEDGED: "INVESTIGATING",
    Stage.ASSIGNED: "IN_PROGRESS",
    Stage.SCHEDULED: "ACTION_SCHEDULED",
    Stage.IN_PROGRESS: "IN_PROGRESS",
    Stage.AWAITING_REPORTER: "INVESTIGATING",
    Stage.REOPENED: "OPEN",
}
FMS_STATUS_OF_CLOSE_REASON = {
    "completed": "FIXED",
    "duplicate": "DUPLICATE",
    "not_city_responsibility": "NOT_COUNCILS_RESPONSIBILITY",
    "unable_to_locate": "NO_FURTHER_ACTION",  # FixMyStreet: "unable to fix"
    "cancelled": "CANCELLED",
}


def fms_status(stage: Stage, close_reason: str | None) -> str:
    if stage is Stage.CLOSED:
        return FMS_STATUS_OF_CLOSE_REASON.get(close_reason or "", "CLOSED")
    return FMS_STATUS_OF_STAGE[stage]


def request_update(update: PublicUpdate, time_zone: ZoneInfo) -> dict[str, Any]:
    """One <request_update> of GET servicerequestupdates: public fields only."""
    return {
        "update_id": str(update.event_id),
        "service_request_id": update.number,
        "status": fms_status(update.stage, update.close_reason),
        "updated_datetime": format_w3c(update.at, time_zone),
        "description": update.description,
        "media_url": update.media_url,
    }
