"""Workers deliver the outbox (`flask open311 send-outbox`); several may run at once.

A worker claims a few due rows in one short transaction (PostgreSQL: FOR UPDATE
SKIP LOCKED, so two workers never take the same row; SQLite: the same UPDATE
under BEGIN IMMEDIATE, which runs one writer at a time). The claim is a lease:
claimed_by, lease_expires_at and attempts + 1. Sending happens outside any
transaction, in a small thread pool, so one slow receiver holds one thread for
at most its timeout. Each outcome is recorded at once, in its own transaction:
a 2xx is marked delivered right after it arrives and is never sent again. A
worker that dies mid-send leaves its lease to expire; another worker then sends
those rows again, which is why every message carries its notification id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from blinker import Namespace
from sqlalchemy.orm import Session

from open311.database import begin_write
from open311.models import (
    DeliveryState,
    Notification,
    NotificationKind,
    SignInLink,
    Subscription,
    Webhook,
)
from open311.notifications.channels import REASON_LENGTH, DeliveryFailed, Outgoing, Senders

log = logging.getLogger(__name__)
# Sent for every failed delivery, with the channel's name as the sender and
# `parked` (True when no attempt is left); the metrics count them.
delivery_failed = Namespace().signal("notification-delivery-failed")
CANDIDATES_PER_SLOT = 4  # due rows looked at for each free slot, to skip busy webhooks
Clock = Callable[[], datetime]


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Policy:
    concurrency: int  # messages in flight per worker
    lease: timedelta  # longer than any one delivery can take
    max_attempts: int  # then the message is parked
    backoff: float  # seconds before the 2nd attempt; doubled for each one after
    backoff_max: float
    poll: float  # seconds between looks at an empty outbox

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        return cls(
            concurrency=int(config["OUTBOX_CONCURRENCY"]),
            lease=timedelta(seconds=float(config["OUTBOX_LEASE_SECONDS"])),
            max_attempts=int(config["OUTBOX_MAX_ATTEMPTS"]),
            backoff=float(config["OUTBOX_BACKOFF_SECONDS"]),
            backoff_max=float(config["OUTBOX_BACKOFF_MAX_SECONDS"]),
            poll=float(config["OUTBOX_POLL_SECONDS"]),
        )

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff after the given number of failed attempts."""
        return timedelta(seconds=min(self.backoff * 2 ** (attempts - 1), self.backoff_max))


@dataclass
class Tally:
    delivered: int = 0
    retrying: int = 0
    parked: int = 0


def claim(
    session: Session,
    worker_id: str,
    limit: int,
    policy: Policy,
    now: datetime,
    busy_webhooks: Collection[int] = (),
) -> list[Outgoing]:
    """Lease up to `limit` due messages to this worker and commit; return them.

    At most one message per webhook is in flight in a worker (`busy_webhooks`
    are those it is sending to): a receiver that times out holds one slot, not
    all of them, and its backlog waits behind its own deliveries only.
    """
    begin_write(session)
    due = session.execute(
        sa.select(Notification.id, Notification.webhook_id)
        .where(
            Notification.state == DeliveryState.PENDING,
            Notification.next_attempt_at <= now,
            sa.or_(Notification.lease_expires_at.is_(None), Notification.lease_expires_at < now),
            sa.or_(
                Notification.webhook_id.is_(None),
                Notification.webhook_id.not_in(list(busy_webhooks)),
            ),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit * CANDIDATES_PER_SLOT)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer at a time
    ).all()
    chosen = _one_per_webhook(due, limit, busy_webhooks)
    if not chosen:
        session.commit()  # releases the rows looked at
        return []
    claimed = session.scalars(
        sa.update(Notification)
        .where(Notification.id.in_(chosen))
        .values(
            claimed_by=worker_id,
            lease_expires_at=now + policy.lease,
            attempts=Notification.attempts + 1,
        )
        .returning(Notification.id),
        execution_options={"synchronize_session": False},
    ).all()
    messages = _sendable(session, claimed, now)
    session.commit()
    return messages


def _one_per_webhook(
    due: Sequence[sa.Row[int, int | None]], limit: int, busy_webhooks: Collection[int]
) -> list[int]:
    taken = set(busy_webhooks)
    chosen = []
    for notification_id, webhook_id in due:
        if webhook_id is not None:
            if webhook_id in taken:
                continue
            taken.add(webhook_id)
        chosen.append(notification_id)
        if len(chosen) == limit:
            break
    return chosen


