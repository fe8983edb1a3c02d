"""Named areas of the city (wards, community areas, …) that requests are tagged with."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from geoalchemy2 import Geometry, WKBElement
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk

# Each kind is also the name of the ServiceRequest column that holds its code.
AREA_KINDS: Final = ("ward", "community_area", "police_district", "neighborhood")


class Area(Base):
    """One polygon of one kind; `code` is the City's own form ("42", "8", "06")."""

    __tablename__ = "area"
    __table_args__ = (sa.UniqueConstraint("kind", "code", name="uq_area_kind_code"),)

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(sa.String(32))
    code: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    geometry: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True)
    )
