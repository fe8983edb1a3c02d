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
from lxml import etree

SCHEMAS = Path(__file__).parents[2] / "schemas" / "georeport-v2"

# (method, path pattern) → contract name; the first match wins.
ROUTES = (
    ("GET", re.compile(r"^/open311/discovery\.")),
    ("GET", re.compile(r"^/open311/v2/services\.")),
    ("GET", re.compile(r"^/open311/v2/services?/[^/]+\.")),
    ("POST", re.compile(r"^/open311/v2/requests\.")),
    ("GET", re.compile(r"^/open311/v2/tokens/")),
    ("GET", re.compile(r"^/open311/v2/requests?[./]")),
    ("GET", re.compile(r"^/open311/v2/articles\.")),
    ("GET", re.compile(r"^/open311/v2/articles/[^/]+\.")),
)
NAMES = ("discovery", "services", "service-definition", "post-reply", "token", "requests", "articles", "article")


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
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


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
    if content_type.startswith("application/json"):
        json_validator(name).validate(json.loads(body))
    elif content_type.startswith("text/xml"):
        assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body[:60]
        xml_schema(name).assertValid(etree.fromstring(body))
    else:
        raise AssertionError(f"{method} {path}: unexpected Content-Type {content_type!r}")
