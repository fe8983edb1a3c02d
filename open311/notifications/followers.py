"""Who follows a request, read from a form (POST /subscriptions and the site's
"tell me when it changes"): exactly one of email, phone and account_id; empty equals absent."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from werkzeug.datastructures import MultiDict

from open311.notifications.subscriptions import Follower
from open311.validation import load, without_control_characters


class FollowerForm(Schema):
    class Meta:
        unknown = EXCLUDE

    email = fields.Email(validate=validate.Length(max=254))
    phone = fields.String(
        validate=validate.Regexp(r"^\+?[0-9 ().-]{7,40}$", error="not a phone number.")
    )
    account_id = fields.String(validate=validate.Length(max=200))

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if len(data) != 1:
            raise ValidationError("exactly one of email, phone and account_id is required.")


def present(params: MultiDict[str, str], names: Any) -> dict[str, str]:
    # Cleaned first: a value of control characters alone is as absent as an empty one.
    cleaned = {key: without_control_characters(params.get(key, "")).strip() for key in names}
    return {key: value for key, value in cleaned.items() if value}


def follower(params: MultiDict[str, str]) -> Follower:
    return Follower(**load(FollowerForm(), present(params, FollowerForm().fields)))
