"""Just enough TOML writing for the catalogue files: tomllib only reads.

A document is a list of lines: comments, `key = value` lines and array-of-table
headers. Values are str, bool, int, float, lists of those, and lists of flat
dicts (written as one inline table per line).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeAlias

Scalar: TypeAlias = str | bool | int | float
Value: TypeAlias = Scalar | Sequence[Scalar] | Sequence[Mapping[str, Scalar]]

# TOML basic strings must escape these; everything else is written as UTF-8.
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def string(text: str) -> str:
    return '"' + "".join(_escape(char) for char in text) + '"'


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04X}"
    return char


def scalar(value: Scalar) -> str:
    # bool first: True is also an int.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    return string(value)


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"TOML has no place for {value!r} in this catalogue")
    text = repr(value)
    return text if any(c in text for c in ".en") else text + ".0"


def key_value(key: str, value: Value, note: str | None = None) -> str:
    line = f"{key} = {_value(value)}"
    return f"{line}  {comment(note)}" if note else line


def _value(value: Value) -> str:
    if isinstance(value, str | bool | int | float):
        return scalar(value)
    items = list(value)
    if items and all(isinstance(item, Mapping) for item in items):
        tables = [inline_table(item) for item in items if isinstance(item, Mapping)]
        return "[\n" + "".join(f"  {table},\n" for table in tables) + "]"
    return "[" + ", ".join(scalar(item) for item in items if not isinstance(item, Mapping)) + "]"


def inline_table(table: Mapping[str, Scalar]) -> str:
    return "{ " + ", ".join(f"{key} = {scalar(value)}" for key, value in table.items()) + " }"


def comment(text: str) -> str:
    # A newline inside a comment would end it and turn the rest into TOML.
    return "# " + text.replace("\r", " ").replace("\n", " ")
