"""Residents signed in on the site by a one-time link sent by email (no passwords).

Both tables live in the database, not in a process, so that every app server
honours a link or a session another one made, and a sign-out ends it on all.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk


class SignInLink(Base):
    """One emailed sign-in link: works once (used_at), until expires_at.

    The link carries this row's id signed with the app's key; the row says
    whether it may still be used, so a used or expired link is refused even
    though its signature is good.
    """

    __tablename__ = "resident_sign_in"

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(sa.String(254))  # lower case
    language: Mapped[str] = mapped_column(sa.String(8))  # of the email, and the page it came from
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ResidentSession(Base):
    """A browser signed in as an email address. The browser's cookie holds a random
    token; only its SHA-256 is stored, so the table alone signs no one in."""

    __tablename__ = "resident_session"

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254))  # lower case
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
