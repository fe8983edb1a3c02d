"""Input at the edge for subscriptions and webhooks (marshmallow); empty equals absent."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from werkzeug.datastructures import MultiDict

from open311.errors import InvalidRequest
from open311.notifications.followers import follower, present
from open311.notifications.subscriptions import Follower, Scope
from open311.validation import load, without_control_characters

AREA_KINDS = ("ward", "community_area", "police_district", "neighborhood")
MAX_RADIUS_METRES = 5_000.0  # a neighbourhood, not the city
MAX_FILTERS = 100  # request ids one webhook may list
# A webhook's filters: each may repeat or be a comma list.
FILTERS = ("service_code", *AREA_KINDS, "service_request_id")


class ScopeForm(Schema):
    """What a resident follows (POST /subscriptions): exactly one kind of thing."""

    class Meta:
        unknown = EXCLUDE

    service_code = fields.String(validate=validate.Length(1, 64))
    ward = fields.String(validate=validate.Length(1, 64))
    community_area = fields.String(validate=validate.Length(1, 64))
    police_district = fields.String(validate=validate.Length(1, 64))
    neighborhood = fields.String(validate=validate.Length(1, 64))
    lat = fields.Float(validate=validate.Range(-90, 90))
    long = fields.Float(validate=validate.Range(-180, 180))
    address_string = fields.String(validate=validate.Length(max=500))
    radius = fields.Float(validate=validate.Range(1, MAX_RADIUS_METRES))

    @validates_schema
    def _one_kind(self, data: dict[str, Any], **_kwargs: Any) -> None:
        circle = {"lat", "long", "address_string", "radius"} & data.keys()
        kinds = [key for key in ("service_code", *AREA_KINDS) if key in data] + (
            ["radius"] if circle else []
        )
        if len(kinds) != 1:
            raise ValidationError(
                "follow exactly one of service_code, ward, community_area, police_district, "
                "neighborhood, or radius (metres) around lat and long or address_string."
            )
        if circle and "radius" not in data:
            raise ValidationError("radius (metres) is required with lat/long or address_string.")
        if ("lat" in data) != ("long" in data):
            raise ValidationError("lat and long must be sent together.")


class WebhookForm(Schema):
    class Meta:
        unknown = EXCLUDE

    url = fields.Url(
        required=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=2048),
    )
    accounts = fields.Boolean(truthy={"true"}, falsy={"false"})


def subscription(params: MultiDict[str, str]) -> tuple[Scope, Follower]:
    """POST /subscriptions: what to follow and who follows it."""
    data = load(ScopeForm(), present(params, ScopeForm().fields))
    area = next(((kind, data[kind]) for kind in AREA_KINDS if kind in data), (None, None))
    scope = Scope(
        service_code=data.get("service_code"),
        area_kind=area[0],
        area_code=area[1],
        lat=data.get("lat"),
        long=data.get("long"),
        address_string=data.get("address_string"),
        radius_meters=data.get("radius"),
    )
    return scope, follower(params)


LANGUAGES = ("en", "es")  # the languages emails are written in (the site's)


def language(params: MultiDict[str, str]) -> str | None:
    """The optional `language` of a subscription's emails; None when absent (English for a
    new one, unchanged for one that exists)."""
    given = present(params, ("language",)).get("language")
    if given is not None and given not in LANGUAGES:
        raise InvalidRequest(f"language: one of {', '.join(LANGUAGES)}.")
    return given


def webhook(params: MultiDict[str, str]) -> tuple[str, list[Scope], bool]:
    """POST /webhooks: the URL, its filters (each may repeat or be a comma list), accounts."""
    data = load(WebhookForm(), present(params, ("url", "accounts")))
    scopes = [Scope(service_code=code) for code in _listed(params, "service_code")]
    for kind in AREA_KINDS:
        scopes += [Scope(area_kind=kind, area_code=code) for code in _listed(params, kind)]
    scopes += [Scope(service_request_id=number) for number in _listed(params, "service_request_id")]
    if len(scopes) > MAX_FILTERS:
        raise InvalidRequest(f"A webhook may have at most {MAX_FILTERS} filters; register another.")
    return data["url"], scopes, bool(data.get("accounts", False))


def _listed(params: MultiDict[str, str], key: str) -> list[str]:
    values = [
        part.strip()
        for raw in params.getlist(key)
        for part in without_control_characters(raw).split(",")
    ]
    return list(dict.fromkeys(value for value in values if value))
