"""One metric plane for both backends: metres east and north of a reference point.

PostGIS clusters the points in SQL and SpatiaLite's rows are clustered in Python;
both must measure the same distances, so both compute the same linear formula
(no PROJ database, whose contents differ between installs). Over a city the
size of Chicago the scale changes by well under one per cent across the map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class Plane:
    """An equirectangular plane about (lon0, lat0): x, y in metres."""

    lon0: float
    lat0: float

    @property
    def metres_per_degree_lat(self) -> float:
        phi = math.radians(self.lat0)
        return 111_132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)

    @property
    def metres_per_degree_lon(self) -> float:
        phi = math.radians(self.lat0)
        return 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)

    def x(self, lon: Any) -> Any:
        """Metres east: a float from a float, an SQL expression from a column."""
        return (lon - self.lon0) * self.metres_per_degree_lon

    def y(self, lat: Any) -> Any:
        return (lat - self.lat0) * self.metres_per_degree_lat

    def sql_point(self, lon: Any, lat: Any) -> Any:
        """The PostGIS point of (lon, lat) on this plane (no SRID: plain metres)."""
        return sa.func.ST_MakePoint(sa.cast(self.x(lon), sa.Float), sa.cast(self.y(lat), sa.Float))
