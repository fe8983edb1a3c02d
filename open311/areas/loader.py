"""A GeoJSON FeatureCollection of polygons → checked area shapes → the area table.

Any city can load its own files: name the property that holds each area's
code (and, if there is one, its name). The Chicago files and their
properties are listed in CHICAGO_FILES.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import shapely
import sqlalchemy as sa
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from open311.database import refresh_statistics
from open311.models import AREA_KINDS, Area, ServiceRequest
from open311.spatial import WGS84


class AreaError(ValueError):
    """A boundary file or kind cannot be loaded; the message says where and why."""


@dataclass(frozen=True)
class AreaShape:
    code: str
    name: str
    geometry: MultiPolygon
    # Why the file's geometry was invalid, when make_valid had to repair it.
    repaired: str | None = None


@dataclass(frozen=True)
class AreaFile:
    """Which file holds one kind of area, and which properties name each area."""

    kind: str
    filename: str
    code_property: str
    name_property: str | None = None


# What shapely.geometry.shape raises on malformed coordinates.
UNREADABLE: Final = (AttributeError, IndexError, KeyError, TypeError, ValueError)

# shared/chicago311/boundaries (README §3e), and our simplified copies of them.
CHICAGO_FILES: Final = (
    AreaFile("ward", "wards_50_2023.geojson", "ward"),
    AreaFile("community_area", "community_areas_77_2025.geojson", "area_numbe", "community"),
    AreaFile("police_district", "police_districts_derived_from_beats_2022.geojson", "district"),
    AreaFile("neighborhood", "neighborhoods_98.geojson", "pri_neigh", "pri_neigh"),
)


def read_areas(path: Path, code_property: str, name_property: str | None = None) -> list[AreaShape]:
    """Every feature of the file as a MultiPolygon; raise AreaError on the first bad one."""
    features = _features(path)
    shapes = [
        _area_shape(f"{path}: feature {index}", feature, code_property, name_property)
        for index, feature in enumerate(features)
    ]
    _check_unique_codes(path, shapes)
    return shapes


def load_areas(session: Session, kind: str, shapes: Sequence[AreaShape]) -> int:
    """Replace every area of this kind with `shapes` (loading twice changes nothing)."""
    _check_codes_fit(kind, shapes)
    session.execute(sa.delete(Area).where(Area.kind == kind))
    session.add_all(
        Area(kind=kind, code=s.code, name=s.name, geometry=from_shape(s.geometry, srid=WGS84))
        for s in shapes
    )
    session.flush()
    refresh_statistics(session, Area.__tablename__)  # every POST looks its point up
    return len(shapes)


def stored_areas(session: Session) -> dict[str, list[AreaShape]]:
    """Every stored area, by kind, as load_areas takes them: one store's map for another."""
    found: dict[str, list[AreaShape]] = {}
    for area in session.scalars(sa.select(Area).order_by(Area.kind, Area.code)):
        geometry = to_shape(area.geometry)
        if not isinstance(geometry, MultiPolygon):  # stored by load_areas, so never
            raise AreaError(f"{area.kind} {area.code}: stored as {geometry.geom_type}")
        found.setdefault(area.kind, []).append(AreaShape(area.code, area.name, geometry))
    return found


def _features(path: Path) -> list[Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AreaError(f"{path}: not a readable JSON file: {error}") from error
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise AreaError(f"{path}: not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise AreaError(f"{path}: the FeatureCollection has no features")
    return features


def _area_shape(
    where: str, feature: Any, code_property: str, name_property: str | None
) -> AreaShape:
    if not isinstance(feature, dict):
        raise AreaError(f"{where}: not a GeoJSON Feature")
    properties = feature.get("properties") or {}
    code = _text(properties.get(code_property))
    if not code:
        raise AreaError(f"{where}: no {code_property!r} property (the area's code)")
    name = _text(properties.get(name_property)) if name_property else code
    if not name:
        raise AreaError(f"{where} ({code}): no {name_property!r} property (the area's name)")
    geometry, repaired = _multipolygon(f"{where} ({code})", feature.get("geometry"))
    return AreaShape(code, name, geometry, repaired)


def _text(value: object) -> str:
    # Some files hold numeric codes as numbers, and some as 42.0.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _multipolygon(where: str, geojson: Any) -> tuple[MultiPolygon, str | None]:
    geometry = _geometry(where, geojson)
    repaired = None
    if not geometry.is_valid:
        repaired = shapely.is_valid_reason(geometry)
        geometry = _polygonal_part(where, shapely.make_valid(geometry), repaired)
    if isinstance(geometry, Polygon):
        geometry = MultiPolygon([geometry])
    return geometry, repaired


def _geometry(where: str, geojson: Any) -> Polygon | MultiPolygon:
    if not isinstance(geojson, dict):
        raise AreaError(f"{where}: no geometry")
    try:
        geometry = shape(geojson)
    except (*UNREADABLE, shapely.errors.GEOSException) as error:
        raise AreaError(f"{where}: unreadable {geojson.get('type')} geometry: {error}") from error
    if not isinstance(geometry, Polygon | MultiPolygon):
        raise AreaError(f"{where}: a {geometry.geom_type}, not a Polygon or MultiPolygon")
    if geometry.is_empty:
        raise AreaError(f"{where}: an empty {geometry.geom_type}")
    _check_lon_lat(where, geometry)
    return geometry


def _check_lon_lat(where: str, geometry: BaseGeometry) -> None:
    west, south, east, north = geometry.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise AreaError(
            f"{where}: coordinates are not longitude/latitude; "
            "GeoJSON areas must be in WGS84 (EPSG:4326)"
        )


def _polygonal_part(where: str, geometry: BaseGeometry, reason: str) -> MultiPolygon:
    """The polygons make_valid kept; it can also return lines where a ring collapsed."""
    polygons = [
        polygon
        for part in shapely.get_parts(geometry)
        for polygon in (part.geoms if isinstance(part, MultiPolygon) else [part])
        if isinstance(polygon, Polygon)
    ]
    if not polygons:
        raise AreaError(f"{where}: invalid geometry ({reason}) that encloses no area")
    return MultiPolygon(polygons)


def _check_unique_codes(path: Path, shapes: Sequence[AreaShape]) -> None:
    first: dict[str, int] = {}
    for index, area in enumerate(shapes):
        if area.code in first:
            raise AreaError(
                f"{path}: feature {index}: code {area.code!r} is also feature {first[area.code]}'s"
            )
        first[area.code] = index


def _check_codes_fit(kind: str, shapes: Sequence[AreaShape]) -> None:
    if kind not in AREA_KINDS:
        raise AreaError(f"unknown area kind {kind!r}; expected one of {', '.join(AREA_KINDS)}")
    # The request's column must hold every code (PostgreSQL would refuse a longer one).
    column_type = ServiceRequest.__table__.c[kind].type
    length = column_type.length if isinstance(column_type, sa.String) else None
    for area in shapes:
        if length is not None and len(area.code) > length:
            raise AreaError(f"{kind} code {area.code!r} is longer than {length} characters")
