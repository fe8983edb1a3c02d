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

# (method, path pattern) → contract name; the first match wins.
ROUTES = (
    ("GET", re.compile(r"^/open311/discovery\.")),
    ("GET", re.compile(r"^/open311/v2/services\.")),
    ("GET", re.compile(r"^/open311/v2/services?/[^/]+\.")),
    ("POST", re.compile(r"^/open311/v2/requests\.")),
    ("POST", re.compile(r"^/open311/v2/requests/[^/]+/answer\.")),
    ("GET", re.compile(r"^/open311/v2/tokens/")),
    ("GET", re.compile(r"^/open311/v2/requests?[./]")),
    # The staff API (JSON only): schemas/staff/.
    ("GET", re.compile(r"^/open311/staff/me$")),
    ("POST", re.compile(r"^/open311/staff/staff$")),
    ("GET", re.compile(r"^/open311/staff/queue$")),
    ("POST", re.compile(r"^/open311/staff/requests(/[^/]+/[^/]+)?$")),
    ("GET", re.compile(r"^/open311/staff/requests/[^/]+$")),
    # The GeoJSON feed; the CSV and NDJSON feeds have no JSON Schema (tests/opendata checks them).
    ("GET", re.compile(r"^/open311/feeds/requests\.geojson$")),
)
NAMES = (
    "discovery", "services", "service-definition", "post-reply", "requests", "token", "requests",
    "staff/staff", "staff/staff", "staff/queue", "staff/work-item", "staff/work-item",
    "feeds/requests.geojson",
)  # fmt: skip


def contract_for(method: str, path: str, status: int) -> str | None:
    if not path.startswith("/open311/") or path.endswith("openapi.json"):
        return None
    if status >= 400:
        return "errors"
    for (route_method, pattern), name in zip(ROUTES, NAMES, strict=True):
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
    if content_type.startswith(("application/json", "application/geo+json")):
        json_validator(name).validate(json.loads(body))
    elif content_type.startswith("text/xml"):
        assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body[:60]
        xml_schema(name).assertValid(etree.fromstring(body))
    else:
        raise AssertionError(f"{method} {path}: unexpected Content-Type {content_type!r}")
