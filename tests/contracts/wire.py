"""Validate any GeoReport response against the published contracts in schemas/.

Every test client in the suite passes its responses through `check`, so each
response a test receives is checked against the JSON Schema or the XSD of
its endpoint, not only the ones a contract test asks for.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import jsonschema
import referencing
from lxml import etree

SCHEMA_ROOT = Path(__file__).parents[2] / "schemas"
SCHEMAS = SCHEMA_ROOT / "georeport-v2"
HTML_PAGES = ("/open311/unsubscribe/", "/open311/confirm/")
SANDBOX = "/open311/sandbox/"

# (method, path pattern, contract name); the first match wins.
ROUTES = (
    ("GET", r"^/open311/discovery\.", "discovery"),
    ("GET", r"^/open311/v2/services\.", "services"),
    ("GET", r"^/open311/v2/services?/[^/]+\.", "service-definition"),
    ("POST", r"^/open311/v2/requests\.", "post-reply"),
    ("POST", r"^/open311/v2/requests/[^/]+/(answer|feedback)\.", "requests"),
    ("POST", r"^/open311/v2/requests/[^/]+/subscriptions\.", "subscriptions"),
    ("POST", r"^/open311/v2/subscriptions\.", "subscriptions"),
    ("POST", r"^/open311/v2/webhooks\.", "webhooks"),
    ("GET", r"^/open311/v2/webhooks(/[0-9]+)?\.", "webhooks"),
    ("DELETE", r"^/open311/v2/webhooks/[0-9]+\.", "webhooks"),
    ("GET", r"^/open311/v2/tokens/", "token"),
    ("GET", r"^/open311/v2/servicerequestupdates\.", "service-request-updates"),
    ("POST", r"^/open311/v2/servicerequestupdates\.", "update-reply"),
    ("GET", r"^/open311/v2/requests?[./]", "requests"),
    ("POST", r"^/open311/v2/media/positions\.", "photo-positions"),
    ("GET", r"^/open311/v2/articles\.", "articles"),
    ("GET", r"^/open311/v2/articles/[^/]+\.", "article"),
    # The staff API (JSON only): schemas/staff/.
    ("GET", r"^/open311/staff/me$", "staff/staff"),
    ("GET", r"^/open311/staff/requests/[^/]+/likely-parents$", "staff/likely-parents"),
    ("POST", r"^/open311/staff/requests/[^/]+/citations$", "staff/citation"),
    ("POST", r"^/open311/staff/citations/[^/]+/status$", "staff/citation"),
    ("GET", r"^/open311/staff/citations$", "staff/citations"),
    ("GET", r"^/open311/staff/citations/parties$", "staff/parties"),
    ("GET", r"^/open311/staff/patterns$", "staff/patterns"),
    ("POST", r"^/open311/staff/staff$", "staff/staff"),
    ("GET", r"^/open311/staff/queue$", "staff/queue"),
    ("GET", r"^/open311/staff/dashboard/[a-z-]+$", "staff/dashboard"),  # not its .csv
    ("POST", r"^/open311/staff/requests(/[^/]+/[^/]+)?$", "staff/work-item"),
    ("POST", r"^/open311/staff/requests/[^/]+/photos/[0-9]+/hide$", "staff/work-item"),
    ("GET", r"^/open311/staff/templates$", "staff/templates"),
    ("POST", r"^/open311/staff/templates$", "staff/template"),
    ("PUT", r"^/open311/staff/templates/[0-9]+$", "staff/template"),
    ("GET", r"^/open311/staff/requests/[^/]+$", "staff/work-item"),
    # The GeoJSON feed; the CSV and NDJSON feeds have no JSON Schema (tests/opendata checks them).
    ("GET", r"^/open311/feeds/requests\.geojson$", "feeds/requests.geojson"),
)
_COMPILED = tuple((method, re.compile(pattern), name) for method, pattern, name in ROUTES)


def contract_for(method: str, path: str, status: int) -> str | None:
    if path.startswith(SANDBOX):  # the partner sandbox serves the same API, same contracts
        path = "/open311/" + path.removeprefix(SANDBOX)
    if not path.startswith("/open311/") or path.endswith("openapi.json"):
        return None
    if path.startswith(HTML_PAGES):  # for people, not clients: tested as HTML where used
        return None
    if status >= 400:
        return "errors"
    for route_method, pattern, name in _COMPILED:
        if method == route_method and pattern.match(path):
            return name
    return None


@cache
def json_validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads(_schema_file(name).read_text())
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.FormatChecker(), registry=schema_registry()
    )


def _schema_file(name: str) -> Path:
    """'requests' is a GeoReport schema; 'staff/queue' one of schemas/staff/."""
    if "/" in name:
        return SCHEMA_ROOT / f"{name}.schema.json"
    return SCHEMAS / f"{name}.schema.json"


@cache
def schema_registry() -> referencing.Registry:
    """Every schema by its $id and by its file name, so one schema can $ref a
    sibling file as openapi.json's loader resolves it (work-item.schema.json)."""
    resources = []
    for path in SCHEMA_ROOT.glob("*/*.schema.json"):
        contents = json.loads(path.read_text())
        resource = referencing.Resource.from_contents(contents)
        resources += [(contents["$id"], resource), (path.name, resource)]
    return referencing.Registry().with_resources(resources)


@cache
def xml_schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / f"{name}.xsd")))


def check(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """Raise AssertionError if the body breaks its endpoint's contract."""
    name = contract_for(method, path, status)
    if name is None:
        return
    if content_type.startswith("application/javascript"):  # JSONP: /**/callback([...]);
        body = body[body.index(b"(") + 1 : body.rindex(b")")]
        content_type = "application/json"
    # The bare types (issue 14, item 12): a charset parameter is a failure too.
    if content_type in ("application/json", "application/geo+json"):
        json_validator(name).validate(json.loads(body))
    elif content_type == "text/xml":
        assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body[:60]
        xml_schema(name).assertValid(etree.fromstring(body))
    else:
        raise AssertionError(f"{method} {path}: unexpected Content-Type {content_type!r}")
