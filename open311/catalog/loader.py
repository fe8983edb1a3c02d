"""services_catalog/<city>/*.toml → validated dicts → upserted Service rows."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.database import refresh_statistics
from open311.models import Service, ServiceType
from open311.models.base import utcnow

SCHEMA_FILE = Path("catalog") / "service.schema.json"
LIST_DATATYPES = frozenset({"singlevaluelist", "multivaluelist"})
# Columns a catalogue file sets directly (file key → Service attribute).
SIMPLE_FIELDS = {
    "service_name": "name",
    "description": "description",
    "group": "group",
    "agency_responsible": "agency_responsible",
    "service_notice": "service_notice",
    "target_days": "target_days",
    "duplicate_radius_m": "duplicate_radius_m",
    "duplicate_window_days": "duplicate_window_days",
}


class CatalogError(ValueError):
    """A catalogue file is invalid; the message names the file, field and problem."""


@dataclass(frozen=True)
class LoadReport:
    added: int
    changed: int
    unchanged: int
    deactivated: int


def read_catalog(directory: Path, schemas_dir: Path) -> list[dict[str, Any]]:
    """Parse and validate every service file; raise CatalogError on the first bad one."""
    validator = _validator(schemas_dir)
    services = [_read_file(path, validator) for path in sorted(directory.glob("*.toml"))]
    if not services:
        raise CatalogError(f"{directory}: no *.toml service files found")
    _check_unique_codes(services, sorted(directory.glob("*.toml")))
    return services


def load_catalog(session: Session, services: Sequence[Mapping[str, Any]]) -> LoadReport:
    """Upsert the services; deactivate (never delete) those no longer listed."""
    existing = {s.code: s for s in session.scalars(sa.select(Service))}
    added = changed = 0
    for entry in services:
        wanted = _columns(entry)
        service = existing.pop(entry["service_code"], None)
        if service is None:
            service = Service(code=entry["service_code"])
            session.add(service)
            added += 1
        elif all(getattr(service, key) == value for key, value in wanted.items()):
            continue
        else:
            changed += 1
        for key, value in wanted.items():
            setattr(service, key, value)
        service.changed_at = utcnow()
    deactivated = _deactivate(existing.values())
    session.flush()
    refresh_statistics(session, Service.__tablename__)  # every GET /requests joins it
    return LoadReport(added, changed, len(services) - added - changed, deactivated)


def _validator(schemas_dir: Path) -> jsonschema.protocols.Validator:
    schema = json.loads((schemas_dir / SCHEMA_FILE).read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


def _read_file(path: Path, validator: jsonschema.protocols.Validator) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path}: not valid TOML: {error}") from error
    problems = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if problems:
        raise CatalogError("\n".join(f"{path}: {_where(p)}: {p.message}" for p in problems))
    _check_attributes(path, data.get("attributes", []))
    return data


def _where(problem: jsonschema.ValidationError) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in problem.absolute_path]
    return "".join(parts).lstrip(".") or "(top level)"


def _check_attributes(path: Path, attributes: list[dict[str, Any]]) -> None:
    """The rules JSON Schema cannot state: codes and orders unique per service."""
    for field in ("code", "order"):
        seen: set[Any] = set()
        for index, attribute in enumerate(attributes):
            if attribute[field] in seen:
                raise CatalogError(
                    f"{path}: attributes[{index}].{field}: {attribute[field]!r} is used twice"
                )
            seen.add(attribute[field])


def _check_unique_codes(services: list[dict[str, Any]], paths: list[Path]) -> None:
    first_file: dict[str, Path] = {}
    for service, path in zip(services, paths, strict=True):
        code = service["service_code"]
        if code in first_file:
            raise CatalogError(f"{path}: service_code: {code!r} is also used by {first_file[code]}")
        first_file[code] = path


def _columns(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The Service column values a catalogue entry asks for."""
    columns = {column: entry.get(key) for key, column in SIMPLE_FIELDS.items()}
    columns.update(
        type=ServiceType(entry["type"]),
        # FixMyStreet splits on "," without trimming: no spaces after commas.
        keywords=",".join(k.strip() for k in entry["keywords"]),
        review=bool(entry.get("review", False)),
        active=bool(entry.get("active", True)),
        attributes=[_attribute(a) for a in entry.get("attributes", [])],
    )
    return columns


def _attribute(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A catalogue attribute with its defaults made explicit."""
    attribute = {"variable": True, "datatype_description": None, **entry}
    if attribute["datatype"] not in LIST_DATATYPES:
        attribute["values"] = []
    return attribute


def _deactivate(missing: Iterable[Service]) -> int:
    count = 0
    for service in missing:
        if service.active:
            service.active = False
            service.changed_at = utcnow()
            count += 1
    return count
