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
    # The console's sign-in: an argon2id hash (accounts/passwords.py), and a TOTP secret
    # once the person has enrolled a second factor. Staff API tokens need neither.
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    # The time step of the last code accepted: a code seen once (read over a shoulder,
    # typed into a phishing page) is refused for the rest of its life.
    totp_last_step: Mapped[int | None]


class StaffToken(Base):
    """A bearer token for the staff API. Only its SHA-256 is stored."""

    __tablename__ = "staff_token"

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in browser of the staff console. The cookie holds a random id; only its
    SHA-256 is stored, so a copy of the database opens no session."""

    __tablename__ = "console_session"

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Password checked, second factor still to give (its role requires one).
    awaiting_second_factor: Mapped[bool] = mapped_column(default=False)


class SignInOutcome(enum.StrEnum):
    SIGNED_IN = "signed_in"
    WRONG_PASSWORD = "wrong_password"  # or no such account: the page says the same
    WRONG_CODE = "wrong_code"  # the second factor
    INACTIVE = "inactive"
    THROTTLED = "throttled"
    SIGNED_OUT = "signed_out"
    PASSWORD_SET = "password_set"


class SignInEvent(Base):
    """The audit of console sign-ins, failures among them (append-only). The database
    throttle counts its failures when no Redis is configured."""

    __tablename__ = "sign_in_event"
    __table_args__ = (
        sa.Index("ix_sign_in_event_email_at", "email", "at"),
        sa.Index("ix_sign_in_event_address_at", "address", "at"),
    )

    id: Mapped[intpk]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    email: Mapped[str] = mapped_column(sa.String(254))  # as typed, lower-cased
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    address: Mapped[str] = mapped_column(sa.String(64))
    outcome: Mapped[SignInOutcome] = mapped_column(str_enum(SignInOutcome, 20))


class RoleSetting(Base):
    """What an administrator sets per role: whether its staff need a second factor."""

    __tablename__ = "role_setting"

    role: Mapped[Role] = mapped_column(str_enum(Role, 16), primary_key=True)
    totp_required: Mapped[bool] = mapped_column(default=False)


class PasswordReset(Base):
    """A one-time link to set a new console password, sent by email through the outbox.

    The link is this row's id signed with the app's key (notifications.channels.Links),
    made when the email is written: the database holds nothing that opens it.
    """

    __tablename__ = "password_reset"

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
