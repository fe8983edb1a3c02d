"""marshmallow at the edge: a schema's problems become one InvalidRequest (400)."""

from __future__ import annotations

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
