"""The transactional outbox: a notification is written in the transaction of its change.

A change that is rolled back takes its notifications with it, and a committed
change always has them. Nothing is sent here: workers send (delivery.py).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import (
    AREA_KINDS,
    Channel,
    DeliveryState,
    Intake,
    Notification,
    NotificationKind,
    RequestEvent,
    ServiceRequest,
    Subscription,
    Webhook,
)
from open311.notifications import subscriptions
from open311.spatial import circles_holding
from open311.workflow.transitions import Action, public_summary

FILED = "filed"  # the `action` of the notification that a request was filed


@dataclass(frozen=True)
class _Receiver:
    """Where one notification goes, and the subscription it is for."""

    subscription_id: int
    channel: Channel  # email, sms or webhook: an account's goes to its partner's webhook
    address: str | None = None
    webhook_id: int | None = None
    account_id: str | None = None


def request_filed(session: Session, service_request: ServiceRequest) -> int:
    """A new request: its filer follows it, and everyone following its service,
    area or a circle around it is told. Returns how many notifications were queued."""
    subscriptions.follow_as_filer(session, service_request)
    summary = "Request filed"
    message = _message(service_request, FILED, summary, None, service_request.requested_at)
    return _fan_out(session, service_request, message, event_id=None)


def enqueue(session: Session, service_request: ServiceRequest, event: RequestEvent) -> int:
    """Queue a notification of `event` for each subscriber of the request; count them.

    A change the public does not see (an internal note) tells no one, and a
    request waiting for review is not public yet.
    """
    summary = public_summary(event.action, event.details or {})
    if summary is None or (event.action == Action.NOTE and not event.public_note):
        return 0  # an internal note shows the public only that a note exists
    message = _message(service_request, event.action, summary, event.public_note, event.at)
    question = None
    if event.action == Action.ASK_REPORTER and service_request.email:
        question = _question(session, service_request, message, event)
    return _fan_out(session, service_request, message, event_id=event.id, question=question)


def _question(
    session: Session, service_request: ServiceRequest, message: dict[str, Any], event: RequestEvent
) -> dict[str, Any]:
    """The email that asks the reporter, with the link to answer (channels.py writes it).

    It goes to the email given when filing, under the filer's own subscription to
    the request (made at filing, confirmed then), even if they have since stopped
    the news: the department is asking them, about their own report.
    """
    address = (service_request.email or "").lower()
    subscription_id = session.scalar(
        sa.select(Subscription.id)
        .where(
            Subscription.service_request_id == service_request.id,
            Subscription.channel == Channel.EMAIL,
            Subscription.address == address,
            Subscription.confirmed_at.is_not(None),
        )
        .order_by(Subscription.cancelled_at.is_not(None), Subscription.id.desc())
        .limit(1)
    )
    if subscription_id is None:  # filed before filers followed their requests
        subscription = Subscription(
            channel=Channel.EMAIL,
            address=address,
            service_request_id=service_request.id,
            confirmed_at=service_request.requested_at,
        )
        session.add(subscription)
        session.flush()
        subscription_id = subscription.id
    return _pending(
        {**message, "question_event_id": event.id},
        kind=NotificationKind.QUESTION,
        subscription_id=subscription_id,
        channel=Channel.EMAIL,
        address=address,
        webhook_id=None,
        service_request_id=service_request.id,
        event_id=event.id,
    )


def ask_to_confirm(
    session: Session,
    subscription: Subscription,
    follows: str,
    expires_at: datetime,
    request_number: str | None = None,
) -> None:
    """Queue the one message that asks an address's owner to confirm a subscription.

    It goes through the workers and channels like any notification; the
    channels write it with the confirmation link instead of the request's news.
    """
    message = {
        "summary": "Please confirm your subscription",
        "follows": follows,
        "expires_datetime": _utc_text(expires_at),
        # The request followed, if it is one: an email in another language names it so.
        **({"service_request_id": request_number} if request_number else {}),
    }
    _queue(
        session,
        [
            _pending(
                message,
                kind=NotificationKind.CONFIRMATION,
                subscription_id=subscription.id,
                channel=subscription.channel,
                address=subscription.address,
            )
        ],
    )


def ask_to_sign_in(session: Session, sign_in_id: int, email: str, expires_at: datetime) -> None:
    """Queue the email that carries a one-time sign-in link (accounts/residents.py).

    The link itself is signed by the worker when it writes the email, as the
    confirmation links are: the outbox never holds a usable credential.
    """
    message = {"summary": "Sign in to CHI 311", "expires_datetime": _utc_text(expires_at)}
    _queue(
        session,
        [
            _pending(
                message,
                kind=NotificationKind.SIGN_IN,
                sign_in_id=sign_in_id,
                channel=Channel.EMAIL,
                address=email,
            )
        ],
    )


def password_reset(
    session: Session, address: str, reset_id: int, expires_at: datetime, city: str
) -> None:
    """Queue the email that carries a staff member's one-time password link; the
    sender writes the link (channels.Links.password_reset), so no row holds it."""
    message = {
        "summary": "Choose a new password for the 311 console",
        "reset_id": reset_id,
        "city": city,
        "expires_datetime": _utc_text(expires_at),
    }
    _queue(
        session,
        [
            _pending(
                message,
                kind=NotificationKind.PASSWORD_RESET,
                subscription_id=None,
                channel=Channel.EMAIL,
                address=address,
            )
        ],
    )


def _pending(message: dict[str, Any], **receiver: Any) -> dict[str, Any]:
    """The row of one pending notification of `message`, due now, with its own stable id."""
    now = datetime.now(UTC)
    key = str(uuid.uuid4())
    return {
        "key": key,
        "payload": {"notification_id": key, **message},
        "state": DeliveryState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "kind": NotificationKind.CHANGE,  # unless `receiver` says otherwise (a confirmation)
        **receiver,
    }


def _queue(session: Session, notifications: list[dict[str, Any]]) -> None:
    """Write these notifications to the outbox: one INSERT, in the caller's transaction.

    Rows, not ORM objects: nothing reads them back in this transaction, and a
    filing spent more on the unit of work than on the INSERT itself.
    """
    if notifications:
        session.connection().execute(sa.insert(Notification), notifications)


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _message(
    service_request: ServiceRequest, action: str, summary: str, note: str | None, at: datetime
) -> dict[str, Any]:
    """What every receiver is told (webhooks get it as JSON; emails and texts from it)."""
    return {
        "service_request_id": service_request.number,
        "service_code": service_request.service_code,
        "status": service_request.status.value,
        "action": action,
        "summary": summary,
        "note": note,
        "occurred_datetime": _utc_text(at),
    }


def _fan_out(
    session: Session,
    service_request: ServiceRequest,
    message: dict[str, Any],
    event_id: int | None,
    question: dict[str, Any] | None = None,
) -> int:
    """Queue `message` for every receiver; the reporter asked a `question` gets it
    instead of the news, once."""
    if service_request.intake is Intake.PENDING_REVIEW:
        return 0
    receivers = _receivers(session, service_request)
    if question is not None:
        receivers = [
            r
            for r in receivers
            if not (r.channel is Channel.EMAIL and r.address == question["address"])
        ]
    _queue(
        session,
        [
            _pending(
                {**message, "account_id": receiver.account_id} if receiver.account_id else message,
                subscription_id=receiver.subscription_id,
                channel=receiver.channel,
                address=receiver.address,
                webhook_id=receiver.webhook_id,
                service_request_id=service_request.id,
                event_id=event_id,
            )
            for receiver in receivers
        ]
        + ([question] if question is not None else []),
    )
    return len(receivers) + (question is not None)


def _receivers(session: Session, service_request: ServiceRequest) -> list[_Receiver]:
    """One receiver per address, for the most specific subscription it has.

    Someone who follows the request and its ward gets one message, sent under
    the request's subscription (so its unsubscribe link stops that one).
    """
    found: dict[tuple[Any, ...], _Receiver] = {}
    for subscription in _matching(session, service_request):
        for receiver in _expand(session, subscription):
            destination = (receiver.channel, receiver.address, receiver.webhook_id)
            found.setdefault((*destination, receiver.account_id), receiver)
    return list(found.values())


def _matching(session: Session, service_request: ServiceRequest) -> Sequence[sa.Row[Any]]:
    """Live, confirmed subscriptions to this request; to its service, areas or a circle
    if it is public. Rows of what a receiver needs, not objects: every filing reads
    them, and loading whole subscriptions cost more than finding them."""
    public = service_request.intake is Intake.ACCEPTED
    where = {
        "service_code": service_request.service_code,
        **{kind: getattr(service_request, kind) for kind in AREA_KINDS},
        "lon": service_request.long,
        "lat": service_request.lat,
    }
    parameters = {
        "service_request_id": service_request.id,
        # NULL matches nothing: a request waiting for review tells only its own followers.
        **{name: value if public else None for name, value in where.items()},
    }
    statement = _subscriptions_matching(session.get_bind().dialect.name)
    return session.execute(statement, parameters).all()


@functools.cache
def _subscriptions_matching(dialect: str) -> sa.Select[*tuple[Any, ...]]:
    """The statement of _matching, built once per backend: every filing and every
    change runs it, and building it cost more than running it."""
    circle = circles_holding(
        dialect,
        Subscription.center_long,
        Subscription.center_lat,
        Subscription.radius_meters,
        sa.bindparam("lon", type_=sa.Float),
        sa.bindparam("lat", type_=sa.Float),
    )
    scopes = [
        Subscription.service_request_id == sa.bindparam("service_request_id", type_=sa.Integer),
        Subscription.service_code == sa.bindparam("service_code", type_=sa.String),
        *(
            sa.and_(
                Subscription.area_kind == kind,
                Subscription.area_code == sa.bindparam(kind, type_=sa.String),
            )
            for kind in AREA_KINDS
        ),
        # The circles twice, by channel: as the live-circle unique indexes split them.
        # Then every arm of the OR has an index (those two hold the live circles only),
        # and PostgreSQL ORs index scans instead of reading every subscription, one
        # more for each resident who filed with an email.
        *(
            sa.and_(on_channel, circle)
            for on_channel in (
                Subscription.channel != sa.literal_column(f"'{Channel.ACCOUNT.value}'"),
                Subscription.channel == sa.literal_column(f"'{Channel.ACCOUNT.value}'"),
            )
        ),
    ]
    live_webhook = sa.or_(
        Subscription.webhook_id.is_(None),
        Subscription.webhook_id.in_(sa.select(Webhook.id).where(Webhook.deleted_at.is_(None))),
    )
    return (
        sa.select(*RECEIVER_COLUMNS)
        .where(
            Subscription.cancelled_at.is_(None),
            Subscription.confirmed_at.is_not(None),  # a pending address hears nothing
            live_webhook,
            sa.or_(*scopes),
        )
        .order_by(Subscription.service_request_id.is_(None), Subscription.id)
    )


# What _expand reads of a matching subscription.
RECEIVER_COLUMNS = (
    Subscription.id,
    Subscription.channel,
    Subscription.address,
    Subscription.webhook_id,
    Subscription.api_key_id,
)


def _expand(session: Session, subscription: sa.Row[Any]) -> list[_Receiver]:
    if subscription.channel is Channel.WEBHOOK:
        return [_Receiver(subscription.id, Channel.WEBHOOK, webhook_id=subscription.webhook_id)]
    if subscription.channel is Channel.ACCOUNT:
        hooks = subscriptions.account_webhooks(session, subscription.api_key_id)
        return [
            _Receiver(
                subscription.id, Channel.WEBHOOK, webhook_id=hook, account_id=subscription.address
            )
            for hook in hooks
        ]
    return [_Receiver(subscription.id, subscription.channel, address=subscription.address)]
