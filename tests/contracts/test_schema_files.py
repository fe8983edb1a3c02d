"""The published wire formats in schemas/ are valid and say what we mean.

These tests check the contract files themselves, with no app and no database:
each JSON Schema is valid draft 2020-12, each XSD compiles, documents written
from the reference validate and broken ones do not, every JSON example is also
valid XML once mapped back through the Spark convention, and the OpenAPI
document served at /open311/v2/openapi.json is self-contained and valid.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import openapi_spec_validator
import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from open311.georeport.openapi import load_openapi
from tests.contracts import wire

SCHEMAS = Path(__file__).parents[2] / "schemas"
GEOREPORT = SCHEMAS / "georeport-v2"
JSON_SCHEMA_FILES = sorted(SCHEMAS.glob("**/*.schema.json"))
XSD_FILES = sorted(GEOREPORT.glob("*.xsd"))

# JSON schema file → (XSD file, XML root tag), for the Spark round trip.
XML_TWINS = {
    "discovery": ("discovery.xsd", "discovery"),
    "services": ("services.xsd", "services"),
    "service-definition": ("service-definition.xsd", "service_definition"),
    "post-reply": ("post-reply.xsd", "service_requests"),
    "token": ("token.xsd", "service_requests"),
    "requests": ("requests.xsd", "service_requests"),
    "errors": ("errors.xsd", "errors"),
    "service-request-updates": ("service-request-updates.xsd", "service_request_updates"),
    "update-reply": ("update-reply.xsd", "service_request_updates"),
    "articles": ("articles.xsd", "articles"),
    "article": ("article.xsd", "articles"),
    "subscriptions": ("subscriptions.xsd", "subscriptions"),
    "webhooks": ("webhooks.xsd", "webhooks"),
    "photo-positions": ("photo-positions.xsd", "photo_positions"),
}
ITEM_TAGS = {
    "articles": "article",
    "service_codes": "service_code",
    "keywords": "keyword",
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "notes": "note",
    "subscriptions": "subscription",
    "webhooks": "webhook",
    "filters": "filter",
    "service_request_updates": "request_update",
    "photos": "photo",
    "photo_positions": "photo_position",
}


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _validator(name: str) -> Draft202012Validator:
    """`name` is a path under schemas/ without `.schema.json`."""
    return Draft202012Validator(_read(SCHEMAS / f"{name}.schema.json"))


@cache
def _xsd(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(GEOREPORT / name)))


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def _without(base: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in base.items() if k != key}


# --- Documents written from the reference (Part 1), with our id and time style.

REQUEST: dict[str, Any] = {
    "service_request_id": "SR26-00012345",
    "status": "closed",
    "status_notes": "Pothole patched.",
    "service_name": "Pothole in Street",
    "service_code": "POTHOLE",
    "description": "Deep pothole in right lane & water pooling\r\nNear the bus stop",
    "agency_responsible": "Department of Transportation",
    "service_notice": None,
    "requested_datetime": "2026-05-01T10:00:00-05:00",
    "updated_datetime": "2026-05-03T14:12:09-05:00",
    "expected_datetime": "2026-05-08T10:00:00-05:00",
    "address": "121 N LASALLE ST, CHICAGO, IL, 60602",
    "address_id": "545483",
    "zipcode": "60602",
    "lat": 41.883637,
    "long": -87.630231,
    "media_url": "https://media.city.example/sr/SR26-00012345/1.jpg",
}
SPARSE_REQUEST = _with(
    REQUEST,
    service_request_id="SR26-00012346",
    status="open",
    status_notes=None,
    description=None,
    agency_responsible=None,
    updated_datetime="2026-05-01T15:00:00Z",
    expected_datetime=None,
    address_id=None,
    zipcode=None,
    lat=51.5,
    long=-5e-05,
    media_url=None,
)
EXTENDED_REQUEST = {
    **REQUEST,
    "attributes": {"WHERE": "STREET", "HAZARDS": ["WATER", "DEEP"]},
    "extended_attributes": {"channel": "api", "duplicate": False},
    "notes": [
        {
            "type": "opened",
            "datetime": "2026-05-01T10:00:00-05:00",
            "summary": "Request opened",
            "description": None,
        }
    ],
}
SERVICE: dict[str, Any] = {
    "service_code": "POTHOLE",
    "service_name": "Pothole in Street",
    "description": "Report a pothole in the roadway.",
    "metadata": True,
    "type": "realtime",
    "keywords": "pothole,road,street",
    "group": "Streets",
}
LIST_ATTRIBUTE: dict[str, Any] = {
    "variable": True,
    "code": "WHERE",
    "datatype": "singlevaluelist",
    "required": True,
    "datatype_description": None,
    "order": 1,
    "description": "Where is the pothole?",
    "values": [{"key": "STREET", "name": "Street / traffic lane"}],
}
NUMBER_ATTRIBUTE = _with(
    LIST_ATTRIBUTE,
    code="DEPTH",
    datatype="number",
    required=False,
    datatype_description="Inches",
    order=2,
    description="How deep?",
    values=[],
)
ENDPOINT: dict[str, Any] = {
    "specification": "http://wiki.open311.org/GeoReport_v2",
    "url": "https://city.example/open311/v2",
    "changeset": "2026-01-05T09:00:00Z",
    "type": "production",
    "formats": ["text/xml", "application/json"],
}
DISCOVERY: dict[str, Any] = {
    "changeset": "2026-01-05T09:00:00Z",
    "contact": "open311@city.example",
    "key_service": "https://city.example/open311/keys",
    "endpoints": [ENDPOINT, _with(ENDPOINT, type="test")],
}
REPLY: dict[str, Any] = {
    "service_request_id": "SR26-00012345",
    "service_notice": "The City will inspect within 7 days.",
    "account_id": None,
}
BATCH_REPLY = {
    "token": "2f1c6a0e9b5d4c1e",
    "service_notice": None,
    "account_id": "123456",
}
CATALOG: dict[str, Any] = {
    "service_code": "PHF",
    "service_name": "Pothole in Street Complaint",
    "description": "A hole in the roadway surface.",
    "group": "Transportation and Streets",
    "type": "realtime",
    "keywords": ["pothole", "street"],
    "agency_responsible": "CDOT",
}
CATALOG_ATTRIBUTE: dict[str, Any] = {
    "code": "WHEREIS",
    "datatype": "singlevaluelist",
    "required": True,
    "order": 1,
    "description": "Where is the pothole?",
    "values": [{"key": "CURB", "name": "Curb lane"}],
}
CATALOG_NUMBER = {
    "code": "DEPTH",
    "variable": True,
    "datatype": "number",
    "required": False,
    "datatype_description": "Inches",
    "order": 2,
    "description": "How deep is it?",
    "min": 0,
    "max": 48,
}
CATALOG_TEXT = {
    "code": "NOTE_1",
    "datatype": "text",
    "required": False,
    "order": 3,
    "description": "Anything else?",
    "max_length": 500,
}

VALID: list[tuple[str, Any]] = [
    ("georeport-v2/discovery", DISCOVERY),
    ("georeport-v2/services", []),
    ("georeport-v2/services", [SERVICE]),
    (
        "georeport-v2/services",
        [_with(SERVICE, service_code="001", description=None, keywords=None, group=None)],
    ),
    ("georeport-v2/services", [_with(SERVICE, type="batch", keywords="graffiti")]),
    ("georeport-v2/service-definition", {"service_code": "POTHOLE", "attributes": []}),
    (
        "georeport-v2/service-definition",
        {"service_code": "POTHOLE", "attributes": [LIST_ATTRIBUTE, NUMBER_ATTRIBUTE]},
    ),
    ("georeport-v2/post-reply", [REPLY]),
    ("georeport-v2/post-reply", [BATCH_REPLY]),
    ("georeport-v2/post-reply", [{"service_notice": "Thanks.", "account_id": None}]),
    ("georeport-v2/token", [{"token": "2f1c6a0e9b5d4c1e"}]),
    ("georeport-v2/token", [{"service_request_id": "SR26-00012346", "token": "t"}]),
    ("georeport-v2/requests", []),
    ("georeport-v2/requests", [REQUEST]),
    ("georeport-v2/requests", [SPARSE_REQUEST, REQUEST]),
    ("georeport-v2/requests", [EXTENDED_REQUEST]),
    (
        "georeport-v2/errors",
        [{"code": 404, "description": "Unknown service_code 'X'."}],
    ),
    (
        "georeport-v2/errors",
        [{"code": 400, "description": "a"}, {"code": 4001, "description": "b"}],
    ),
    ("catalog/service", CATALOG),
    ("catalog/service", _with(CATALOG, keywords=[], review=True, active=False)),
    (
        "catalog/service",
        _with(
            CATALOG,
            service_notice="We inspect within 7 days.",
            target_days=0.5,
            attributes=[CATALOG_ATTRIBUTE, CATALOG_NUMBER, CATALOG_TEXT],
        ),
    ),
]

INVALID: list[tuple[str, Any, str]] = [
    (
        "georeport-v2/discovery",
        _with(DISCOVERY, changeset="2011-02-03 14:18"),
        "spec-example changeset",
    ),
    ("georeport-v2/discovery", _with(DISCOVERY, endpoints=[]), "no endpoints"),
    (
        "georeport-v2/discovery",
        _with(DISCOVERY, endpoints=[_with(ENDPOINT, type="staging")]),
        "endpoint type",
    ),
    (
        "georeport-v2/discovery",
        _without(DISCOVERY, "key_service"),
        "missing key_service",
    ),
    ("georeport-v2/services", SERVICE, "object instead of array"),
    (
        "georeport-v2/services",
        [_with(SERVICE, keywords="pothole, road")],
        "space after comma",
    ),
    (
        "georeport-v2/services",
        [_with(SERVICE, keywords="")],
        "empty keywords instead of null",
    ),
    ("georeport-v2/services", [_with(SERVICE, metadata="true")], "boolean as string"),
    ("georeport-v2/services", [_with(SERVICE, service_code=1)], "numeric code"),
    ("georeport-v2/services", [_with(SERVICE, type="instant")], "unknown type"),
    ("georeport-v2/services", [_without(SERVICE, "group")], "missing group"),
    ("georeport-v2/services", [_with(SERVICE, groups=["a"])], "extra key"),
    (
        "georeport-v2/service-definition",
        {"service_code": "P", "attributes": [_with(LIST_ATTRIBUTE, values=[])]},
        "list datatype without values",
    ),
    (
        "georeport-v2/service-definition",
        {
            "service_code": "P",
            "attributes": [_with(NUMBER_ATTRIBUTE, values=LIST_ATTRIBUTE["values"])],
        },
        "values on a number",
    ),
    (
        "georeport-v2/service-definition",
        {"service_code": "P", "attributes": [_without(NUMBER_ATTRIBUTE, "values")]},
        "values container missing",
    ),
    (
        "georeport-v2/service-definition",
        {"service_code": "P", "attributes": [_with(LIST_ATTRIBUTE, order=0)]},
        "order 0",
    ),
    (
        "georeport-v2/service-definition",
        {"service_code": "P", "attributes": [_with(LIST_ATTRIBUTE, datatype="bool")]},
        "unknown datatype",
    ),
    ("georeport-v2/service-definition", {"service_code": "P"}, "attributes missing"),
    ("georeport-v2/post-reply", [{**REPLY, "token": "t"}], "both id and token"),
    ("georeport-v2/post-reply", [REPLY, REPLY], "two items"),
    ("georeport-v2/post-reply", [], "no item"),
    ("georeport-v2/post-reply", REPLY, "object instead of array"),
    (
        "georeport-v2/post-reply",
        [{"service_notice": None, "account_id": None}],
        "blackbox without notice",
    ),
    ("georeport-v2/post-reply", [_without(REPLY, "account_id")], "account_id missing"),
    ("georeport-v2/post-reply", [_with(REPLY, service_request_id=12345)], "numeric id"),
    ("georeport-v2/token", [{"service_request_id": "SR26-1"}], "token missing"),
    (
        "georeport-v2/token",
        [{"service_request_id": None, "token": "t"}],
        "null id while pending",
    ),
    ("georeport-v2/token", [{"token": "a"}, {"token": "b"}], "two items"),
    ("georeport-v2/requests", REQUEST, "object instead of array"),
    (
        "georeport-v2/requests",
        [_with(REQUEST, status="acknowledged")],
        "status outside open/closed",
    ),
    (
        "georeport-v2/requests",
        [_with(REQUEST, requested_datetime="2026-05-01T10:00:00.017Z")],
        "fractional seconds",
    ),
    (
        "georeport-v2/requests",
        [_with(REQUEST, updated_datetime="2026-05-01T10:00:00")],
        "naive datetime",
    ),
    (
        "georeport-v2/requests",
        [_with(REQUEST, requested_datetime="2026-05-01 10:00:00Z")],
        "space instead of T",
    ),
    (
        "georeport-v2/requests",
        [_with(REQUEST, expected_datetime="2026-05-08")],
        "date only",
    ),
    ("georeport-v2/requests", [_without(REQUEST, "address")], "address missing"),
    ("georeport-v2/requests", [_without(REQUEST, "zipcode")], "nullable key omitted"),
    ("georeport-v2/requests", [_with(REQUEST, address=None)], "null address"),
    (
        "georeport-v2/requests",
        [_with(REQUEST, status_notes="")],
        "empty string instead of null",
    ),
    ("georeport-v2/requests", [_with(REQUEST, lat="41.883637")], "lat as string"),
    ("georeport-v2/requests", [_with(REQUEST, long=-187.0)], "long out of range"),
    ("georeport-v2/requests", [_with(REQUEST, service_request_id=12345)], "numeric id"),
    ("georeport-v2/requests", [_with(REQUEST, zipcode=60602)], "numeric zipcode"),
    (
        "georeport-v2/requests",
        [_with(REQUEST, media_url=[{"url": "https://x"}])],
        "media_url as list",
    ),
    (
        "georeport-v2/requests",
        [_with(REQUEST, media_url="ftp://x/1.jpg")],
        "non-http media_url",
    ),
    (
        "georeport-v2/requests",
        [_with(REQUEST, description="x" * 4001)],
        "description too long",
    ),
    ("georeport-v2/requests", [_with(REQUEST, token="t")], "unknown extra key"),
    (
        "georeport-v2/requests",
        [_with(EXTENDED_REQUEST, notes={"a": 1})],
        "notes as object",
    ),
    (
        "georeport-v2/requests",
        [_with(EXTENDED_REQUEST, attributes=["WHERE"])],
        "attributes as list",
    ),
    ("georeport-v2/errors", [], "no error"),
    (
        "georeport-v2/errors",
        {"code": 400, "description": "x"},
        "object instead of array",
    ),
    ("georeport-v2/errors", [{"code": "403", "description": "x"}], "code as string"),
    ("georeport-v2/errors", [{"code": 403}], "description missing"),
    ("catalog/service", _with(CATALOG, service_code="phf"), "lowercase code"),
    ("catalog/service", _with(CATALOG, service_code="-PHF"), "code starts with dash"),
    ("catalog/service", _with(CATALOG, service_name=""), "empty name"),
    (
        "catalog/service",
        _with(CATALOG, keywords="pothole,street"),
        "keywords as string",
    ),
    ("catalog/service", _with(CATALOG, keywords=["pot,hole"]), "comma in keyword"),
    (
        "catalog/service",
        _with(CATALOG, keywords=[" pothole"]),
        "leading space in keyword",
    ),
    ("catalog/service", _with(CATALOG, type="instant"), "unknown type"),
    ("catalog/service", _with(CATALOG, review="yes"), "review not boolean"),
    ("catalog/service", _with(CATALOG, target_days=0), "target_days zero"),
    ("catalog/service", _with(CATALOG, colour="red"), "unknown top-level key"),
    ("catalog/service", _without(CATALOG, "agency_responsible"), "agency missing"),
    (
        "catalog/service",
        _with(CATALOG, attributes=[_with(CATALOG_ATTRIBUTE, code="where")]),
        "lowercase attribute code",
    ),
    (
        "catalog/service",
        _with(CATALOG, attributes=[_without(CATALOG_ATTRIBUTE, "values")]),
        "list without values",
    ),
    (
        "catalog/service",
        _with(CATALOG, attributes=[_with(CATALOG_ATTRIBUTE, values=[])]),
        "list with no values",
    ),
    (
        "catalog/service",
        _with(
            CATALOG,
            attributes=[_with(CATALOG_NUMBER, values=CATALOG_ATTRIBUTE["values"])],
        ),
        "values on a number",
    ),
    (
        "catalog/service",
        _with(CATALOG, attributes=[_with(CATALOG_TEXT, min=1)]),
        "min on text",
    ),
    (
        "catalog/service",
        _with(CATALOG, attributes=[_with(CATALOG_NUMBER, max_length=3)]),
        "max_length on number",
    ),
    (
        "catalog/service",
        _with(CATALOG, attributes=[_with(CATALOG_TEXT, variable=False, required=True)]),
        "required but not variable",
    ),
    (
        "catalog/service",
        _with(CATALOG, attributes=[_with(CATALOG_TEXT, order=0)]),
        "order 0",
    ),
    (
        "catalog/service",
        _with(CATALOG, attributes=[_with(CATALOG_TEXT, hint="x")]),
        "unknown attribute key",
    ),
    (
        "catalog/service",
        _with(
            CATALOG,
            attributes=[_with(CATALOG_ATTRIBUTE, values=[{"key": "A,B", "name": "AB"}])],
        ),
        "comma in value key",
    ),
]


@pytest.mark.parametrize("path", JSON_SCHEMA_FILES, ids=lambda p: p.name)
def test_json_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = _read(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", JSON_SCHEMA_FILES, ids=lambda p: p.name)
def test_json_schema_examples_validate(path: Path) -> None:
    schema = _read(path)
    assert schema["examples"], "every schema ships at least one example"
    for example in schema["examples"]:
        Draft202012Validator(schema, registry=wire.schema_registry()).validate(example)


@pytest.mark.parametrize(("name", "document"), VALID, ids=[n for n, _ in VALID])
def test_reference_documents_validate(name: str, document: Any) -> None:
    errors = [e.message for e in _validator(name).iter_errors(document)]
    assert errors == []


@pytest.mark.parametrize(("name", "document", "why"), INVALID, ids=[w for _, _, w in INVALID])
def test_broken_documents_are_rejected(name: str, document: Any, why: str) -> None:
    assert not _validator(name).is_valid(document), why


def test_request_properties_are_listed_in_wire_order() -> None:
    """Servers emit keys in this order; the schema file is where it is written down."""
    request = _read(GEOREPORT / "requests.schema.json")["$defs"]["request"]
    assert list(request["properties"]) == [
        *REQUEST,
        "attributes",
        "extended_attributes",
        "notes",
        "photos",
    ]
    assert request["required"] == list(REQUEST)


# --- XML


@pytest.mark.parametrize("path", XSD_FILES, ids=lambda p: p.name)
def test_xsd_compiles(path: Path) -> None:
    schema = etree.XMLSchema(etree.parse(str(path)))
    assert schema.error_log.last_error is None


def test_every_json_shape_has_an_xsd() -> None:
    stems = {p.name.removesuffix(".schema.json") for p in GEOREPORT.glob("*.schema.json")}
    assert stems == set(XML_TWINS)
    assert {p.name for p in XSD_FILES} == {xsd for xsd, _ in XML_TWINS.values()}


REQUEST_XML = """
<request>
  <service_request_id>SR26-00012345</service_request_id>
  <status>closed</status>
  <status_notes>Pothole patched.</status_notes>
  <service_name>Pothole in Street</service_name>
  <service_code>POTHOLE</service_code>
  <description>Deep pothole in right lane &amp; water pooling</description>
  <agency_responsible>Department of Transportation</agency_responsible>
  <service_notice/>
  <requested_datetime>2026-05-01T10:00:00-05:00</requested_datetime>
  <updated_datetime>2026-05-03T14:12:09-05:00</updated_datetime>
  <expected_datetime>2026-05-08T10:00:00-05:00</expected_datetime>
  <address>121 N LASALLE ST, CHICAGO, IL, 60602</address>
  <address_id>545483</address_id>
  <zipcode>60602</zipcode>
  <lat>41.883637</lat>
  <long>-87.630231</long>
  <media_url>https://media.city.example/sr/SR26-00012345/1.jpg</media_url>
