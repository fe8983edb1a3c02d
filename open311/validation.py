"""marshmallow at the edge: a schema's problems become one InvalidRequest (400)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError

from open311.errors import InvalidRequest


def load(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's clean values, or InvalidRequest naming each field and its problem."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as error:
        messages = error.normalized_messages()  # type: ignore[no-untyped-call]
        raise InvalidRequest(*describe(messages)) from error
    return loaded


# Control characters other than tab, CR and LF: illegal in XML, and PostgreSQL
# refuses NUL in text (a 500 if it reached a query).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_characters(value: Any) -> Any:
    """A string, or each string of a list, without control characters; else `value`."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, list):
        return [without_control_characters(item) for item in value]
    return value


def describe(messages: Mapping[str, Any]) -> list[str]:
    """marshmallow's {field: [message]} as 'field: message' lines."""
    lines = []
    for field, field_messages in messages.items():
        name = "request" if field == "_schema" else field
        if isinstance(field_messages, Mapping):  # a list field: {index: [message]}
            field_messages = [m for nested in field_messages.values() for m in nested]
        for message in field_messages if isinstance(field_messages, list) else [field_messages]:
            lines.append(f"{name}: {message}")
    return lines
