"""Who follows what: residents (email, phone, account_id) and partners' webhooks.

Writes take the caller's transaction; nothing here commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from open311.catalog import queries as catalog_queries
from open311.errors import Gone, InvalidRequest, NotFound
from open311.jurisdiction import Jurisdiction
from open311.models import (
    AREA_KINDS,
    ApiKey,
    Area,
    Channel,
    DeliveryState,
    Intake,
    Notification,
    ServiceRequest,
    Subscription,
    Webhook,
)
from open311.models.base import utcnow
from open311.notifications.destinations import Destinations, RefusedDestination

UNSUBSCRIBE_SALT = "open311.unsubscribe"
CONFIRM_SALT = "open311.confirm"
PUBLIC_ID_SALT = "open311.subscription-id"
PUBLIC_ID_LENGTH = 20  # hex digits: 80 bits, no two subscriptions alike in practice
SECRET_PREFIX = "whsec_"
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one names nothing
MIN_PHONE_DIGITS = 7  # a phone given when filing is texted only if it could be dialled


@dataclass(frozen=True, kw_only=True)
class Follower:
    """A resident, by exactly one of these (validated at the edge)."""

    email: str | None = None
    phone: str | None = None
    account_id: str | None = None  # the partner's own user: told through its webhooks

    def channel(self) -> tuple[Channel, str]:
        if self.email:
            return Channel.EMAIL, self.email.lower()
        if self.phone:
            return Channel.SMS, self.phone
        if self.account_id:
            return Channel.ACCOUNT, self.account_id
        raise InvalidRequest("email, phone or account_id: one is required to subscribe.")


@dataclass(frozen=True, kw_only=True)
class Scope:
    """What is followed: exactly one of these (validated at the edge)."""

    service_request_id: str | None = None  # the public number, e.g. SR26-00000001
    service_code: str | None = None
    area_kind: str | None = None  # one of AREA_KINDS
    area_code: str | None = None
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None  # placed by the geocoder when lat/long are absent
    radius_meters: float | None = None


# --- residents ----------------------------------------------------------------------


def follow_as_filer(session: Session, service_request: ServiceRequest) -> None:
    """Filing with an email, a phone or an account_id follows the request with each."""
    followers = [
        Follower(email=service_request.email),
        Follower(phone=service_request.phone if _dialable(service_request.phone) else None),
        Follower(account_id=service_request.account_id if service_request.api_key_id else None),
    ]
    rows = [
        {
            "channel": channel,
            "address": address,
            "api_key_id": service_request.api_key_id,
            "service_request_id": service_request.id,
            # The filer gave the address in the report itself: no confirmation.
            "confirmed_at": service_request.requested_at,
        }
        for channel, address in (
            follower.channel()
            for follower in followers
            if follower.email or follower.phone or follower.account_id
        )
    ]
    if rows:  # rows, not objects: one INSERT, and nothing reads them back as objects
        session.connection().execute(sa.insert(Subscription), rows)


def speak_to_filer(session: Session, service_request_id: int, language: str) -> None:
    """The filer's own subscriptions to their request get its emails in `language`
    (the site's page it was filed from)."""
    session.execute(
        sa.update(Subscription)
        .where(
            Subscription.service_request_id == service_request_id,
            Subscription.channel.in_([Channel.EMAIL, Channel.SMS]),
            Subscription.cancelled_at.is_(None),
        )
        .values(language=language),
        execution_options={"synchronize_session": False},
    )


def _dialable(phone: str | None) -> bool:
    return phone is not None and sum(c.isdigit() for c in phone) >= MIN_PHONE_DIGITS


def subscribe(
    session: Session,
    scope: Scope,
    follower: Follower,
    api_key: ApiKey,
    jurisdiction: Jurisdiction,
    language: str | None = None,
) -> Subscription:
    """A resident follows a request, a service, an area or a circle; idempotent.

    `language` (en, es) is that of its emails: the site's page it was asked from.
    None keeps an existing subscription's, and makes a new one English.

    A live subscription of the same address to the same thing is returned as it
    is (locked: asking again may queue a confirmation), also when a concurrent
    request made it a moment ago. An email or a phone starts pending, told
    nothing until its owner confirms: use confirmation.subscribe, which also
    asks them. A partner's own user (account_id) is the partner's to answer
    for, and starts confirmed.
    """
    channel, address = follower.channel()
    wanted = _scoped(session, scope, jurisdiction)
    wanted.channel, wanted.address, wanted.api_key_id = channel, address, api_key.id
    wanted.language = language or "en"
    existing = _live_twin(session, wanted)
    if existing is not None:
        existing.language = language or existing.language
        return existing
    if channel is Channel.ACCOUNT:
        wanted.confirmed_at = utcnow()
    try:
        with session.begin_nested():
            session.add(wanted)
    except IntegrityError:
        # A concurrent request inserted the same subscription after our SELECT (which
        # had no row to lock): the unique index refused ours once that one committed
        # (PostgreSQL waits for it), so answer with that one.
        existing = _live_twin(session, wanted)
        if existing is None:
            raise
        existing.language = language or existing.language
        return existing
    return wanted


def _live_twin(session: Session, wanted: Subscription) -> Subscription | None:
    """The live subscription of the same address to the same thing, locked, if any."""
    return session.scalar(
        sa.select(Subscription)
        .where(
            Subscription.cancelled_at.is_(None),
            Subscription.channel == wanted.channel,
            Subscription.address == wanted.address,
            *_same_scope(wanted),
            *_same_partner_if_account(wanted),
        )
        .order_by(Subscription.id)
        .limit(1)
        .with_for_update()
    )


def _same_partner_if_account(subscription: Subscription) -> list[sa.ColumnElement[bool]]:
    """An account_id is a partner's own name for its user: two partners' "7" are two people."""
    if subscription.channel is not Channel.ACCOUNT:
        return []
    return [Subscription.api_key_id == subscription.api_key_id]


def _same_scope(subscription: Subscription) -> list[sa.ColumnElement[bool]]:
    columns = (
        Subscription.service_request_id, Subscription.service_code, Subscription.area_kind,
        Subscription.area_code, Subscription.center_lat, Subscription.center_long,
        Subscription.radius_meters,
    )  # fmt: skip
    values = [(column, getattr(subscription, column.key)) for column in columns]
    return [column.is_(None) if value is None else column == value for column, value in values]


def _scoped(session: Session, scope: Scope, jurisdiction: Jurisdiction) -> Subscription:
    """A new subscription to the scope, checked against the store; not added yet."""
    if scope.service_request_id:
        return Subscription(service_request_id=public_request_id(session, scope.service_request_id))
    if scope.service_code:
        return Subscription(
            service_code=catalog_queries.active_service(session, scope.service_code).code
        )
    if scope.area_kind and scope.area_code:
        _check_area(session, scope.area_kind, scope.area_code)
        return Subscription(area_kind=scope.area_kind, area_code=scope.area_code)
    if scope.radius_meters:
        long, lat = _centre(scope, jurisdiction)
        return Subscription(center_long=long, center_lat=lat, radius_meters=scope.radius_meters)
    raise InvalidRequest(
        "Say what to follow: service_code, ward, community_area, police_district, "
        "neighborhood, or radius with lat and long (or address_string)."
    )


def public_request_id(session: Session, number: str) -> int:
    request_id = session.scalar(
        sa.select(ServiceRequest.id).where(
            ServiceRequest.number == number, ServiceRequest.intake == Intake.ACCEPTED
        )
    )
    if request_id is None:
        raise NotFound(f"No service request {number!r}.")
    return request_id


def _check_area(session: Session, kind: str, code: str) -> None:
    if kind not in AREA_KINDS:
        raise InvalidRequest(f"{kind}: not a kind of area ({', '.join(AREA_KINDS)}).")
    known = session.scalar(sa.select(Area.id).where(Area.kind == kind, Area.code == code))
    if known is None:
        raise InvalidRequest(f"{kind}: no {kind.replace('_', ' ')} {code!r} is loaded.")


def _centre(scope: Scope, jurisdiction: Jurisdiction) -> tuple[float, float]:
    if scope.lat is not None and scope.long is not None:
        long, lat = scope.long, scope.lat
    elif scope.address_string:
        place = jurisdiction.geocoder.geocode(scope.address_string)
        if place is None:
            raise InvalidRequest(
                f"address_string: {scope.address_string!r} could not be placed in "
                f"{jurisdiction.name}; check it, or send lat and long."
            )
        long, lat = place.lon, place.lat
    else:
        raise InvalidRequest("radius: lat and long, or address_string, give its centre.")
    if not jurisdiction.boundary.contains(long, lat):
        raise InvalidRequest(f"lat/long: {lat},{long} is outside {jurisdiction.name}.")
    return long, lat


def public_id(secret_key: str, subscription_id: int) -> str:
    """The id a reply shows for a subscription: the same each time it is asked for, but
    not the row's number, whose order would tell an address that followed already (a
    reporter's own subscription dates from the filing) from one asked for just now."""
    message = f"{PUBLIC_ID_SALT}:{subscription_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:PUBLIC_ID_LENGTH]


# --- unsubscribe and confirmation links ---------------------------------------------


@dataclass(frozen=True)
class LinkKeys:
    """The keys of the links in messages: the current key signs; it and each old one
    verify, so that links already sent keep working while a key is being replaced."""

    current: str
    old: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LinkKeys:
        return cls(config["SECRET_KEY"], tuple(config.get("SECRET_KEY_FALLBACKS") or ()))

    def serializer(self, salt: str) -> URLSafeSerializer:
        # itsdangerous signs with the last key of its list and verifies with each.
        return URLSafeSerializer([*self.old, self.current], salt=salt)


def unsubscribe_token(keys: LinkKeys, subscription_id: int) -> str:
    """A signed token naming the subscription; it never expires, as old emails don't."""
    token: str = keys.serializer(UNSUBSCRIBE_SALT).dumps(subscription_id)
    return token


def confirmation_token(keys: LinkKeys, subscription_id: int) -> str:
    """A signed token naming the subscription, for its confirmation link.

    Its own salt: an unsubscribe token confirms nothing, and this one cancels nothing.
    """
    token: str = keys.serializer(CONFIRM_SALT).dumps(subscription_id)
    return token


PASSWORD_RESET_SALT = "open311.password-reset"


def password_reset_token(keys: LinkKeys, reset_id: int) -> str:
    """A signed token naming a password reset (accounts/resets.py), for its emailed link."""
    token: str = keys.serializer(PASSWORD_RESET_SALT).dumps(reset_id)
    return token


def password_reset_id(keys: LinkKeys, token: str) -> int:
    """The reset a token names; NotFound if it was not signed by us."""
    try:
        reset_id = keys.serializer(PASSWORD_RESET_SALT).loads(token)
    except BadSignature as error:
        raise NotFound("This link is not valid.") from error
    if not isinstance(reset_id, int):
        raise NotFound("This link is not valid.")
    return reset_id


def _named_by(session: Session, keys: LinkKeys, salt: str, token: str) -> Subscription:
    """The subscription a token signed with this salt names; NotFound if forged.

    Subscription ids are sequential, so the signature is all that stands between
    a guessed id and a stranger's subscription: create_app refuses to run with
    the development key (config.require_secret_key).
    """
    try:
        subscription_id = keys.serializer(salt).loads(token)
    except BadSignature as error:
        raise NotFound("This link is not valid.") from error
    subscription = (
        session.get(Subscription, subscription_id) if isinstance(subscription_id, int) else None
    )
    if subscription is None:
        raise NotFound("This link is not valid.")
    return subscription


def subscription_to_confirm(
    session: Session, keys: LinkKeys, token: str, valid_for: timedelta
) -> Subscription:
    """The subscription a confirmation token names, if it may still be confirmed; reads only.

    NotFound if the token is forged; Gone if the subscription was cancelled, or
    if it is still pending and its last confirmation was sent more than
    `valid_for` ago (it expired). A confirmed one is returned as it is.
    """
    subscription = _named_by(session, keys, CONFIRM_SALT, token)
    if subscription.cancelled_at is not None:
        raise Gone("This subscription was cancelled. Ask again to subscribe.")
    if subscription.confirmed_at is None and confirmation_expired(
        subscription, valid_for, utcnow()
    ):
        raise Gone("This link has expired. Ask again to subscribe: a new link will be sent.")
    return subscription


def confirm(session: Session, keys: LinkKeys, token: str, valid_for: timedelta) -> Subscription:
    """Confirm the subscription the token names (again: no change); raises as
    subscription_to_confirm does."""
    subscription = subscription_to_confirm(session, keys, token, valid_for)
    if subscription.confirmed_at is None:
        subscription.confirmed_at = utcnow()
    return subscription


def confirmation_expired(subscription: Subscription, valid_for: timedelta, now: datetime) -> bool:
    sent_at = subscription.confirmation_sent_at
    return sent_at is None or sent_at + valid_for < now


def subscription_to_unsubscribe(session: Session, keys: LinkKeys, token: str) -> Subscription:
    """The subscription an unsubscribe token names, cancelled or not; reads only.

    NotFound if the token is forged.
    """
    return _named_by(session, keys, UNSUBSCRIBE_SALT, token)


def unsubscribe(session: Session, keys: LinkKeys, token: str) -> Subscription:
    """Cancel the subscription the token names (again: no change); NotFound if forged."""
    subscription = subscription_to_unsubscribe(session, keys, token)
    if subscription.cancelled_at is None:
        subscription.cancelled_at = utcnow()
        _cancel_pending(
            session, sa.select(Subscription.id).where(Subscription.id == subscription.id)
        )
    return subscription


def stop_phone(session: Session, phone: str) -> None:
    """A phone that texted STOP: its live subscriptions cancelled, and what was queued
    for it not sent (carriers require silence until it texts START)."""
    live = (
        Subscription.channel == Channel.SMS,
        Subscription.address == phone,
        Subscription.cancelled_at.is_(None),
    )
    _cancel_pending(session, sa.select(Subscription.id).where(*live))
    session.execute(
        sa.update(Subscription).where(*live).values(cancelled_at=utcnow()),
        execution_options={"synchronize_session": False},
    )


def _cancel_pending(session: Session, subscription_ids: sa.Select[int]) -> None:
    """What was queued and not yet sent is not sent any more."""
    session.execute(
        sa.update(Notification)
        .where(
            Notification.subscription_id.in_(subscription_ids),
            Notification.state == DeliveryState.PENDING,
            Notification.claimed_by.is_(None),
        )
        .values(state=DeliveryState.CANCELLED),
        execution_options={"synchronize_session": False},
    )


# --- partners' webhooks -------------------------------------------------------------


def create_webhook(
    session: Session,
    api_key: ApiKey,
    url: str,
    scopes: Sequence[Scope],
    *,
    accounts: bool,
    jurisdiction: Jurisdiction,
    destinations: Destinations,
) -> Webhook:
    """A partner's endpoint for the scopes it lists; its secret is in the returned object.

    The URL is checked last (destinations.py): it may take a DNS lookup, and the
    partner learns of a missing filter without one.
    """
    if not scopes and not accounts:
        raise InvalidRequest(
            "Say what to send: service_code, an area (ward, community_area, police_district, "
            "neighborhood), service_request_id, or accounts=true."
        )
    filters = [_scoped(session, scope, jurisdiction) for scope in scopes]
    try:
        destinations.check(url)
    except RefusedDestination as error:
        raise InvalidRequest(f"url: {error}.") from error
    webhook = Webhook(
        created_at=utcnow(),
        api_key_id=api_key.id,
        url=url,
        secret=SECRET_PREFIX + secrets.token_hex(24),
        accounts=accounts,
    )
    session.add(webhook)
    session.flush()
    for subscription in filters:
        subscription.channel, subscription.webhook_id = Channel.WEBHOOK, webhook.id
        subscription.api_key_id = api_key.id
        subscription.confirmed_at = webhook.created_at  # the partner's own endpoint
        session.add(subscription)
    session.flush()
    return webhook


def webhooks_of(session: Session, api_key: ApiKey) -> Sequence[Webhook]:
    return session.scalars(
        sa.select(Webhook)
        .where(Webhook.api_key_id == api_key.id, Webhook.deleted_at.is_(None))
        .order_by(Webhook.id)
    ).all()


def webhook_of(session: Session, api_key: ApiKey, webhook_id: int) -> Webhook:
    """The partner's own live webhook; another partner's is as absent as a missing one."""
    webhook = session.get(Webhook, webhook_id) if 0 < webhook_id <= MAX_ID else None
    if webhook is None or webhook.api_key_id != api_key.id or webhook.deleted_at is not None:
        raise NotFound(f"No webhook {webhook_id} for this api_key.")
    return webhook


def delete_webhook(session: Session, api_key: ApiKey, webhook_id: int) -> Webhook:
    """Stop a webhook: nothing more is queued for it, and what is queued is not sent."""
    webhook = webhook_of(session, api_key, webhook_id)
    webhook.deleted_at = utcnow()
    session.execute(
        sa.update(Subscription)
        .where(Subscription.webhook_id == webhook.id, Subscription.cancelled_at.is_(None))
        .values(cancelled_at=webhook.deleted_at),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        sa.update(Notification)
        .where(Notification.webhook_id == webhook.id, Notification.state == DeliveryState.PENDING)
        .values(state=DeliveryState.CANCELLED),
        execution_options={"synchronize_session": False},
    )
    return webhook


def filters_of(session: Session, webhook_ids: Sequence[int]) -> dict[int, list[Subscription]]:
    """Each webhook's filters, by webhook id, with the request numbers loaded."""
    found: dict[int, list[Subscription]] = {webhook_id: [] for webhook_id in webhook_ids}
    for subscription in session.scalars(
        sa.select(Subscription)
        .where(Subscription.webhook_id.in_(webhook_ids))
        .order_by(Subscription.id)
    ):
        found[subscription.webhook_id or 0].append(subscription)
    return found


def request_numbers(session: Session, request_ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(
        sa.select(ServiceRequest.id, ServiceRequest.number).where(
            ServiceRequest.id.in_(request_ids)
        )
    )
    return {request_id: number for request_id, number in rows}


def account_webhooks(session: Session, api_key_id: int | None) -> Sequence[int]:
    """The live webhooks through which a partner hears about its users (accounts=true)."""
    return session.scalars(
        sa.select(Webhook.id).where(
            Webhook.api_key_id == api_key_id,
            Webhook.accounts.is_(True),
            Webhook.deleted_at.is_(None),
        )
    ).all()