def _sendable(session: Session, claimed: Sequence[int], now: datetime) -> list[Outgoing]:
    """The claimed rows as messages; those no longer to be sent are cancelled instead."""
    rows = session.execute(
        sa.select(
            Notification,
            Subscription.cancelled_at,
            Subscription.confirmed_at,
            Webhook.url,
            Webhook.secret,
            Webhook.deleted_at,
            # A sign-in link's email is written in the language of the page it was asked from.
            sa.func.coalesce(Subscription.language, SignInLink.language),
            SignInLink.used_at,
            SignInLink.expires_at,
        )
        .outerjoin(Subscription, Subscription.id == Notification.subscription_id)
        .outerjoin(SignInLink, SignInLink.id == Notification.sign_in_id)
        .outerjoin(Webhook, Webhook.id == Notification.webhook_id)
        .where(Notification.id.in_(claimed))
        .order_by(Notification.id)
        .execution_options(populate_existing=True)
    ).all()
    messages = []
    for (
        notification, cancelled_at, confirmed_at, url, secret, deleted_at, language, used_at,
        expires_at,
    ) in rows:  # fmt: skip
        # A question is the department asking the filer: sent even if they stopped the news.
        stopped = cancelled_at is not None and notification.kind is not NotificationKind.QUESTION
        if stopped or deleted_at is not None:
            notification.state = DeliveryState.CANCELLED
            continue
        if notification.kind is NotificationKind.SIGN_IN:
            if used_at is not None or expires_at is None or expires_at <= now:
                notification.state = DeliveryState.CANCELLED  # a dead link helps no one
                continue
        elif notification.kind is NotificationKind.PASSWORD_RESET:
            pass  # to a staff member, about no subscription: always sent
        elif (notification.kind is NotificationKind.CONFIRMATION) != (confirmed_at is None):
            # Confirmed already: no need to ask. Not confirmed: news is not sent (none
            # is queued for it; this holds even if some was).
            notification.state = DeliveryState.CANCELLED
            continue
        messages.append(
            Outgoing(
                id=notification.id,
                key=notification.key,
                kind=notification.kind,
                channel=notification.channel,
                # A sign-in link or a password reset has none, and its email names none.
                subscription_id=notification.subscription_id or 0,
                payload=dict(notification.payload),
                attempts=notification.attempts,
                address=notification.address,
                webhook_id=notification.webhook_id,
                url=url,
                secret=secret,
                sign_in_id=notification.sign_in_id,
                language=language or "en",
            )
        )
    return messages


def record_delivered(
    session: Session, message: Outgoing, now: datetime, provider_message_id: str | None = None
) -> None:
    """Marked in its own transaction, right after the receiver said yes; with the
    provider's id of a text, which its delivery receipt will name."""
    begin_write(session)
    session.execute(
        sa.update(Notification)
        .where(Notification.id == message.id, Notification.state == DeliveryState.PENDING)
        .values(
            state=DeliveryState.DELIVERED,
            delivered_at=now,
            claimed_by=None,
            lease_expires_at=None,
            last_error=None,
            provider_message_id=provider_message_id,
        ),
        execution_options={"synchronize_session": False},
    )
    session.commit()


def record_failed(
    session: Session, message: Outgoing, worker_id: str, reason: str, policy: Policy, now: datetime
) -> bool:
    """Schedule the next attempt, or park the message; True if it was parked."""
    parked = message.attempts >= policy.max_attempts
    begin_write(session)
    session.execute(
        sa.update(Notification)
        .where(
            Notification.id == message.id,
            Notification.state == DeliveryState.PENDING,
            Notification.claimed_by == worker_id,  # else another worker has it now
        )
        .values(
            state=DeliveryState.PARKED if parked else DeliveryState.PENDING,
            next_attempt_at=now + policy.delay(message.attempts),
            claimed_by=None,
            lease_expires_at=None,
            last_error=reason[:REASON_LENGTH],
        ),
        execution_options={"synchronize_session": False},
    )
    session.commit()
    return parked


def run(
    session: Session,
    senders: Senders,
    policy: Policy,
    worker_id: str,
    *,
    once: bool,
    stop: threading.Event,
    clock: Clock = now_utc,
) -> Tally:
    """Deliver until `stop` is set (or, with `once`, until nothing is due)."""
    tally = Tally()
    in_flight: dict[Future[str | None], Outgoing] = {}
    with ThreadPoolExecutor(policy.concurrency, thread_name_prefix="open311-send") as pool:
        while True:
            free = policy.concurrency - len(in_flight)
            if free and not stop.is_set():
                busy = {m.webhook_id for m in in_flight.values() if m.webhook_id is not None}
                for message in _claim_or_wait(session, worker_id, free, policy, clock(), busy):
                    in_flight[pool.submit(senders.send, message)] = message
            if not in_flight:
                if once or stop.is_set():
                    return tally
                stop.wait(policy.poll)
                continue
            done, _ = wait(in_flight, timeout=policy.poll, return_when=FIRST_COMPLETED)
            for future in done:
                message = in_flight.pop(future)
                try:
                    _record(session, message, future, worker_id, policy, clock(), tally)
                except sa.exc.OperationalError:
                    # The row keeps its lease and is sent again when it expires.
                    session.rollback()
                    log.exception("could not record notification %s", message.key)


def _claim_or_wait(
    session: Session,
    worker_id: str,
    limit: int,
    policy: Policy,
    now: datetime,
    busy_webhooks: Collection[int],
) -> list[Outgoing]:
    """A claim; none while the database cannot be reached (the worker keeps running)."""
    try:
        return claim(session, worker_id, limit, policy, now, busy_webhooks)
    except sa.exc.OperationalError:
        session.rollback()
        log.exception("could not claim notifications; trying again")
        return []


def _record(
    session: Session,
    message: Outgoing,
    future: Future[str | None],
    worker_id: str,
    policy: Policy,
    now: datetime,
    tally: Tally,
) -> None:
    error = future.exception()
    if error is None:
        record_delivered(session, message, now, future.result())
        tally.delivered += 1
        log.info("notification %s delivered (%s)", message.key, message.channel.value)
        return
    reason = str(error) if isinstance(error, DeliveryFailed) else repr(error)
    parked = record_failed(session, message, worker_id, reason, policy, now)
    delivery_failed.send(message.channel.value, parked=parked)
    if parked:
        tally.parked += 1
        log.warning(
            "notification %s parked after %d attempts: %s", message.key, message.attempts, reason
        )
    else:
        tally.retrying += 1
        log.info("notification %s failed (attempt %d): %s", message.key, message.attempts, reason)
