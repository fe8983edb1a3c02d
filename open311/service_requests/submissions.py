"""The POST /requests form → Submission, for every interface that files a request
(GeoReport, the staff API's call-takers, the site): one validation, so they never disagree.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from werkzeug.datastructures import MultiDict

from open311.errors import InvalidRequest
from open311.media.pipeline import Photo
from open311.service_requests.actions import Submission
from open311.validation import describe, without_control_characters

# attribute[C], attribute[C][], attribute[C][0]: three of the four encodings
# of reference 4.6 (the fourth, a comma list, is split by the answer checker).
_ATTRIBUTE = re.compile(r"^attribute\[(?P<code>[^\[\]]+)\](?:\[(?P<index>\d*)\])?$")


class ServiceRequestForm(Schema):
    """POST /requests: application/x-www-form-urlencoded or multipart fields."""

    class Meta:
        unknown = EXCLUDE  # api_key, jurisdiction_id, attribute[…], files

    service_code = fields.String(required=True, validate=validate.Length(1, 64))
    lat = fields.Float(validate=validate.Range(-90, 90))
    long = fields.Float(validate=validate.Range(-180, 180))
    address_string = fields.String(validate=validate.Length(max=500))
    address_id = fields.String(validate=validate.Length(max=64))
    email = fields.Email(validate=validate.Length(max=254))
    device_id = fields.String(validate=validate.Length(max=200))
    account_id = fields.String(validate=validate.Length(max=200))
    first_name = fields.String(validate=validate.Length(max=100))
    last_name = fields.String(validate=validate.Length(max=100))
    phone = fields.String(validate=validate.Length(max=40))
    description = fields.String(validate=validate.Length(max=4000))
    media_url = fields.Url(
        schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2048)
    )

    @validates_schema
    def _lat_and_long_together(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("lat" in data) != ("long" in data):
            raise ValidationError("lat and long must be sent together.", "lat")


_form = ServiceRequestForm()


def submission(params: MultiDict[str, Any], photos: tuple[Photo, ...] = ()) -> Submission:
    """A Submission from merged query and body parameters, with the photos sent beside
    them (already cleaned); InvalidRequest otherwise.

    Values are form text, or JSON values from the staff API (lat and long as numbers).
    """
    # Cleaned first: a value of control characters alone is as absent as an empty one.
    cleaned = {key: without_control_characters(params.get(key)) for key in _form.fields}
    present = {key: value for key, value in cleaned.items() if _given(value)}
    try:
        data = _form.load(present)
    except ValidationError as error:
        raise InvalidRequest(*describe(error.normalized_messages())) from error  # type: ignore[no-untyped-call]
    if photos and "media_url" in data:
        raise InvalidRequest("media: send photos in media or a link in media_url, not both.")
    return Submission(**data, attributes=attribute_answers(params), photos=photos)


def _given(value: Any) -> bool:
    """Empty equals absent (spec); a JSON null too."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def attribute_answers(params: MultiDict[str, Any]) -> dict[str, list[str]]:
    """attribute[CODE]=v, attribute[CODE][]=v, attribute[CODE][0]=v → {"CODE": [v, …]}."""
    matches = [m for key in params if (m := _ATTRIBUTE.match(key))]
    # Indexed keys (attribute[C][0], [1], …) keep their index order.
    matches.sort(key=lambda m: int(m["index"]) if m["index"] else -1)
    found: dict[str, list[str]] = {}
    for match in matches:
        values = (_answer_text(v) for v in params.getlist(match.string))
        found.setdefault(match["code"], []).extend(values)
    return found


def _answer_text(value: Any) -> str:
    """An answer as text: form values are; the staff API's JSON may send 3 or true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return _clean(value if isinstance(value, str) else str(value))


def _clean(value: str) -> str:
    cleaned: str = without_control_characters(value)
    return cleaned
