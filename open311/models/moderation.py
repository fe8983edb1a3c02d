"""What staff change in what residents wrote, and the words they reuse.

A redaction keeps the text it replaced: the public sees only the redacted
description (ServiceRequest.description); staff whose role may moderate see
each original here. Response templates are a department's prepared public notes.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk


class DescriptionRedaction(Base):
    """One redaction of a request's description: who, when, why, and the text before it.

    Rows are only ever inserted; the first one's `original` is what the resident wrote.
    """

    __tablename__ = "description_redaction"

    id: Mapped[intpk]
    service_request_id: Mapped[int] = mapped_column(sa.ForeignKey("service_request.id"), index=True)
    original: Mapped[str | None] = mapped_column(sa.Text)
    redacted: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.Text)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    at: Mapped[datetime]


class ResponseTemplate(Base):
    """A department's prepared public note, with placeholders (workflow/templates.py)."""

    __tablename__ = "response_template"
    __table_args__ = (sa.UniqueConstraint("department", "title"),)

    id: Mapped[intpk]
    department: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
