"""What `flask open311 learn-estimates` learned from the closed history."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk


class Scope(enum.StrEnum):
    SERVICE = "service"  # scope_key is a service_code
    GROUP = "group"  # scope_key is a catalogue group: services without history of their own


class ResolutionQuantiles(Base):
    """Days from requested to closed: the 10th, 50th and 90th percentile of one slice.

    A slice is a whole service (segment_kind ""), one segment of a service
    (segment_kind "community_area" and segment_value "8", "month"/"7",
    "weekday"/"mon", "backlog"/"high"), or a whole catalogue group. `lift`
    (segments only) is how much the segment's kind narrows the service's
    spread (0: not at all), so the prediction takes the most telling kind.
    p10/p50/p90 are as observed (the naive range, for a whole service); a
    prediction gives p50 with calibrated_p10-calibrated_p90 where those are set.
    """

    __tablename__ = "resolution_quantiles"
    __table_args__ = (sa.UniqueConstraint("scope", "scope_key", "segment_kind", "segment_value"),)

    id: Mapped[intpk]
    scope: Mapped[Scope] = mapped_column(
        sa.Enum(Scope, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    scope_key: Mapped[str] = mapped_column(sa.String(100))
    segment_kind: Mapped[str] = mapped_column(sa.String(32), default="")
    segment_value: Mapped[str] = mapped_column(sa.String(64), default="")
    n: Mapped[int]
    p10: Mapped[float]
    p50: Mapped[float]
    p90: Mapped[float]
    lift: Mapped[float | None]
    # Whole services only: the median number of its requests open when one was filed.
    usual_backlog: Mapped[float | None]
    # The range a prediction gives, in days, once checked on later requests and
    # moved so that about a tenth fall beyond each end (estimates/calibration.py),
    # and whose misses moved it: "service", "group" or "all" (README). None:
    # nothing could check it; a service's range is then p10-p90 as observed.
    calibrated_p10: Mapped[float | None]
    calibrated_p90: Mapped[float | None]
    calibrated_by: Mapped[str | None] = mapped_column(sa.String(16))
    learned_at: Mapped[datetime]
