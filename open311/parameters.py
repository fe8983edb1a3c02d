"""What a request sends, read strictly at the edge of the APIs.

Werkzeug is lenient where leniency loses data: a form body that is not UTF-8
becomes an empty form (the caller then hears that api_key is missing), and a
parameter sent twice silently keeps its first value. Python's json module
recurses once per nesting level, so a deeply nested body raised RecursionError.
Here each of these is a 400 naming the body or the parameter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import IO, Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from flask import Request, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.formparser import FormDataParser

from open311.errors import InvalidRequest

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NOT_UTF8 = "body: not valid UTF-8; send form fields and JSON as UTF-8 text."
_REPLACEMENT = "\ufffd"  # what werkzeug's multipart parser puts for bytes that are not UTF-8


class StrictFormParser(FormDataParser):
    """Form bodies decoded as UTF-8 or refused, never emptied or patched with U+FFFD."""

    def parse(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> tuple[IO[bytes], MultiDict[str, Any], MultiDict[str, Any]]:
        if mimetype == "application/x-www-form-urlencoded":
            return stream, self.cls(_urlencoded_fields(stream.read())), self.cls()
        self.silent = False  # a malformed multipart body is the caller's error, said so
        try:
            stream, form, files = super().parse(stream, mimetype, content_length, options)
        except ValueError as error:
            raise InvalidRequest(f"body: not a valid {mimetype} body ({error}).") from error
        if any(_REPLACEMENT in value for value in form.values()):
            raise InvalidRequest(NOT_UTF8)
        return stream, form, files


class StrictRequest(Request):
    form_data_parser_class = StrictFormParser


def _urlencoded_fields(body: bytes) -> list[tuple[str, str]]:
    """name=value pairs; both the raw bytes and the %-escapes must be UTF-8."""
    try:
        return parse_qsl(body.decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as error:
        raise InvalidRequest(NOT_UTF8) from error


# orjson refuses nesting beyond 1,024 levels without recursing, and invalid UTF-8,
# NaN and Infinity. Values are checked by each form's schema; unknown keys are ignored.
_SCALARS = (str, int, float, bool, type(None))


def json_object(body: bytes) -> dict[str, Any]:
    """The body's JSON object, or InvalidRequest naming the body or a repeated key."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        problem = NOT_UTF8 if "UTF-8" in str(error) else f"body: not valid JSON ({error})."
        raise InvalidRequest(problem) from error
    if not isinstance(data, dict):
        raise InvalidRequest("body: a JSON object is expected.")
    _refuse_repeats(_keys_as_sent(body), "body", lambda _key: False)
    return data


def _keys_as_sent(body: bytes) -> list[str]:
    """The top-level keys of a JSON object in the order sent, repeats included.

    orjson keeps the last of repeated keys; the standard library's hook sees
    them all. It recurses, so nesting orjson allows can still be too deep for it.
    """
    keys: list[str] = []

    def top_level(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # Called for every object, the outermost last: its keys are the ones kept.
        nonlocal keys
        keys = [key for key, _ in pairs]
        return {}

    try:
        json.loads(body, object_pairs_hook=top_level)
    except RecursionError as error:
        raise InvalidRequest("body: nested too deeply.") from error
    return keys


def json_form(data: dict[str, Any]) -> MultiDict[str, Any]:
    """A JSON object as form fields: an attribute[CODE] list gives one field per item."""
    nested = [key for key, value in data.items() if is_attribute(key) and not _flat(value)]
    if nested:
        raise InvalidRequest(*(f"{key}: a string or number, or a list of them." for key in nested))
    return MultiDict(
        (key, item)
        for key, value in data.items()
        for item in (value if is_attribute(key) and isinstance(value, list) else [value])
    )


def _flat(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, _SCALARS) for item in value)
    return isinstance(value, _SCALARS)


ViewFunction = TypeVar("ViewFunction", bound=Callable[..., Any])


def repeatable(*names: str) -> Callable[[ViewFunction], ViewFunction]:
    """Let a view's parameters `names` be sent more than once: they are lists."""

    def mark(view: ViewFunction) -> ViewFunction:
        view.repeatable_parameters = frozenset(names)  # type: ignore[attr-defined]
        return view

    return mark


def is_attribute(key: str) -> bool:
    """attribute[CODE], attribute[CODE][] and attribute[CODE][n] repeat for multivaluelists
    (reference 4.6: FixMyStreet and Boston repeat attribute[CODE] itself)."""
    return key.startswith("attribute[")


def one_value_each() -> None:
    """before_request: a parameter sent twice in the query, or twice in the body, is a 400.

    The query and the body may each hold a key once: then the body wins (reference 4.11).
    """
    view = current_app.view_functions.get(request.endpoint or "")
    lists: frozenset[str] = getattr(view, "repeatable_parameters", frozenset())

    def allowed(key: str) -> bool:
        return key in lists or is_attribute(key)

    _refuse_repeats((key for key, _ in request.args.items(multi=True)), "query", allowed)
    if request.mimetype in FORM_TYPES:
        _refuse_repeats((key for key, _ in request.form.items(multi=True)), "body", allowed)


def _refuse_repeats(keys: Iterable[str], where: str, allowed: Callable[[str], bool]) -> None:
    counts: dict[str, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    repeated = {key: n for key, n in counts.items() if n > 1 and not allowed(key)}
    if repeated:
        raise InvalidRequest(
            *(f"{key}: sent {n} times in the {where}; send it once." for key, n in repeated.items())
        )
