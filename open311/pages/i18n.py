"""gettext, typed, for the pages' Python code (the catalogues are the app's, set up by
the resident site's i18n.init_app: one Flask-Babel for the app)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import flask_babel
from flask import current_app
from flask_babel import gettext

from open311.catalog.translations import (
    AttributeText,
    ServiceText,
    Translations,
    read_translations,
)

DEFAULT_LANGUAGE: Final = "en"  # the catalogue's own language: nothing to look up
SERVICE_TEXTS: Final = "open311.web.service_texts"  # app.extensions: {language: texts}


def _(text: str, **variables: Any) -> str:
    """Flask-Babel's returns Any. `pybabel extract` finds `_(…)` calls."""
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
