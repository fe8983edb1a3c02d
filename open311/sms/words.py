"""What a text says besides its content: the carriers' keywords, the language it is in,
and our replies' words in the conversation's language (the site's gettext catalogues).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from babel.support import NullTranslations, Translations

from open311.config import PACKAGE_DIR

LANGUAGES: Final = ("en", "es")
TRANSLATIONS_DIR: Final = PACKAGE_DIR / "translations"

# The keywords US carriers and the CTIA's handbook expect a short code or long code to
# honour, whatever the conversation is doing (with their common Spanish forms).
STOP: Final = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "PARAR"})
START: Final = frozenset({"START", "UNSTOP", "COMENZAR"})
HELP: Final = frozenset({"HELP", "INFO", "AYUDA"})
SPANISH: Final = frozenset({"ESPANOL", "SPANISH"})
ENGLISH: Final = frozenset({"ENGLISH", "INGLES"})
YES: Final = frozenset({"YES", "Y", "SI", "S", "OK", "YEP", "YEAH", "CORRECT", "CORRECTO"})
NO: Final = frozenset({"NO", "N", "NOPE", "WRONG"})

# Words common in Spanish texts and rare in English ones: a first text holding more of
# these than of the English list (or a Spanish letter) is answered in Spanish.
_SPANISH_WORDS: Final = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "en",
        "de",
        "del",
        "hay",
        "una",
        "un",
        "y",
        "con",
        "por",
        "para",
        "que",
        "esta",
        "estan",
        "calle",
        "callejon",
        "basura",
        "ratas",
        "rata",
        "bache",
        "baches",
        "luz",
        "farol",
        "arbol",
        "agua",
        "frente",
        "casa",
        "mi",
        "no",
        "funciona",
        "tirada",
        "tirado",
        "abandonado",
        "abandonada",
        "carro",
        "coche",
        "banqueta",
        "acera",
        "hola",
        "ayuda",
        "se",
    ]
)
_ENGLISH_WORDS: Final = frozenset(
    [
        "the",
        "an",
        "in",
        "on",
        "of",
        "at",
        "is",
        "are",
        "there",
        "and",
        "with",
        "for",
        "my",
        "street",
        "alley",
        "trash",
        "garbage",
        "rats",
        "rat",
        "pothole",
        "light",
        "tree",
        "water",
        "front",
        "house",
        "not",
        "working",
        "broken",
        "car",
        "sidewalk",
        "hello",
        "behind",
        "near",
        "by",
    ]
)
_SPANISH_LETTERS: Final = re.compile("[ñ¿¡áéíóú]", re.IGNORECASE)
_WORD: Final = re.compile(r"[^\W_]+")


def keyword(text: str) -> str:
    """The text as a keyword: upper case, without accents or punctuation around it."""
    return plain(text).upper().strip(" .!¡?¿,;:'\"")


def first_word(text: str) -> str:
    """The first word as a keyword: "Yes please" and "si, correcto" answer YES."""
    found = _WORD.findall(plain(text))
    return found[0].upper() if found else ""


def plain(text: str) -> str:
    """Without accents, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def language_of(text: str) -> str | None:
    """ "es" when the text reads as Spanish, "en" as English; None when it does not tell
    (a number, an address alone)."""
    if _SPANISH_LETTERS.search(text):
        return "es"
    found = [word.lower() for word in _WORD.findall(plain(text))]
    spanish = sum(word in _SPANISH_WORDS for word in found)
    english = sum(word in _ENGLISH_WORDS for word in found)
    if spanish == english:
        return None
    return "es" if spanish > english else "en"


@dataclass(frozen=True)
class Words:
    """gettext and ngettext in one language, formatted as Flask-Babel formats them
    (so one catalogue entry serves a page and a text alike)."""

    language: str

    def _(self, text: str, **variables: Any) -> str:
        translated = _catalogue(self.language).gettext(text)
        return translated % variables if variables else translated

    def ngettext(self, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        return _catalogue(self.language).ngettext(singular, plural, num) % variables


@cache
def _catalogue(language: str) -> NullTranslations:
    """The compiled catalogue of a language; English is the messages themselves."""
    if language == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [language])
