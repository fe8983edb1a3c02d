"""Which language a page speaks: the visitor's remembered choice, then Accept-Language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import flask_babel
from flask import Flask, current_app, g, request
from flask_babel import gettext
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from open311.catalog.translations import (
    AttributeText,
    ServiceText,
    Translations,
    read_translations,
)
from open311.extensions import babel

LANGUAGES: Final = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE: Final = "en"
COOKIE: Final = "lang"
SERVICE_TEXTS: Final = "open311.web.service_texts"  # app.extensions: {language: texts}
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


def service_texts() -> Translations:
    """The catalogue's service names and descriptions in the page's language, by code
    (catalog/translations.py); read once per app and language, {} in English."""
    language = str(flask_babel.get_locale() or DEFAULT_LANGUAGE)
    if language == DEFAULT_LANGUAGE:
        return {}
    cache: dict[str, Translations] = current_app.extensions.setdefault(SERVICE_TEXTS, {})
    if language not in cache:
        config = current_app.config
        cache[language] = read_translations(
            Path(config["CATALOG_DIR"]), Path(config["SCHEMAS_DIR"]), language
        )
    return cache[language]


def service_name(code: str, english: str) -> str:
    """The service's name in the page's language, else the City's English."""
    return service_texts().get(code, _ENGLISH).name or english


def service_description(code: str, english: str) -> str:
    return service_texts().get(code, _ENGLISH).description or english


_ENGLISH: Final = ServiceText()


def attributes_in_language(code: str, attributes: Sequence[Mapping[str, Any]]) -> list[Any]:
    """A service's attributes with their questions' words and choices' names in the
    page's language where the catalogue has them; keys, codes and rules unchanged."""
    texts = service_texts().get(code, _ENGLISH).attributes
    if not texts:
        return list(attributes)
    return [_attribute_in(attribute, texts.get(attribute["code"])) for attribute in attributes]


def _attribute_in(attribute: Mapping[str, Any], text: AttributeText | None) -> Mapping[str, Any]:
    if text is None:
        return attribute
    values = [
        {**value, "name": text.values.get(str(value["key"]), value["name"])}
        for value in attribute.get("values", [])
    ]
    translated = {**attribute, "description": text.description or attribute.get("description")}
    return {**translated, "values": values} if "values" in attribute else translated
