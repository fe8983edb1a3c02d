"""The service form: what the page posts, checked by the API's own rules.

The page's fields are named as GeoReport's POST parameters (`lat`, `long`,
`address_string`, `email`, `attribute[CODE]`, `attribute[CODE][]`…), so the
API's reader (service_requests/submissions.py) and the catalogue's answer checker read
them unchanged: one validation path, and the page and the API can never
disagree about what is valid. Their messages come back as {field: message}.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from open311.catalog.answers import check_answers
from open311.errors import InvalidRequest
from open311.geocoding import Geocoder
from open311.models import Service
from open311.service_requests import submissions
from open311.service_requests.actions import MISSING_LOCATION, Submission
from open311.web.i18n import _, attributes_in_language

# The service page's own fields; attribute[…] answers are taken as they are.
FIELDS: Final = (
    "lat",
    "long",
    "address_string",
    "description",
    "email",
    "phone",
    "first_name",
    "last_name",
)
MEDIA: Final = "media"  # the photos' file input
IDEMPOTENCY_KEY: Final = "idempotency_key"  # the form field beside the Idempotency-Key header
MAX_KEY_LENGTH: Final = 200
LOCATION: Final = "address_string"  # where place problems show: the address box, beside the map
FORM: Final = "form"  # a problem no single field owns
_REQUIRED = re.compile(r"^(?P<code>\S+) required$")
_ATTRIBUTE = re.compile(r"^attribute\[(?P<code>[^\]]+)\]: (?P<message>.*)$")
_MEDIA = re.compile(r"^media(?: \(file (?P<number>\d+)\))?: (?P<message>.*)$")
_NAMED = re.compile(r"^(?P<field>[a-z_/]+): (?P<message>.*)$")
_PLACE_FIELDS: Final = frozenset({"lat", "long", "lat/long", "address_string", "address_id"})


@dataclass(frozen=True)
class Checked:
    """The form after the API's checks: a Submission, or the problems by field."""

    submission: Submission | None
    errors: dict[str, str]


def attribute_id(code: str) -> str:
    """The HTML id of a question's control, for labels and the error summary's links."""
    return "attr-" + re.sub(r"[^A-Za-z0-9_-]", "-", code)


def params_of(service_code: str, form: MultiDict[str, str], device_id: str) -> MultiDict[str, str]:
    """The POST parameters the API would get for this page's form.

    `device_id` names this browser (GeoReport's field for the reporter's device).
    Every resident files with the site's one key, and the API treats the same
    content from the same key as a retried POST; with the browser in the
    content, a double click files once, while two neighbours who report the
    same pothole in the same words each get their own request.
    """
    params: MultiDict[str, str] = MultiDict({"service_code": service_code, "device_id": device_id})
    for key in FIELDS:
        if form.get(key, "").strip():
            params[key] = form[key]
    for key in form:
        if key.startswith("attribute["):
            params.setlist(key, form.getlist(key))
    return params


