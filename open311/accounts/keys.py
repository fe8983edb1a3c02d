"""Create, list, revoke and check API keys. Only a SHA-256 of a key is stored."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import Forbidden, NotFound
from open311.models import ApiKey
from open311.models.base import utcnow
from open311.routing import reading_primary
from open311.sandbox import KEY_MARK, PREFIX

PREFIX_LENGTH = 8


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str, *, sandbox: bool = False) -> tuple[ApiKey, str]:
    """A new key for a partner; the plaintext is returned once and never stored.

    A sandbox key starts with KEY_MARK; a production key never does, so each side
    names the other's keys in its refusal. The prefix kept is of the random part.
    """
    token = secrets.token_urlsafe(32)
    while token.startswith(KEY_MARK):  # one in 2**48: production's keys never look like one
        token = secrets.token_urlsafe(32)
    plaintext = KEY_MARK + token if sandbox else token
    api_key = ApiKey(name=name, key_hash=hash_key(plaintext), prefix=token[:PREFIX_LENGTH])
    session.add(api_key)
    session.flush()
    return api_key, plaintext


def list_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(sa.select(ApiKey).order_by(ApiKey.id)).all()


def get_key(session: Session, key_id: int) -> ApiKey:
    api_key = session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFound(f"No API key with id {key_id}.")
    return api_key


def revoke_key(session: Session, key_id: int) -> ApiKey:
    api_key = get_key(session, key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
    return api_key


# Built once: every POST runs it.
_KEY_WITH_HASH = sa.select(ApiKey).where(
    ApiKey.key_hash == sa.bindparam("key_hash", type_=sa.String)
)


def authenticate(session: Session, plaintext: str | None, *, sandbox: bool = False) -> ApiKey:
    """The live key matching `plaintext`; Forbidden (403) otherwise, naming where a key
    of the other side (sandbox or production) belongs."""
    if not plaintext:
        raise Forbidden("api_key is required to create a service request.")
    if plaintext.startswith(KEY_MARK) and not sandbox:
        raise Forbidden(
            f"This api_key is a sandbox key: use it with the sandbox at {PREFIX}/v2/, "
            "and a production key here."
        )
    if sandbox and not plaintext.startswith(KEY_MARK):
        raise Forbidden(
            "This api_key is not a sandbox key: the sandbox takes sandbox keys only "
            f"(they start with {KEY_MARK!r}); ask the 311 team for one."
        )
    with reading_primary(session):  # a key issued or revoked a moment ago counts at once
        api_key = session.scalar(_KEY_WITH_HASH, {"key_hash": hash_key(plaintext)})
    if api_key is None or api_key.revoked_at is not None:
        raise Forbidden("Invalid api_key received -- can't proceed with create_request.")
    return api_key


SITE_KEY_NAME = "Resident site (web)"


def site_key(session: Session) -> ApiKey:
    """The key the resident site files with, made on first use.

    The site speaks for residents the way a partner app does: requests it
    files carry this key, so the API's rules about the filing key (feedback,
    answers, retried POSTs) hold for the site too. Nobody holds its plaintext.
    """
    return _own_key(session, SITE_KEY_NAME)


SMS_KEY_NAME = "Text messages (sms)"


def sms_key(session: Session) -> ApiKey:
    """The key requests filed by text message carry, made on first use (as site_key)."""
    return _own_key(session, SMS_KEY_NAME)


CONSOLE_KEY_NAME = "Staff console (phone)"


def console_key(session: Session) -> ApiKey:
    """The key requests a call-taker files carry, made on first use (as site_key): with it
    the API's replay guards hold for the console's form too, so a double click files once."""
    return _own_key(session, CONSOLE_KEY_NAME)


def _own_key(session: Session, name: str) -> ApiKey:
    found = session.scalar(
        sa.select(ApiKey)
        .where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.id)
        .limit(1)
    )
    if found is None:
        found, _plaintext = create_key(session, name)
    return found
