"""Which language a page speaks: the visitor's remembered choice, then Accept-Language."""

from __future__ import annotations

from typing import Any, Final

import flask_babel
from flask import Flask, request
from flask_babel import gettext

from open311.extensions import babel

LANGUAGES: Final = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE: Final = "en"
COOKIE: Final = "lang"
COOKIE_MAX_AGE: Final = 365 * 24 * 3600  # a choice made once is remembered for a year


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, DEFAULT_LANGUAGE)


def init_app(app: Flask) -> None:
    # Dates on the pages are the city's wall-clock time.
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["TIME_ZONE"])
    babel.init_app(app, locale_selector=select_locale)


def _(text: str, **variables: Any) -> str:
    """gettext, typed: Flask-Babel's returns Any. `pybabel extract` finds `_(…)` calls."""
    return str(gettext(text, **variables))


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    return str(flask_babel.ngettext(singular, plural, num, **variables))
