"""Reads of named areas, for maps."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from open311.models import Area


def areas_as_features(session: Session, kind: str) -> list[dict[str, Any]]:
    """Every area of one kind as a GeoJSON Feature (code and name), by code."""
    rows = session.scalars(sa.select(Area).where(Area.kind == kind).order_by(Area.code))
    return [
        {
            "type": "Feature",
            "properties": {"kind": kind, "code": area.code, "name": area.name},
            "geometry": mapping(to_shape(area.geometry)),
        }
        for area in rows
    ]


def area_names(session: Session, kind: str) -> list[tuple[str, str]]:
    """(code, name) of every area of one kind, by name: for a choice on a page."""
    rows = session.execute(
        sa.select(Area.code, Area.name).where(Area.kind == kind).order_by(Area.name)
    )
    return [(code, name) for code, name in rows]
