"""The life of a request, one append-only row per change (the audit trail)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk, str_enum
from open311.models.service_requests import Stage


class ActorKind(enum.StrEnum):
    STAFF = "staff"
    REPORTER = "reporter"  # through the partner (API key) that filed the request
    SYSTEM = "system"  # e.g. children closed with their parent


class RequestEvent(Base):
    """Who did what to a request, when, and what the public and the staff were told.

    Rows are only ever inserted. `public_note` appears in Open311 output;
    `internal_note` and the staff member never do.
    """

    __tablename__ = "request_event"
    __table_args__ = (sa.Index("ix_request_event_request_id_id", "service_request_id", "id"),)

    id: Mapped[intpk]
    service_request_id: Mapped[int] = mapped_column(sa.ForeignKey("service_request.id"))
    at: Mapped[datetime] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(sa.String(32))
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, 16))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    api_key_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_key.id"))
    from_stage: Mapped[Stage | None] = mapped_column(str_enum(Stage, 20))
    to_stage: Mapped[Stage | None] = mapped_column(str_enum(Stage, 20))
    public_note: Mapped[str | None] = mapped_column(sa.Text)
    internal_note: Mapped[str | None] = mapped_column(sa.Text)
    # What changed beyond the stage: assignee, scheduled_for, department, reason, parent, …
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
