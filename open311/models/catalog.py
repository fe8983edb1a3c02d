"""The service catalogue: one row per service_code, loaded from services_catalog/."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, str_enum, utcnow


class ServiceType(enum.StrEnum):
    REALTIME = "realtime"  # the id comes back at once
    BATCH = "batch"  # a token comes back; GET tokens/<t> gives the id
    BLACKBOX = "blackbox"  # neither; only a service_notice


class Service(Base):
    """A request type. Attributes are kept as the catalogue file states them."""

    __tablename__ = "service"

    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    group: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[ServiceType] = mapped_column(str_enum(ServiceType, 16))
    keywords: Mapped[str] = mapped_column(sa.String(500), default="")
    agency_responsible: Mapped[str] = mapped_column(sa.String(200))
    # The city reviews each request before accepting it (batch services only).
    review: Mapped[bool] = mapped_column(default=False)
    service_notice: Mapped[str | None] = mapped_column(sa.String(500))
    target_days: Mapped[float | None]
    # Likely parents of a new request lie within this many metres and were filed
    # this many days before it; None: the DUPLICATE_* defaults of the config.
    duplicate_radius_m: Mapped[float | None]
    duplicate_window_days: Mapped[float | None]
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # Services missing from the catalogue files are deactivated, never deleted,
    # so old requests keep a valid service_code.
    active: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def has_metadata(self) -> bool:
        return bool(self.attributes)
