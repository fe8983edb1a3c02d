"""Service names, descriptions and questions in other languages, from the catalogue's
i18n/ folder.

services_catalog/<city>/i18n/<language>.toml gives, per service code, the name and
description in that language, and the words of its questions: each attribute's
`description` and the `name` of each of its values, by attribute code and value key
(schemas/catalog/translations.schema.json). They are
words shown to residents, not part of a service's definition: the API keeps
publishing the City's English, nothing about a service's rules depends on them, so
they are read from the catalogue beside the services rather than stored in a column
(no migration; a new wording is a file change and a restart). Answers are still
checked against the City's keys, so a translation changes no rule. A service, field,
question or choice left out falls back to English.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from open311.catalog.loader import CatalogError

SCHEMA_FILE = Path("catalog") / "translations.schema.json"
FOLDER = "i18n"


@dataclass(frozen=True)
class AttributeText:
    """A question in one language: its words (None where not translated) and its
    choices' names by value key (a key left out keeps its English name)."""

    description: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceText:
    """A service's name and description in one language; None where it is not translated."""

    name: str | None = None
    description: str | None = None
    attributes: Mapping[str, AttributeText] = field(default_factory=dict)  # by attribute code


Translations = Mapping[str, ServiceText]  # by service code


def read_translations(
    catalog_dir: Path, schemas_dir: Path, language: str
) -> dict[str, ServiceText]:
    """The catalogue's texts in `language`, by service code; {} when there is no file.

    CatalogError names the file and the problem for invalid TOML or a file the
    schema refuses.
    """
    path = catalog_dir / FOLDER / f"{language}.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path}: not valid TOML: {error}") from error
    schema = json.loads((schemas_dir / SCHEMA_FILE).read_text(encoding="utf-8"))
    problems = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(data))
    if problems:
        raise CatalogError("\n".join(f"{path}: {p.json_path}: {p.message}" for p in problems))
    return {
        code: ServiceText(
            text.get("service_name"),
            text.get("description"),
            {
                attribute: AttributeText(words.get("description"), words.get("values", {}))
                for attribute, words in text.get("attributes", {}).items()
            },
        )
        for code, text in data["services"].items()
    }


def unknown_codes(translations: Translations, codes: Iterable[str]) -> list[str]:
    """Translated codes the catalogue does not have (a typo, or a service removed)."""
    return sorted(set(translations) - set(codes))


def unknown_parts(translations: Translations, services: Iterable[Mapping[str, Any]]) -> list[str]:
    """Translated services, questions and choices the catalogue does not have."""
    definitions = {str(service["service_code"]): service for service in services}
    problems = [f"no service {code}" for code in unknown_codes(translations, definitions)]
    for code, text in sorted(translations.items()):
        attributes = {a["code"]: a for a in definitions.get(code, {}).get("attributes", [])}
        for attribute, words in sorted(text.attributes.items()):
            if attribute not in attributes:
                problems.append(f"{code}: no attribute {attribute}")
                continue
            keys = {str(value["key"]) for value in attributes[attribute].get("values", [])}
            problems += [
                f"{code}: attribute {attribute} has no value {key}"
                for key in sorted(set(words.values) - keys)
            ]
    return problems


def check_translations(
    catalog_dir: Path, schemas_dir: Path, services: Iterable[Mapping[str, Any]]
) -> int:
    """Validate every i18n/<language>.toml of the catalogue against its services
    (their definitions, as read_catalog gives them); CatalogError for a bad file, or a
    service, attribute or value the catalogue does not have. Returns how many files
    were checked."""
    known = list(services)
    files = sorted((catalog_dir / FOLDER).glob("*.toml"))
    for path in files:
        unknown = unknown_parts(read_translations(catalog_dir, schemas_dir, path.stem), known)
        if unknown:
            raise CatalogError(f"{path}: {'; '.join(unknown)} in the catalogue")
    return len(files)