</request>"""


def _request_xml(**replace: str) -> str:
    """REQUEST_XML with whole elements swapped, e.g. lat='<lat>NaN</lat>'."""
    xml = REQUEST_XML
    for tag, new in replace.items():
        start, end = xml.index(f"<{tag}"), xml.index("\n", xml.index(f"<{tag}"))
        xml = xml[:start] + new + xml[end:]
    return f"<service_requests>{xml}</service_requests>"


SERVICE_XML = """<service><service_code>POTHOLE</service_code><service_name>Pothole</service_name>
<description>Report a pothole.</description><metadata>true</metadata><type>realtime</type>
<keywords>pothole,road</keywords><group>Streets</group></service>"""
EMPTY_SERVICE_XML = """<service><service_code>001</service_code><service_name>Graffiti</service_name>
<description/><metadata>false</metadata><type>blackbox</type><keywords/><group></group></service>"""
LIST_ATTRIBUTE_XML = """<attribute><variable>true</variable><code>WHERE</code>
<datatype>singlevaluelist</datatype><required>true</required><datatype_description/>
<order>1</order><description>Where is the pothole?</description>
<values><value><key>STREET</key><name>Street</name></value></values></attribute>"""
NUMBER_ATTRIBUTE_XML = """<attribute><variable>false</variable><code>DEPTH</code>
<datatype>number</datatype><required>false</required><datatype_description>Inches</datatype_description>
<order>2</order><description>How deep?</description><values/></attribute>"""
ENDPOINT_XML = """<endpoint><specification>http://wiki.open311.org/GeoReport_v2</specification>
<url>https://city.example/open311/v2</url><changeset>2026-01-05T09:00:00Z</changeset>
<type>production</type><formats><format>text/xml</format><format>application/json</format></formats>
</endpoint>"""
DISCOVERY_XML = f"""<discovery><changeset>2026-01-05T09:00:00Z</changeset>
<contact>open311@city.example</contact><key_service>Ask us.</key_service>
<endpoints>{ENDPOINT_XML}</endpoints></discovery>"""
EXTENSIONS_XML = """<attributes><WHERE>STREET</WHERE><HAZARDS><item>WATER</item></HAZARDS></attributes>
<extended_attributes><channel>api</channel></extended_attributes>
<notes><note><type>opened</type></note></notes>"""

VALID_XML: list[tuple[str, str, str]] = [
    ("discovery.xsd", DISCOVERY_XML, "discovery"),
    ("services.xsd", "<services/>", "no services"),
    (
        "services.xsd",
        f"<services>{SERVICE_XML}{EMPTY_SERVICE_XML}</services>",
        "services with nulls",
    ),
    (
        "service-definition.xsd",
        "<service_definition><service_code>P</service_code><attributes/></service_definition>",
        "no attributes",
    ),
    (
        "service-definition.xsd",
        f"<service_definition><service_code>P</service_code><attributes>{LIST_ATTRIBUTE_XML}{NUMBER_ATTRIBUTE_XML}</attributes></service_definition>",
        "attributes with empty values",
    ),
    (
        "post-reply.xsd",
        "<service_requests><request><service_request_id>SR26-00012345</service_request_id><service_notice>We will look.</service_notice><account_id/></request></service_requests>",
        "realtime reply",
    ),
    (
        "post-reply.xsd",
        "<service_requests><request><token>2f1c6a0e9b5d4c1e</token><service_notice/><account_id>42</account_id></request></service_requests>",
        "batch reply",
    ),
    (
        "post-reply.xsd",
        "<service_requests><request><service_notice>Thanks.</service_notice><account_id/></request></service_requests>",
        "blackbox reply",
    ),
    (
        "token.xsd",
        "<service_requests><request><token>2f1c</token></request></service_requests>",
        "pending token",
    ),
    (
        "token.xsd",
        "<service_requests><request><service_request_id>SR26-00012346</service_request_id><token>2f1c</token></request></service_requests>",
        "resolved token",
    ),
    ("requests.xsd", "<service_requests/>", "no requests"),
    ("requests.xsd", "<service_requests></service_requests>", "no requests, long form"),
    ("requests.xsd", _request_xml(), "one request"),
    (
        "requests.xsd",
        _request_xml(
            status_notes="<status_notes/>",
            expected_datetime="<expected_datetime/>",
            zipcode="<zipcode></zipcode>",
            long="<long>-5e-05</long>",
            media_url=f"<media_url/>{EXTENSIONS_XML}",
        ),
        "nulls, exponent and extensions",
    ),
    (
        "errors.xsd",
        "<errors><error><code>403</code><description>Invalid api_key.</description></error></errors>",
        "errors",
    ),
]

INVALID_XML: list[tuple[str, str, str]] = [
    (
        "discovery.xsd",
        DISCOVERY_XML.replace("2026-01-05T09:00:00Z", "2011-02-03 14:18"),
        "spec-example changeset",
    ),
    ("discovery.xsd", DISCOVERY_XML.replace(ENDPOINT_XML, ""), "no endpoint"),
    (
        "services.xsd",
        '<services xmlns="http://wiki.open311.org/GeoReport_v2"/>',
        "namespaced root",
    ),
    (
        "services.xsd",
        f"<services>{SERVICE_XML.replace('>true<', '>1<')}</services>",
        "boolean as 1",
    ),
    (
        "services.xsd",
        f"<services>{SERVICE_XML.replace('pothole,road', 'pothole, road')}</services>",
        "space after comma",
    ),
    (
        "services.xsd",
        f"<services>{SERVICE_XML.replace('<group>Streets</group>', '')}</services>",
        "group missing",
    ),
    (
        "services.xsd",
        f"<services>{SERVICE_XML.replace('<type>realtime</type>', '').replace('</group>', '</group><type>realtime</type>')}</services>",
        "elements out of order",
    ),
    (
        "service-definition.xsd",
        f"<service_definition><service_code>P</service_code><attributes>{NUMBER_ATTRIBUTE_XML.replace('<values/>', '')}</attributes></service_definition>",
        "values container missing",
    ),
    (
        "service-definition.xsd",
        f"<service_definition><service_code>P</service_code><attributes>{LIST_ATTRIBUTE_XML.replace('<order>1', '<order>0')}</attributes></service_definition>",
        "order 0",
    ),
    (
        "service-definition.xsd",
        "<service_definition><service_code>P</service_code></service_definition>",
        "attributes missing",
    ),
    (
        "post-reply.xsd",
        "<service_requests><request><service_request_id>1</service_request_id><token>t</token><service_notice/><account_id/></request></service_requests>",
        "both id and token",
    ),
    ("post-reply.xsd", "<service_requests/>", "no request"),
    (
        "post-reply.xsd",
        "<service_requests><request><service_request_id>1</service_request_id><service_notice/></request></service_requests>",
        "account_id missing",
    ),
    (
        "token.xsd",
        "<service_requests><request><service_request_id>1</service_request_id></request></service_requests>",
        "token missing",
    ),
    (
        "requests.xsd",
        _request_xml(status="<status>acknowledged</status>"),
        "status outside open/closed",
    ),
    (
        "requests.xsd",
        _request_xml(
            requested_datetime="<requested_datetime>2026-05-01T10:00:00.017Z</requested_datetime>"
        ),
        "fractional seconds",
    ),
    (
        "requests.xsd",
        _request_xml(updated_datetime="<updated_datetime>2026-05-01T10:00:00</updated_datetime>"),
        "naive datetime",
    ),
    (
        "requests.xsd",
        _request_xml(updated_datetime="<updated_datetime/>"),
        "empty required datetime",
    ),
    ("requests.xsd", _request_xml(lat="<lat>NaN</lat>"), "NaN latitude"),
    ("requests.xsd", _request_xml(long="<long>INF</long>"), "infinite longitude"),
    ("requests.xsd", _request_xml(lat="<lat>91</lat>"), "latitude out of range"),
    ("requests.xsd", _request_xml(lat="<lat/>"), "empty latitude"),
    ("requests.xsd", _request_xml(address=""), "address missing"),
    ("requests.xsd", _request_xml(address="<address/>"), "empty address"),
    (
        "requests.xsd",
        _request_xml(media_url="<media_url>ftp://x/1.jpg</media_url>"),
        "non-http media_url",
    ),
    ("requests.xsd", _request_xml(media_url="<media_url/><foo/>"), "unknown element"),
    (
        "requests.xsd",
        _request_xml(zipcode=f"{EXTENSIONS_XML}<zipcode/>"),
        "extensions before the core",
    ),
    ("errors.xsd", "<errors/>", "no error"),
    (
        "errors.xsd",
        "<errors><error><code>abc</code><description>x</description></error></errors>",
        "code not an integer",
    ),
]


@pytest.mark.parametrize(("xsd", "xml", "why"), VALID_XML, ids=[w for _, _, w in VALID_XML])
def test_reference_xml_validates(xsd: str, xml: str, why: str) -> None:
    schema = _xsd(xsd)
    assert schema.validate(etree.fromstring(xml)), f"{why}: {schema.error_log}"


@pytest.mark.parametrize(("xsd", "xml", "why"), INVALID_XML, ids=[w for _, _, w in INVALID_XML])
def test_broken_xml_is_rejected(xsd: str, xml: str, why: str) -> None:
    assert not _xsd(xsd).validate(etree.fromstring(xml)), why


def _to_xml(tag: str, value: Any) -> etree._Element:
    """The Spark convention backwards, as the server renders it: lists get item
    tags, None is an empty element, booleans are true/false."""
    element = etree.Element(tag)
    if isinstance(value, dict):
        element.extend(_to_xml(key, child) for key, child in value.items())
    elif isinstance(value, list):
        element.extend(_to_xml(ITEM_TAGS.get(tag, "item"), child) for child in value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, float):
        element.text = repr(value)
    elif value is not None:
        element.text = str(value)
    return element


def _json_documents_with_xml_twins() -> Iterator[tuple[str, Any]]:
    for name, document in VALID:
        stem = name.removeprefix("georeport-v2/")
        if stem in XML_TWINS:
            yield stem, document
    for stem in XML_TWINS:
        for example in _read(GEOREPORT / f"{stem}.schema.json")["examples"]:
            yield stem, example


@pytest.mark.parametrize(("stem", "document"), list(_json_documents_with_xml_twins()))
def test_valid_json_maps_to_valid_xml(stem: str, document: Any) -> None:
    """JSON and XML describe one shape: same elements, same order, same nulls."""
    xsd, root = XML_TWINS[stem]
    schema = _xsd(xsd)
    assert schema.validate(_to_xml(root, document)), str(schema.error_log)


@pytest.mark.parametrize(
    ("xsd", "complex_type", "schema", "pointer"),
    [
        ("services.xsd", "service", "services", ("$defs", "service")),
        (
            "service-definition.xsd",
            "attribute",
            "service-definition",
            ("$defs", "attribute"),
        ),
        ("service-definition.xsd", "value", "service-definition", ("$defs", "value")),
        ("requests.xsd", "request", "requests", ("$defs", "request")),
        ("discovery.xsd", "endpoint", "discovery", ("$defs", "endpoint")),
        ("errors.xsd", "error", "errors", ("items",)),
        ("token.xsd", "tokenStatus", "token", ("items",)),
        ("service-request-updates.xsd", "update", "service-request-updates", ("items",)),
    ],
)
def test_xsd_elements_follow_json_key_order(
    xsd: str, complex_type: str, schema: str, pointer: tuple[str, ...]
) -> None:
    xs = "{http://www.w3.org/2001/XMLSchema}"
    tree = etree.parse(str(GEOREPORT / xsd))
    (sequence,) = tree.iterfind(f"{xs}complexType[@name='{complex_type}']/{xs}sequence")
    elements = [e.get("name") for e in sequence.iterchildren(f"{xs}element")]
    node = _read(GEOREPORT / f"{schema}.schema.json")
    for key in pointer:
        node = node[key]
    assert elements == list(node["properties"])


# --- OpenAPI


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return load_openapi(SCHEMAS)


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_openapi_source_points_at_the_schema_files() -> None:
    source = _read(SCHEMAS / "openapi.json")
    file_refs = {v for k, v in _walk(source) if k == "$ref" and not v.startswith("#")}
    response_schemas = {p.relative_to(SCHEMAS).as_posix() for p in JSON_SCHEMA_FILES}
    data_files = {  # files we read, not responses
        "catalog/service.schema.json",
        "catalog/translations.schema.json",
        "knowledge/article.schema.json",
    }
    assert file_refs == response_schemas - data_files


def test_loaded_openapi_is_self_contained(openapi: dict[str, Any]) -> None:
    refs = [v for k, v in _walk(openapi) if k == "$ref"]
    assert refs
    assert all(ref.startswith("#/") for ref in refs)
    assert not {"$schema", "$id", "$defs"} & {k for k, _ in _walk(openapi)}
    registry: Registry[Any] = Registry().with_resource(
        "urn:openapi", DRAFT202012.create_resource(openapi)
    )
    for ref in set(refs):
        registry.resolver("urn:openapi").lookup(ref)  # raises if dangling


def test_loaded_openapi_passes_the_spec_validator(openapi: dict[str, Any]) -> None:
    openapi_spec_validator.validate(copy.deepcopy(openapi))


@pytest.mark.parametrize(
    ("component", "stem"),
    [
        ("Discovery", "discovery"),
        ("Services", "services"),
        ("ServiceDefinition", "service-definition"),
        ("PostReply", "post-reply"),
        ("Token", "token"),
        ("Requests", "requests"),
        ("Errors", "errors"),
    ],
)
def test_inlined_schemas_judge_like_the_files(
    openapi: dict[str, Any], component: str, stem: str
) -> None:
    registry: Registry[Any] = Registry().with_resource(
        "urn:openapi", Resource(contents=openapi, specification=DRAFT202012)
    )
    inlined = Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{component}"}, registry=registry
    )
    documents = [doc for name, doc in VALID if name == f"georeport-v2/{stem}"]
    broken = [doc for name, doc, _ in INVALID if name == f"georeport-v2/{stem}"]
    assert documents
    assert broken
    assert all(inlined.is_valid(doc) for doc in documents)
    assert not any(inlined.is_valid(doc) for doc in broken)


PHOTO_PATH = "/open311/v2/media/{file_name}"


def test_every_resource_is_served_in_both_formats(openapi: dict[str, Any]) -> None:
    paths = set(openapi["paths"])
    assert "/open311/v2/openapi.json" in paths
    for stem in (
        "/open311/discovery",
        "/open311/v2/services",
        "/open311/v2/services/{service_code}",
        "/open311/v2/requests",
        "/open311/v2/requests/{service_request_id}",
        "/open311/v2/tokens/{token}",
        "/open311/v2/requests/{service_request_id}/feedback",
        "/open311/v2/servicerequestupdates",
    ):
        assert {f"{stem}.json", f"{stem}.xml"} <= paths
    # Every GeoReport path comes in both formats; the staff API is JSON only, without suffixes.
    # Besides openapi.json, the photos: image files, whose names end in their own type.
    georeport = {
        p
        for p in paths
        if p.startswith("/open311/v2/") and p not in ("/open311/v2/openapi.json", PHOTO_PATH)
    }
    stems = {p.rsplit(".", 1)[0] for p in georeport}
    assert georeport == {f"{stem}.{fmt}" for stem in stems for fmt in ("json", "xml")}
    staff = {p for p in paths if p.startswith("/open311/staff/")}
    assert staff
    assert not any(p.endswith((".json", ".xml")) for p in staff)


def test_get_requests_documents_every_query_parameter(openapi: dict[str, Any]) -> None:
    parameters = openapi["components"]["parameters"]
    for path in ("/open311/v2/requests.json", "/open311/v2/requests.xml"):
        names = {
            parameters[p["$ref"].rsplit("/", 1)[1]]["name"]
            for p in openapi["paths"][path]["get"]["parameters"]
        }
        assert names == {
            "service_request_id",
            "service_code",
            "start_date",
            "end_date",
            "status",
            "jurisdiction_id",
            "page",
            "page_size",
            "updated_after",
            "updated_before",
            "extensions",
            "lat",
            "long",
            "radius",
            "nearest",
            "bbox",
            "ward",
            "community_area",
            "police_district",
            "neighborhood",
        }


def test_feeds_document_their_media_types_and_filters(openapi: dict[str, Any]) -> None:
    parameters = openapi["components"]["parameters"]
    media_types = {
        "csv": "text/csv",
        "geojson": "application/geo+json",
        "ndjson": "application/x-ndjson",
    }
    for fmt, media_type in media_types.items():
        get = openapi["paths"][f"/open311/feeds/requests.{fmt}"]["get"]
        assert list(get["responses"]["200"]["content"]) == [media_type]
        assert set(get["responses"]) == {"200", "400", "414", "429"}  # 429: README, Limits
        names = {parameters[p["$ref"].rsplit("/", 1)[1]]["name"] for p in get["parameters"]}
        # GET /requests' filters; paging and nearest N make no sense for "every request".
        # `after` resumes a broken download.
        assert names == {
            "service_request_id", "service_code", "start_date", "end_date", "status",
            "updated_after", "updated_before", "lat", "long", "radius", "bbox", "ward",
            "community_area", "police_district", "neighborhood", "after",
        }  # fmt: skip
        assert "Open311-Resume-Field" in get["responses"]["200"]["headers"]


def test_post_documents_form_fields_auth_and_errors(openapi: dict[str, Any]) -> None:
    post = openapi["paths"]["/open311/v2/requests.json"]["post"]
    body = openapi["components"]["requestBodies"]["ServiceRequestForm"]
    form = body["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["properties"]["description"]["maxLength"] == 4000
    assert form["properties"]["media_url"]["maxLength"] == 2048
    assert form["additionalProperties"] == {
        "type": "string",
        "description": form["additionalProperties"]["description"],
    }
    assert {"200", "400", "403", "404", "409", "414", "429"} == set(post["responses"])
    assert {"bearerAuth": []} in post["security"]
    headers = [
        openapi["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] for p in post["parameters"]
    ]
    assert any(h["name"] == "Idempotency-Key" and h["in"] == "header" for h in headers)


# --- load_openapi on its own


def _write(root: Path, name: str, content: Any) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content), encoding="utf-8")


def _minimal_openapi(schema: Any) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": {"S": schema}},
    }


def test_load_openapi_hoists_defs_and_rewrites_their_refs(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "openapi.json",
        _minimal_openapi({"$ref": "a/thing.schema.json", "description": "mine"}),
    )
    _write(
        tmp_path,
        "a/thing.schema.json",
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "urn:x",
            "type": "array",
            "description": "theirs",
            "items": {"$ref": "#/$defs/item"},
            "$defs": {"item": {"$ref": "../b.json#/properties/n"}},
        },
    )
    _write(tmp_path, "b.json", {"properties": {"n": {"type": "integer"}}})
    schemas = load_openapi(tmp_path)["components"]["schemas"]
    assert schemas["S"] == {
        "type": "array",
        "description": "mine",
        "items": {"$ref": "#/components/schemas/a.thing.item"},
    }
    assert schemas["a.thing.item"] == {"type": "integer"}


def test_load_openapi_leaves_local_refs_of_the_document_alone(tmp_path: Path) -> None:
    document = _minimal_openapi({"$ref": "#/components/schemas/T"})
    document["components"]["schemas"]["T"] = {"type": "string"}
    _write(tmp_path, "openapi.json", document)
    assert load_openapi(tmp_path) == document


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"x.json": {"$ref": "y.json"}, "y.json": {"$ref": "x.json"}}, "cycle"),
        ({"x.json": {"$ref": "https://example.org/s.json"}}, "only relative"),
        ({"x.json": {"items": {"$ref": "#/properties/a"}}}, "unsupported local"),
    ],
)
def test_load_openapi_refuses_what_it_cannot_inline(
    tmp_path: Path, files: dict[str, Any], message: str
) -> None:
    _write(tmp_path, "openapi.json", _minimal_openapi({"$ref": "x.json"}))
    for name, content in files.items():
        _write(tmp_path, name, content)
    with pytest.raises(ValueError, match=message):
        load_openapi(tmp_path)
