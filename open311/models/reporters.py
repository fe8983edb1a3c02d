"""What reporters send after filing, through the partner (API key) that filed for them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk


class Feedback(Base):
    """The reporter's rating (1-5) of a completed request: one per request and key."""

    __tablename__ = "feedback"
    __table_args__ = (sa.UniqueConstraint("service_request_id", "api_key_id"),)

    id: Mapped[intpk]
    service_request_id: Mapped[int] = mapped_column(sa.ForeignKey("service_request.id"))
    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_key.id"))
    rating: Mapped[int]
    comment: Mapped[str | None] = mapped_column(sa.Text)
    # True when the rating reopened the request for a supervisor's review.
    reopened: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime]


class PartnerUpdate(Base):
    """A FixMyStreet update received (POST servicerequestupdates), once per (key, update_id).

    The primary key makes a replayed or concurrent copy of one update collide,
    so it is stored once and the replay gets the same answer.
    """

    __tablename__ = "partner_update"

    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_key.id"), primary_key=True)
    update_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    service_request_id: Mapped[int] = mapped_column(sa.ForeignKey("service_request.id"))
    # The history row the update made: its id is our update_id in GET servicerequestupdates.
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("request_event.id"))
    status: Mapped[str | None] = mapped_column(sa.String(40))  # as FixMyStreet sent it
    received_at: Mapped[datetime]
