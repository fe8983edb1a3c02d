"""Patterns (PROTECT): repeat places and hotspots of one service's requests.

Recomputed whole by `flask open311 find-patterns` (open311/patterns/actions.py);
staff only, never in Open311 output.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk, str_enum


class PatternKind(enum.StrEnum):
    REPEAT = "repeat"  # one place, N requests of one service in D days
    HOTSPOT = "hotspot"  # a dense cluster of one service's recent requests


class Pattern(Base):
    """One repeat place or hotspot, as found at `computed_at`."""

    __tablename__ = "pattern"
    __table_args__ = (sa.Index("ix_pattern_department_kind", "department", "kind"),)

    id: Mapped[intpk]
    kind: Mapped[PatternKind] = mapped_column(str_enum(PatternKind, 16))
    department: Mapped[str] = mapped_column(sa.String(200))
    service_code: Mapped[str] = mapped_column(sa.String(64))
    # A repeat place: its address as last written; a hotspot: its busiest address.
    label: Mapped[str] = mapped_column(sa.String(500))
    lat: Mapped[float]  # the centre of its requests
    long: Mapped[float]
    requests: Mapped[int]
    first_requested_at: Mapped[datetime]
    last_requested_at: Mapped[datetime]
    computed_at: Mapped[datetime]


class PatternRequest(Base):
    """A request that is part of a pattern."""

    __tablename__ = "pattern_request"

    pattern_id: Mapped[int] = mapped_column(
        sa.ForeignKey("pattern.id", ondelete="CASCADE"), primary_key=True
    )
    service_request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service_request.id"), primary_key=True, index=True
    )
