"""How one party is recognised across citations spelled differently.

"Joe's Pizza, Inc." and "JOES PIZZA" are one business; a licence number,
when given, identifies a party better than any spelling of its name.
"""

from __future__ import annotations

import re
import unicodedata

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


def party_key(name: str, licence: str | None) -> str:
    """What groups citations into parties: the licence if any, else the name."""
    licence_part = licence_key(licence)
    return f"licence:{licence_part}" if licence_part else f"name:{name_key(name)}"
