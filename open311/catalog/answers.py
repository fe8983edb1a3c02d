"""Check a request's attribute answers against its service definition.

Raw answers arrive as {code: [value, …]} whatever encoding the client used;
what comes out is {code: value} for single values and {code: [keys]} for
multivaluelists, ready to store. Every problem is reported, each naming the
attribute code, in Chicago's style ("HOWMANYD required").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from open311.errors import InvalidRequest
from open311.formats.w3c import format_w3c, parse_w3c

STRING_MAX = 1000
TEXT_MAX = 4000

Answer = str | float | list[str]


def check_answers(
    definition: Sequence[Mapping[str, Any]],
    raw: Mapping[str, Sequence[str]],
    time_zone: ZoneInfo,
) -> dict[str, Answer]:
    """Validated answers; raises InvalidRequest listing every problem."""
    questions = {a["code"]: a for a in definition if a.get("variable", True)}
    problems = [
        f"attribute[{code}] is not a question of this service"
        for code in raw
        if code not in questions
    ]
    answers: dict[str, Answer] = {}
    for code, question in questions.items():
        values = [v for v in _flatten(raw.get(code, ())) if v.strip()]
        if not values:
            if question["required"]:
                problems.append(f"{code} required")
            continue
        try:
            answers[code] = _check_one(question, values, time_zone)
        except ValueError as error:
            problems.append(f"attribute[{code}]: {error}")
    if problems:
        raise InvalidRequest(*problems)
    return answers


def _flatten(values: Sequence[str]) -> list[str]:
    """Undo double wrapping such as '[["Public Property"]]' (seen from a real app)."""
    flat: list[str] = []
    for value in values:
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                # orjson refuses nesting past 1,024 levels; json.loads would recurse.
                flat.extend(_flatten_json(orjson.loads(stripped)))
                continue
            except ValueError:
                pass
        flat.append(value)
    return flat


def _flatten_json(value: Any) -> list[str]:
    """The leaves of nested lists, in order; a loop, as the nesting may be deep."""
    flat: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(reversed(item))
        else:
            flat.append(str(item))
    return flat


def _check_one(question: Mapping[str, Any], values: list[str], time_zone: ZoneInfo) -> Answer:
    datatype = question["datatype"]
    if datatype == "multivaluelist":
        return _multiple_keys(question, values)
    if len(values) > 1:
        raise ValueError(f"takes one value, got {len(values)}")
    checker = _SINGLE_CHECKERS[datatype]
    return checker(question, values[0].strip() if datatype != "text" else values[0], time_zone)


def _single_key(question: Mapping[str, Any], value: str, _tz: ZoneInfo) -> str:
    keys = [v["key"] for v in question["values"]]
    if value not in keys:
        raise ValueError(f"{value!r} is not one of {', '.join(keys)}")
    return value


def _multiple_keys(question: Mapping[str, Any], values: list[str]) -> list[str]:
    # A single "a,b" is the comma-list encoding some hand-written clients use.
    chosen = [part.strip() for value in values for part in value.split(",") if part.strip()]
    keys = [v["key"] for v in question["values"]]
    unknown = [value for value in chosen if value not in keys]
    if unknown:
        raise ValueError(f"{', '.join(map(repr, unknown))} not among {', '.join(keys)}")
    return list(dict.fromkeys(chosen))


def _number(question: Mapping[str, Any], value: str, _tz: ZoneInfo) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    if "min" in question and number < question["min"]:
        raise ValueError(f"{value} is below the minimum {question['min']}")
    if "max" in question and number > question["max"]:
        raise ValueError(f"{value} is above the maximum {question['max']}")
    return int(number) if number.is_integer() else number


def _datetime(_question: Mapping[str, Any], value: str, time_zone: ZoneInfo) -> str:
    return format_w3c(parse_w3c(value, time_zone), time_zone)


def _string(question: Mapping[str, Any], value: str, _tz: ZoneInfo) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("a string answer is one line; use no line breaks")
    return _limited(value, question.get("max_length", STRING_MAX))


def _text(question: Mapping[str, Any], value: str, _tz: ZoneInfo) -> str:
    return _limited(value, question.get("max_length", TEXT_MAX))


def _limited(value: str, limit: int) -> str:
    if len(value) > limit:
        raise ValueError(f"is {len(value)} characters long; the limit is {limit}")
    return value


_SINGLE_CHECKERS: dict[str, Callable[[Mapping[str, Any], str, ZoneInfo], Answer]] = {
    "singlevaluelist": _single_key,
    "number": _number,
    "datetime": _datetime,
    "string": _string,
    "text": _text,
}


def labelled(
    definition: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Stored answers as staff read them: each question's words and the names of the
    options chosen, in the form's order. An answer to a question the catalogue no longer
    asks, or a key it no longer offers, keeps its code: what was answered is never hidden."""
    asked = {question["code"]: question for question in definition}
    order = {code: (question.get("order", 0), code) for code, question in asked.items()}
    shown = []
    for code in sorted(answers, key=lambda c: order.get(c, (math.inf, c))):
        question = asked.get(code, {})
        names = {option["key"]: option["name"] for option in question.get("values", [])}
        value = answers[code]
        chosen = value if isinstance(value, list) else [value]
        text = ", ".join(names.get(str(v), _plain(v)) for v in chosen)
        shown.append((question.get("description") or code, text))
    return shown


def _plain(value: Any) -> str:
    """A number as it was typed (3, not 3.0); anything else as text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
