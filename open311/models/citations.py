"""Citations (CITE): a party fined for a violation found while working a request.

Staff only: no citation, party or fine ever appears in Open311 output.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk, str_enum


class PartyKind(enum.StrEnum):
    BUSINESS = "business"
    PERSON = "person"


class CitationStatus(enum.StrEnum):
    ISSUED = "issued"
    PAID = "paid"
    CONTESTED = "contested"
    DISMISSED = "dismissed"


class Citation(Base):
    """One citation on a request. Its status changes are RequestEvent rows too."""

    __tablename__ = "citation"

    id: Mapped[intpk]
    service_request_id: Mapped[int] = mapped_column(sa.ForeignKey("service_request.id"), index=True)
    # The issuing department: it stays when the request is later transferred.
    department: Mapped[str] = mapped_column(sa.String(200))
    party_kind: Mapped[PartyKind] = mapped_column(str_enum(PartyKind, 16))
    party_name: Mapped[str] = mapped_column(sa.String(200))
    licence_number: Mapped[str | None] = mapped_column(sa.String(64))
    party_address: Mapped[str | None] = mapped_column(sa.String(500))
    # How repeat offenders are found (open311/citations/parties.py): the
    # normalised licence when there is one, else the normalised name.
    party_key: Mapped[str] = mapped_column(sa.String(220), index=True)
    name_key: Mapped[str] = mapped_column(sa.String(200), index=True)
    licence_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    violation_code: Mapped[str] = mapped_column(sa.String(64))
    cited_on: Mapped[date]
    fine_amount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    status: Mapped[CitationStatus] = mapped_column(
        str_enum(CitationStatus, 16), default=CitationStatus.ISSUED
    )
    recorded_by_staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    recorded_at: Mapped[datetime]
