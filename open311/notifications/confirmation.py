"""Double opt-in: an email or phone subscribed through the API is told nothing until
its owner follows the link in one confirmation message.

Without it, anyone with an API key could sign a stranger's address up. Three kinds
of subscription need no confirmation: the filer's own (the address was given in the
report itself), a partner's user by account_id (the partner holds that consent, and
tells them through its own webhooks), and a webhook's filters.

Writes take the caller's transaction; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.jurisdiction import Jurisdiction
from open311.models import ApiKey, Channel, Service, Subscription
from open311.models.base import utcnow
from open311.notifications import outbox, subscriptions
from open311.notifications.subscriptions import Follower, Scope

ASKED = frozenset({Channel.EMAIL, Channel.SMS})  # the channels whose owner must confirm


@dataclass(frozen=True)
class Rules:
    valid_for: timedelta  # a confirmation link works this long after it was sent
    resend_after: timedelta  # at most one confirmation per subscription this often

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Rules:
        return cls(
            valid_for=timedelta(days=float(config["CONFIRMATION_VALID_DAYS"])),
            resend_after=timedelta(seconds=float(config["CONFIRMATION_RESEND_SECONDS"])),
        )


def subscribe(
    session: Session,
    scope: Scope,
    follower: Follower,
    api_key: ApiKey,
    jurisdiction: Jurisdiction,
    rules: Rules,
    language: str | None = None,
) -> Subscription:
    """A resident follows something; a pending one's owner is asked to confirm.

    Asking again for a subscription still pending asks its owner again, unless
    a confirmation went out less than `rules.resend_after` ago: a partner that
    retries cannot flood the address. An expired one is asked anew, and the new
    link works for `rules.valid_for` from then.

    An email or phone that follows already (its owner confirmed, or filed the
    request with it) is sent nothing more: it gets the news, each message with
    its link to stop. It is marked as asked all the same (confirmation_sent_at),
    on the same schedule: the reply, built from that, must not tell it apart
    from an address asked for the first time.
    """
    subscription = subscriptions.subscribe(
        session, scope, follower, api_key, jurisdiction, language
    )
    if subscription.channel not in ASKED:
        return subscription  # a partner's own user: the partner answers for it
    now = utcnow()
    last_asked = subscription.confirmation_sent_at
    if last_asked is None or last_asked + rules.resend_after <= now:
        subscription.confirmation_sent_at = now
        if subscription.confirmed_at is None:
            outbox.ask_to_confirm(
                session,
                subscription,
                described(session, subscription),
                now + rules.valid_for,
                _request_number(session, subscription),
            )
    return subscription


def _request_number(session: Session, subscription: Subscription) -> str | None:
    """The number of the request followed, if it is one: the email says it in any language."""
    if subscription.service_request_id is None:
        return None
    return subscriptions.request_numbers(session, [subscription.service_request_id])[
        subscription.service_request_id
    ]


def described(session: Session, subscription: Subscription) -> str:
    """What the subscription follows, in words for its confirmation message and page."""
    if subscription.service_request_id is not None:
        numbers = subscriptions.request_numbers(session, [subscription.service_request_id])
        return f"service request {numbers[subscription.service_request_id]}"
    if subscription.service_code is not None:
        name = session.scalar(
            sa.select(Service.name).where(Service.code == subscription.service_code)
        )
        return f"new {name or subscription.service_code} requests"
    if subscription.area_kind is not None:
        return f"requests in {subscription.area_kind.replace('_', ' ')} {subscription.area_code}"
    return (
        f"requests within {subscription.radius_meters:g} m of "
        f"{subscription.center_lat},{subscription.center_long}"
    )
