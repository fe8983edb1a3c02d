"""One place, however its address was written: an SQL key for addresses, the same on
both backends, and the near-point rule that joins requests a few metres apart."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

# Street words a resident writes in full or cut short: one spelling each (USPS's).
STREET_SUFFIXES = (
    ("STREET", "ST"),
    ("AVENUE", "AVE"),
    ("AV", "AVE"),
    ("BOULEVARD", "BLVD"),
    ("DRIVE", "DR"),
    ("ROAD", "RD"),
    ("PLACE", "PL"),
    ("COURT", "CT"),
    ("PARKWAY", "PKWY"),
    ("TERRACE", "TER"),
    ("LANE", "LN"),
    ("HIGHWAY", "HWY"),
    ("NORTH", "N"),
    ("SOUTH", "S"),
    ("EAST", "E"),
    ("WEST", "W"),
)
PUNCTUATION = (".", "#", "'", '"', "-", "/", "(", ")", ";", ":")


def address_key(dialect: str, address: Any) -> sa.ColumnElement[str]:
    """The street line of an address, upper-case, without punctuation, runs of
    spaces or spelled-out suffixes: '1234 West Elm Street, Chicago' and
    '1234 W. ELM ST' give '1234 W ELM ST'."""
    if dialect == "sqlite":
        street = sa.func.substr(address, 1, sa.func.instr(address + ",", ",") - 1)
    else:
        street = sa.func.split_part(address, ",", 1)
    key: Any = sa.func.upper(street)
    for mark in PUNCTUATION:
        key = sa.func.replace(key, mark, " ")
    key = sa.literal(" ") + key + sa.literal(" ")
    for _ in range(3):  # runs of up to eight spaces become one
        key = sa.func.replace(key, "  ", " ")
    for long, short in STREET_SUFFIXES:
        key = sa.func.replace(key, f" {long} ", f" {short} ")
    return sa.func.trim(key)


def python_address_key(address: str) -> str:
    """address_key in Python, for the tests' tables of addresses that must match."""
    street = address.split(",", 1)[0].upper()
    for mark in PUNCTUATION:
        street = street.replace(mark, " ")
    words = street.split()
    shortened = dict(STREET_SUFFIXES)
    return " ".join(shortened.get(word, word) for word in words)
