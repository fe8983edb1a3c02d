"""Geometry helpers; the only module that knows PostGIS and SpatiaLite differ."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import shapely
from geoalchemy2 import WKBElement
from geoalchemy2.shape import from_shape
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

WGS84 = 4326


def point(lon: float, lat: float) -> WKBElement:
    return from_shape(Point(lon, lat), srid=WGS84)


@dataclass(frozen=True)
class Boundary:
    """A jurisdiction's outline, prepared for fast point-in-polygon tests."""

    geometry: BaseGeometry

    @classmethod
    def from_geojson(cls, path: Path) -> Boundary:
        document = json.loads(path.read_text(encoding="utf-8"))
        features = document.get("features", [document])
        outline = shapely.union_all([shape(f.get("geometry", f)) for f in features])
        shapely.prepare(outline)  # later contains() calls reuse the index
        return cls(outline)

    def contains(self, lon: float, lat: float) -> bool:
        return bool(self.geometry.covers(Point(lon, lat)))
