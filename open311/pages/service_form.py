"""The service form both HTML interfaces show (the resident site's report form and the
console's intake for call-takers): its questions as controls, and its answers checked by
the API's own rules.

The fields are named as GeoReport's POST parameters (`lat`, `long`,
`address_string`, `email`, `attribute[CODE]`, `attribute[CODE][]`…), so the
API's reader (service_requests/submissions.py) and the catalogue's answer checker read
them unchanged: one validation path, and the pages and the API can never
disagree about what is valid. Their messages come back as {field: message}.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import current_app, get_template_attribute
from flask_babel import get_locale
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from open311.catalog.answers import check_answers
from open311.errors import InvalidRequest
from open311.models import Service
from open311.pages.i18n import _, attributes_in_language
from open311.service_requests import submissions
from open311.service_requests.actions import MISSING_LOCATION, Submission

# The form's own fields; attribute[…] answers are taken as they are.
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
IDEMPOTENCY_KEY: Final = "idempotency_key"  # the form field beside the Idempotency-Key header
MAX_KEY_LENGTH: Final = 200
MEDIA: Final = "media"  # the photos' file input
LOCATION: Final = "address_string"  # where place problems show: the address box, beside the map
FORM: Final = "form"  # a problem no single field owns
# singlevaluelists with more choices than this are a <select>, fewer are radio buttons
MAX_RADIOS: Final = 6
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


def params_of(
    service_code: str, form: MultiDict[str, str], device_id: str | None = None
) -> MultiDict[str, str]:
    """The POST parameters the API would get for this form (`device_id`, where given,
    names the reporter's device as GeoReport's field does)."""
    params: MultiDict[str, str] = MultiDict({"service_code": service_code})
    if device_id is not None:
        params["device_id"] = device_id
    for key in FIELDS:
        if form.get(key, "").strip():
            params[key] = form[key]
    for key in form:
        if key.startswith("attribute["):
            params.setlist(key, form.getlist(key))
    return params


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


def idempotency_key(header: str | None, form: Mapping[str, str]) -> str | None:
    """The key a page gave this report when it was written: the Idempotency-Key header
    (a report kept offline, sent by script) or the form field of that name.

    The domain treats it as the API does: the same key and content again is the
    same request; the same key with other content is a Conflict.
    """
    key = (header or form.get(IDEMPOTENCY_KEY) or "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"Idempotency-Key: at most {MAX_KEY_LENGTH} characters.")
    return key or None


def questions(service: Service) -> list[dict[str, Any]]:
    """The service definition's questions in order, each with what its control needs,
    in the page's language where the catalogue has it."""
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
        question = get_template_attribute("pages/fields.html", "question")
        contact = get_template_attribute("pages/fields.html", "contact_fields")
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