def idempotency_key(header: str | None, form: Mapping[str, str]) -> str | None:
    """The key a browser gave this report when it was written: the Idempotency-Key header
    (a report kept offline, sent by script) or the form field of that name.

    The domain treats it as the API does: the same key and content again is the
    same request; the same key with other content is a Conflict.
    """
    key = (header or form.get(IDEMPOTENCY_KEY) or "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"Idempotency-Key: at most {MAX_KEY_LENGTH} characters.")
    return key or None


def check(service: Service, params: MultiDict[str, str], time_zone: ZoneInfo) -> Checked:
    """Every problem the API would report about these parameters, at once, by field.

    The API stops at the first failing stage; the page runs the same stages
    side by side, so a resident sees every problem of the form together. The
    place itself (inside the city, an address that exists) is checked when
    filing, by submit_request, and comes back through `errors_of`.
    """
    problems: list[str] = []
    submission = None
    try:
        submission = submissions.submission(params)
    except InvalidRequest as error:
        problems += error.descriptions
    try:
        check_answers(service.attributes, submissions.attribute_answers(params), time_zone)
    except InvalidRequest as error:
        problems += error.descriptions
    if not params.get("address_string") and not params.get("lat"):
        problems.append(MISSING_LOCATION)
    errors = errors_of(problems, attributes_in_language(service.code, service.attributes))
    return Checked(None if errors else submission, in_page_order(errors, service.attributes))


def in_page_order(errors: dict[str, str], questions: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The problems in the order of the fields on the page, for the error summary."""
    asked = sorted(questions, key=lambda question: question.get("order", 0))
    order = [LOCATION, *(attribute_id(q["code"]) for q in asked), *FIELDS, MEDIA, FORM]
    return dict(sorted(errors.items(), key=lambda item: order.index(item[0])))


def errors_of(
    descriptions: Sequence[str], questions: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """The API's error lines as {field id: message}, first message of a field kept."""
    names = {
        question["code"]: question.get("description", question["code"]) for question in questions
    }
    errors: dict[str, str] = {}
    for description in descriptions:
        field, message = _field_and_message(description, names)
        errors.setdefault(field, message)
    return errors


def _field_and_message(description: str, names: Mapping[str, str]) -> tuple[str, str]:
    if description == MISSING_LOCATION:
        return LOCATION, _("Give an address, or put a pin on the map.")
    if (required := _REQUIRED.match(description)) and required["code"] in names:
        return attribute_id(required["code"]), _(
            "Answer this question: %(question)s", question=names[required["code"]]
        )
    if attribute := _ATTRIBUTE.match(description):
        return attribute_id(attribute["code"]), attribute["message"]
    if media := _MEDIA.match(description):
        return MEDIA, _media_message(media["number"], media["message"])
    if named := _NAMED.match(description):
        field = named["field"]
        if field in _PLACE_FIELDS:
            return LOCATION, _place_message(field, named["message"])
        if field in FIELDS:
            return field, named["message"]
    return FORM, description


def _media_message(number: str | None, message: str) -> str:
    """The pipeline's words, with the photo they are about."""
    if number is None:
        return message[:1].upper() + message[1:]
    return _("Photo %(number)s: %(problem)s", number=number, problem=message)


def _place_message(field: str, message: str) -> str:
    if "is outside" in message:
        return _("That place is outside the city. Put the pin inside the city boundary.")
    if field == "address_string" and "could not be placed" in message:
        return _("We could not find that address in the city. Check it, or put a pin on the map.")
    return message


def coordinates(args: Mapping[str, str]) -> tuple[float, float]:
    """(long, lat) of a pin from the map; InvalidRequest naming what is wrong."""
    try:
        lat, lon = float(args.get("lat", "")), float(args.get("long", ""))
    except ValueError:
        raise InvalidRequest("lat and long: numbers are required.") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also false for nan
        raise InvalidRequest("lat and long: lat from -90 to 90, long from -180 to 180.")
    return lon, lat


NEAR_RADIUS_METRES: Final = "800"  # about half a mile: a few blocks each way
NEAR_PAGE_SIZE: Final = "20"
_NEAR_PASSED: Final = ("service_code", "status", "start_date", "end_date", "page")
NEAR_AREAS: Final = ("community_area", "ward")
# Any of these makes a search; the page alone shows the empty form.
NEAR_CHOICES: Final = (
    "lat", "community_area", "ward", "service_code", "status", "start_date", "end_date",
)  # fmt: skip


def near_query(
    args: Mapping[str, str], geocoder: Geocoder
) -> tuple[dict[str, str], dict[str, str]]:
    """The near-me page's choices as GET requests' parameters, and the problems by field.

    An address becomes a circle around it; else a ward or community area is passed as
    the API's area filter; else a pin (lat and long, from "Use my location") is a
    circle too. The parameters then go through the API's own request_filter, which
    checks the pin's numbers.
    """
    query = {key: args[key].strip() for key in _NEAR_PASSED if args.get(key, "").strip()}
    query["page_size"] = NEAR_PAGE_SIZE
    errors: dict[str, str] = {}
    address = args.get("address", "").strip()
    pin = args.get("lat", "").strip(), args.get("long", "").strip()
    if address:
        place = geocoder.geocode(address)
        if place is None:
            errors["address"] = _(
                "We could not find that address in the city. Check it, or put a pin on the map."
            )
        else:
            query.update(lat=f"{place.lat:.6f}", long=f"{place.lon:.6f}", radius=NEAR_RADIUS_METRES)
    elif areas := {kind: args[kind].strip() for kind in NEAR_AREAS if args.get(kind, "").strip()}:
        query.update(areas)
    elif all(pin):
        query.update(lat=pin[0], long=pin[1], radius=NEAR_RADIUS_METRES)
    return query, errors
