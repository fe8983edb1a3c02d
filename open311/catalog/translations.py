"""Service names and descriptions in other languages, from the catalogue's i18n/ folder.

services_catalog/<city>/i18n/<language>.toml gives, per service code, the name and
description in that language (schemas/catalog/translations.schema.json). They are
words shown to residents, not part of a service's definition: the API keeps
publishing the City's English, nothing about a service's rules depends on them, so
they are read from the catalogue beside the services rather than stored in a column
(no migration; a new wording is a file change and a restart). A service or field left
out falls back to English.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from open311.catalog.loader import CatalogError

SCHEMA_FILE = Path("catalog") / "translations.schema.json"
FOLDER = "i18n"


@dataclass(frozen=True)
class ServiceText:
    """A service's name and description in one language; None where it is not translated."""

    name: str | None = None
    description: str | None = None


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
        code: ServiceText(text.get("service_name"), text.get("description"))
        for code, text in data["services"].items()
    }


def unknown_codes(translations: Translations, codes: Iterable[str]) -> list[str]:
    """Translated codes the catalogue does not have (a typo, or a service removed)."""
    return sorted(set(translations) - set(codes))


def check_translations(catalog_dir: Path, schemas_dir: Path, codes: Iterable[str]) -> int:
    """Validate every i18n/<language>.toml of the catalogue against its services;
    CatalogError for a bad file or a code the catalogue does not have. Returns how
    many files were checked."""
    known = set(codes)
    files = sorted((catalog_dir / FOLDER).glob("*.toml"))
    for path in files:
        unknown = unknown_codes(read_translations(catalog_dir, schemas_dir, path.stem), known)
        if unknown:
            raise CatalogError(f"{path}: no service {', '.join(unknown)} in the catalogue")
    return len(files)
