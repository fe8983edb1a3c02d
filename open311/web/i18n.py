"""Which language a page speaks: the visitor's remembered choice, then Accept-Language."""

from __future__ import annotations

from typing import Any, Final

import flask_babel
from flask import Flask, g, request
from flask_babel import gettext
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from open311.extensions import babel

# The catalogue's words in the page's language live with the shared form code; the
# site's modules keep finding them here.
from open311.pages.i18n import (
    DEFAULT_LANGUAGE,
    SERVICE_TEXTS,
    attributes_in_language,
    service_description,
    service_name,
    service_texts,
)

__all__ = [
    "COOKIE",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "SERVICE_TEXTS",
    "attributes_in_language",
    "init_app",
    "language",
    "ngettext",
    "select_locale",
    "service_description",
    "service_name",
    "service_texts",
]

LANGUAGES: Final = {"en": "English", "es": "Español"}
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
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda text: _page_translations().ugettext(text),
        ngettext=lambda singular, plural, n: _page_translations().ungettext(singular, plural, n),
        newstyle=True,
    )
    # Jinja's newstyle `_` goes through two context calls before the catalogue; the
    # service form says forty-odd strings, so `_` and `gettext` do the same work directly.
    app.jinja_env.globals.update(_=_page_gettext, gettext=_page_gettext)


_FIXED: Final = "_open311_fixed_strings"


@pass_context
def _page_gettext(context: Context, text: str, **variables: Any) -> str:
    """What Jinja's newstyle gettext does: the translation, escaped-safe, always formatted."""
    translations = _page_translations()
    if not variables and context.eval_ctx.autoescape:
        # A page's fixed strings, escaped and formatted once per language (the catalogue
        # object is Flask-Babel's, one per language, kept for the app's life).
        done: dict[str, Markup] = translations.__dict__.setdefault(_FIXED, {})
        found = done.get(text)
        if found is None:
            found = done[text] = Markup(translations.ugettext(text)) % {}
        return found
    translated = translations.ugettext(text)
    if context.eval_ctx.autoescape:
        translated = Markup(translated)
    return translated % variables  # type: ignore[no-any-return]


def _page_translations() -> Any:
    """This request's catalogue, found once. Flask-Babel's own template callables find
    it again (the context, the locale, its cache) for each of a page's forty-odd
    strings, a fifth of the service form's time."""
    found = g.get("open311_translations")
    if found is None:
        found = g.open311_translations = flask_babel.get_translations()
    return found


def language() -> str:
    """This page's language (en, es): the one its emails are written in too."""
    return str(flask_babel.get_locale() or DEFAULT_LANGUAGE)


def _(text: str, **variables: Any) -> str:
    """gettext, typed: Flask-Babel's returns Any. `pybabel extract` finds `_(…)` calls."""
    return str(gettext(text, **variables))


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    return str(flask_babel.ngettext(singular, plural, num, **variables))
