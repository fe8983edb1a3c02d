"""How one party is recognised across citations spelled differently.

"Joe's Pizza, Inc." and "JOES PIZZA" are one business; a licence number,
when given, identifies a party better than any spelling of its name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Sequence

from open311.patterns.places import python_address_key

# Words that change between filings of one business's name, not its identity.
LEGAL_SUFFIXES = frozenset(
    {"INC", "INCORPORATED", "LLC", "LTD", "CO", "CORP", "CORPORATION", "COMPANY"}
)
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


def name_key(name: str) -> str:
    """Upper-case words without accents, punctuation, a leading THE or legal suffixes."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = plain.upper().replace("&", " AND ").replace("'", "")
    words = _NOT_ALNUM.sub(" ", plain).split()
    if len(words) > 1 and words[0] == "THE":
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def licence_key(licence: str | None) -> str | None:
    """The licence's letters and digits, upper-case: 'bl-12 345' and 'BL12345' match."""
    if not licence:
        return None
    return _NOT_ALNUM.sub("", licence.upper()) or None


def address_key(address: str | None) -> str:
    """The street line of an address, as patterns/places.py spells one place: case,
    punctuation and suffixes (STREET/ST, AVENUE/AVE, WEST/W) do not matter."""
    return python_address_key(address) if address else ""


def place_key(name: str, address: str | None) -> str:
    """What groups citations of a business without a licence: its name at its address.
    (A name alone would join two businesses of one name at two addresses.)"""
    return f"name:{name_key(name)}@{address_key(address)}"


def party_key(name: str, licence: str | None) -> str:
    """What groups citations into parties: the licence if any, else the name."""
    licence_part = licence_key(licence)
    return f"licence:{licence_part}" if licence_part else f"name:{name_key(name)}"


def group(keys_of: Sequence[Iterable[Hashable]]) -> list[list[int]]:
    """Items joined when they share any key, directly or through others (union-find):
    a citation with a licence and a name at an address joins both the others with that
    licence and the others with that name at that address. Index lists, in input order."""
    parent = list(range(len(keys_of)))

    def find(item: int) -> int:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    first_with: dict[Hashable, int] = {}
    for index, keys in enumerate(keys_of):
        for key in keys:
            other = first_with.setdefault(key, index)
            parent[find(index)] = find(other)
    groups: dict[int, list[int]] = {}
    for index in range(len(keys_of)):
        groups.setdefault(find(index), []).append(index)
    return list(groups.values())


def keys_of_citation(name: str, licence: str | None, address: str | None) -> list[str]:
    """The keys one citation is known by: its licence, if any, and its name at its address."""
    keys = [place_key(name, address)]
    if licence_part := licence_key(licence):
        keys.append(f"licence:{licence_part}")
    return keys
