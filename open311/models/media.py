"""Photos filed with a request: one row per photo, naming its files by content hash."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk


class _Digested(Protocol):
    @property
    def digest(self) -> str: ...

    @property
    def ext(self) -> str: ...


class NamedByDigest:
    """The names of a photo's two files, for a stored photo (RequestPhoto) and for one
    not yet stored (open311.media.pipeline.Photo); media/queries.py FILE_NAME reads
    them back."""

    @property
    def name(self: _Digested) -> str:
        return f"{self.digest}.{self.ext}"

    @property
    def thumbnail_name(self: _Digested) -> str:
        return f"{self.digest}.thumb.{self.ext}"


class RequestPhoto(NamedByDigest, Base):
    """A photo of a request, in the order the resident sent them (position 1, 2, 3).

    The files are `<digest>.<ext>` (display size) and `<digest>.thumb.<ext>`; two
    requests filed with the same photo share them. Staff hide a photo (a face, a
    licence plate) with a reason: the row stays, as the audit of who and why, and
    its files are no longer served. Where the photo was taken is never stored.
    """

    __tablename__ = "request_photo"
    __table_args__ = (sa.UniqueConstraint("service_request_id", "position"),)

    id: Mapped[intpk]
    service_request_id: Mapped[int] = mapped_column(sa.ForeignKey("service_request.id"))
    position: Mapped[int]
    digest: Mapped[str] = mapped_column(sa.String(64), index=True)  # SHA-256, hex
    ext: Mapped[str] = mapped_column(sa.String(8))  # jpg or png
    width: Mapped[int]
    height: Mapped[int]
    thumbnail_width: Mapped[int]
    thumbnail_height: Mapped[int]
    created_at: Mapped[datetime]
    hidden_at: Mapped[datetime | None]
    hidden_by_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    hidden_reason: Mapped[str | None] = mapped_column(sa.Text)
