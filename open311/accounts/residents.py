"""Residents on the site: a one-time sign-in link sent by email, the signed-in browser,
and the requests filed with their address (from the site or any partner's app).

No passwords: owning the mailbox is the proof. A link names its SignInLink row,
signed with the app's key (LinkKeys: the old keys of SECRET_KEY_FALLBACKS still
verify); the row makes it single use and short-lived. Using it makes a
ResidentSession whose random token the browser keeps (the session cookie) and
whose hash the database keeps, so signing out ends it on every server.

Writes take the caller's transaction; nothing here commits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from itsdangerous import BadSignature
from marshmallow import ValidationError, validate
from sqlalchemy.orm import Session

from open311.catalog import queries as catalog_queries
from open311.database import spend_once
from open311.errors import Gone, InvalidRequest, NotFound
from open311.models import Intake, ResidentSession, ServiceRequest, SignInLink, Status
from open311.models.base import utcnow
from open311.notifications import outbox
from open311.notifications.subscriptions import LinkKeys
from open311.routing import reading_primary

SIGN_IN_SALT = "open311.sign-in"  # its own: no other link of ours signs anyone in
LANGUAGES = ("en", "es")
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class Rules:
    link_valid_for: timedelta  # an emailed link works this long, once
    session_lasts: timedelta  # a signed-in browser stays signed in this long at most

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Rules:
        return cls(
            link_valid_for=timedelta(minutes=float(config["SIGN_IN_LINK_MINUTES"])),
            session_lasts=timedelta(days=float(config["RESIDENT_SESSION_DAYS"])),
        )


def email_address(given: str) -> str:
    """The address as stored and compared: trimmed, lower case; InvalidRequest if it is
    not an email address."""
    email = given.strip().lower()
    try:
        validate.Length(min=1, max=MAX_EMAIL_LENGTH)(email)
        validate.Email()(email)
    except ValidationError:
        raise InvalidRequest("email: not a valid email address.") from None
    return email


def ask_to_sign_in(session: Session, email: str, language: str, rules: Rules) -> SignInLink:
    """Queue an email with a one-time sign-in link to `email`, in `language`.

    The same for every address, whether it filed requests or not: what the
    caller answers cannot tell anyone which addresses are known here.
    """
    now = utcnow()
    link = SignInLink(
        email=email_address(email),
        language=language if language in LANGUAGES else LANGUAGES[0],
        created_at=now,
        expires_at=now + rules.link_valid_for,
    )
    session.add(link)
    session.flush()
    outbox.ask_to_sign_in(session, link.id, link.email, link.expires_at)
    return link


def sign_in_token(keys: LinkKeys, link_id: int) -> str:
    token: str = keys.serializer(SIGN_IN_SALT).dumps(link_id)
    return token


def link_to_use(session: Session, keys: LinkKeys, token: str, now: datetime) -> SignInLink:
    """The link a token names, if it may still be used; reads only.

    NotFound if the token is forged (or signed with a key we no longer hold);
    Gone if it was used already or has expired.
    """
    try:
        link_id = keys.serializer(SIGN_IN_SALT).loads(token)
    except BadSignature:
        raise NotFound("This sign-in link is not valid.") from None
    link = session.get(SignInLink, link_id) if isinstance(link_id, int) else None
    if link is None:
        raise NotFound("This sign-in link is not valid.")
    if link.used_at is not None:
        raise Gone("This sign-in link was used already. Ask for a new one.")
    if link.expires_at <= now:
        raise Gone("This sign-in link has expired. Ask for a new one.")
    return link


def use_link(
    session: Session, keys: LinkKeys, token: str, rules: Rules
) -> tuple[ResidentSession, str]:
    """Spend the link (once, even if two tabs press at the same moment) and sign a
    browser in: the new session and the token for its cookie (never stored)."""
    now = utcnow()
    link = link_to_use(session, keys, token, now)
    if not spend_once(session, SignInLink, link.id, now):
        raise Gone("This sign-in link was used already. Ask for a new one.")
    # This address's expired sessions go: the table holds the live ones and a few more.
    session.execute(
        sa.delete(ResidentSession).where(
            ResidentSession.email == link.email, ResidentSession.expires_at <= now
        )
    )
    plaintext = secrets.token_urlsafe(32)
    signed_in = ResidentSession(
        token_hash=_hash(plaintext),
        email=link.email,
        created_at=now,
        expires_at=now + rules.session_lasts,
    )
    session.add(signed_in)
    session.flush()
    return signed_in, plaintext


def signed_in(session: Session, token: str | None) -> ResidentSession | None:
    """The live session a browser's token names; None when signed out or expired."""
    if not token:
        return None
    with reading_primary(session):  # signed in or out a moment ago: it counts at once
        found = session.scalar(
            sa.select(ResidentSession).where(ResidentSession.token_hash == _hash(token))
        )
    if found is None or found.expires_at <= utcnow():
        return None
    return found


def sign_out(session: Session, token: str | None) -> None:
    """End the session on the server: its cookie, even if copied, signs no one in."""
    if token:
        session.execute(
            sa.delete(ResidentSession).where(ResidentSession.token_hash == _hash(token))
        )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- a resident's requests ----------------------------------------------------------


class OwnRequest(NamedTuple):
    """One of a resident's requests, as "My requests" lists it."""

    number: str
    service_code: str
    service_name: str
    status: Status
    intake: Intake  # a request waiting for the City's review is not public yet
    requested_at: datetime
    address: str


def requests_of(
    session: Session, email: str, page: int, page_size: int
) -> tuple[list[OwnRequest], bool]:
    """The requests filed with this email, by anyone's key, newest first: one page, and
    whether another follows."""
    rows = session.execute(
        sa.select(
            ServiceRequest.number,
            ServiceRequest.service_code,
            ServiceRequest.status,
            ServiceRequest.intake,
            ServiceRequest.requested_at,
            ServiceRequest.address,
        )
        .where(sa.func.lower(ServiceRequest.email) == email_address(email))
        .order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())
        .limit(page_size + 1)  # one more: is there a next page?
        .offset((max(page, 1) - 1) * page_size)
    ).all()
    names = catalog_queries.service_names(session) if rows else {}
    found = [
        OwnRequest(number, code, names.get(code, code), status, intake, requested_at, address)
        for number, code, status, intake, requested_at, address in rows[:page_size]
    ]
    return found, len(rows) > page_size
