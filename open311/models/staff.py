"""City staff who work requests, and the tokens they use on the staff API."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk, str_enum, utcnow


class Role(enum.StrEnum):
    """What a staff member may do; the rules are in open311/workflow/permissions.py."""

    CALL_TAKER = "call_taker"  # files requests for callers (channel phone)
    AGENT = "agent"  # works the requests of their own department
    SUPERVISOR = "supervisor"  # also assigns, transfers and reopens
    ADMINISTRATOR = "administrator"  # staff, keys and catalogue; does not work requests


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    # An agency_responsible of the catalogue; the requests it owns are this person's to work.
    department: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffToken(Base):
    """A bearer token for the staff API. Only its SHA-256 is stored."""

    __tablename__ = "staff_token"

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
