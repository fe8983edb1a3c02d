"""Who follows what (subscriptions, partners' webhooks) and the outbox of notifications."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk, str_enum, utcnow


class Channel(enum.StrEnum):
    """How a subscriber is told."""

    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"  # a partner's endpoint (Webhook)
    # A partner's own user, by Open311's account_id: we cannot reach them, the
    # partner can, so their notifications go to the partner's account webhooks.
    ACCOUNT = "account"


class NotificationKind(enum.StrEnum):
    """What a notification says."""

    CHANGE = "change"  # a public change to a request
    # "Confirm this subscription": the one message sent to an email or phone that a
    # partner subscribed, before anything else is sent there (double opt-in).
    CONFIRMATION = "confirmation"
    # A one-time link to sign in on the site (models/residents.py): about no
    # subscription and no request, only the SignInLink it carries.
    SIGN_IN = "sign_in"
    # A staff member's one-time link to set a console password: about no subscription.
    PASSWORD_RESET = "password_reset"
    # Staff asked the reporter a question (ASK_REPORTER): sent to the email given
    # when filing, with a link to answer it (open311/workflow/questions.py).
    QUESTION = "question"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for a worker, or for its next attempt
    DELIVERED = "delivered"  # the receiver accepted it (2xx, or SMTP accepted it)
    PARKED = "parked"  # failed OUTBOX_MAX_ATTEMPTS times; last_error says why
    CANCELLED = "cancelled"  # unsubscribed, or the webhook deleted, before it was sent


class Webhook(Base):
    """A partner's endpoint; its filters are its Subscription rows (channel webhook)."""

    __tablename__ = "webhook"

    id: Mapped[intpk]
    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_key.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2048))
    # Kept in clear: every delivery is signed with it (HMAC-SHA256). Shown once.
    secret: Mapped[str] = mapped_column(sa.String(64))
    # Also receives what the partner's own users (account_id) follow.
    accounts: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


def _one_live_per_address(name: str, *scope: str) -> tuple[sa.Index, sa.Index]:
    """Unique indexes: one live subscription per address (and channel) to one thing.

    One pair per kind of scope, holding only the live rows of that kind: the other
    kinds' columns are null there, and null never equals null in a unique index
    (PostgreSQL and SQLite alike). For the same reason a webhook's filters, which
    have no address, are never each other's duplicates. This is what makes
    subscribing twice at the same moment safe: a SELECT finds nothing to lock
    while no row exists, the index refuses the second INSERT.

    An account_id is a partner's own name for its user, so on the account channel
    the partner is part of the address: two partners' user "7" are two people.
    """
    live = f"cancelled_at IS NULL AND {scope[0]} IS NOT NULL"
    others, accounts = (
        sa.text(f"{live} AND channel <> 'account'"),
        sa.text(f"{live} AND channel = 'account'"),
    )
    return (
        sa.Index(
            name,
            "channel",
            "address",
            *scope,
            unique=True,
            postgresql_where=others,
            sqlite_where=others,
        ),
        sa.Index(
            f"{name}_account",
            "api_key_id",
            "address",
            *scope,
            unique=True,
            postgresql_where=accounts,
            sqlite_where=accounts,
        ),
    )


class Subscription(Base):
    """One subscriber following one thing: a request, a service, an area or a circle.

    Exactly one of service_request_id, service_code, (area_kind, area_code) and
    (center_lat, center_long, radius_meters) is set. The subscriber is
    `address` on the email, sms and account channels, or `webhook_id`.
    """

    __tablename__ = "subscription"
    __table_args__ = (
        sa.Index("ix_subscription_area_kind_area_code", "area_kind", "area_code"),
        *_one_live_per_address("uq_subscription_live_request", "service_request_id"),
        *_one_live_per_address("uq_subscription_live_service", "service_code"),
        *_one_live_per_address("uq_subscription_live_area", "area_kind", "area_code"),
        *_one_live_per_address(
            "uq_subscription_live_circle", "radius_meters", "center_lat", "center_long"
        ),
    )

    id: Mapped[intpk]
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16))
    address: Mapped[str | None] = mapped_column(sa.String(254))  # email, phone or account_id
    webhook_id: Mapped[int | None] = mapped_column(sa.ForeignKey("webhook.id"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_key.id"))
    service_request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service_request.id"), index=True
    )
    service_code: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    area_kind: Mapped[str | None] = mapped_column(sa.String(32))
    area_code: Mapped[str | None] = mapped_column(sa.String(64))
    center_lat: Mapped[float | None]
    center_long: Mapped[float | None]
    radius_meters: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    # Null while an email or phone subscribed through the API waits for its owner to
    # follow the confirmation link; nothing is queued for it meanwhile. Set at creation
    # when no confirmation is asked (account_id, a webhook's filters, a filer's own).
    confirmed_at: Mapped[datetime | None]
    # When its owner was last asked through the API: a confirmation is queued then if it
    # is pending (an email or phone that follows already is marked, and sent nothing).
    confirmation_sent_at: Mapped[datetime | None]
    # The language its emails are written in (en, es): the site's page it was made from;
    # the API's own default is English.
    language: Mapped[str] = mapped_column(sa.String(8), server_default="en")


class Notification(Base):
    """The outbox: one message to one receiver, written in the transaction of its change.

    Workers claim rows (claimed_by, lease_expires_at, attempts + 1), deliver them
    outside any transaction, and record the outcome at once in its own one.
    `key` is the notification id a receiver de-duplicates on. A confirmation is
    about a subscription, not a request, so it has no service_request_id; a sign-in
    link is about neither, and names its SignInLink instead of a subscription.
    """

    __tablename__ = "notification"
    __table_args__ = (
        sa.Index("ix_notification_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    # None for a sign-in link or a password reset: about no subscription.
    subscription_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subscription.id"), index=True
    )
    sign_in_id: Mapped[int | None] = mapped_column(sa.ForeignKey("resident_sign_in.id"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16))  # email, sms or webhook
    address: Mapped[str | None] = mapped_column(sa.String(254))  # email or phone
    webhook_id: Mapped[int | None] = mapped_column(sa.ForeignKey("webhook.id"))
    kind: Mapped[NotificationKind] = mapped_column(
        str_enum(NotificationKind, 16), default=NotificationKind.CHANGE
    )
    service_request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_request.id"))
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("request_event.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    state: Mapped[DeliveryState] = mapped_column(
        str_enum(DeliveryState, 16), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    # A text's life after the provider took it (sms/twilio.py): the message id it gave,
    # then its delivery receipt (delivered, undelivered, failed) and error code.
    provider_message_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    provider_status: Mapped[str | None] = mapped_column(sa.String(16))
    provider_error: Mapped[str | None] = mapped_column(sa.String(64))
