"""Partners' API keys. Only a hash of each key is stored."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk, utcnow


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(200))
    # SHA-256 of the key: keys are long random strings, so no slow hash is needed.
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters, so staff can tell keys apart in listings.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
