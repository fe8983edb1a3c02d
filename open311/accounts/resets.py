"""Password resets for the console: an administrator sends a one-time link by email
(through the outbox, in the caller's transaction); the link sets a new password once,
before it expires, and ends every session of the account."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from open311.accounts import passwords
from open311.accounts.signin import end_sessions_of
from open311.database import spend_once
from open311.errors import Conflict, NotFound
from open311.models import PasswordReset, Staff
from open311.notifications import outbox
from open311.notifications.subscriptions import LinkKeys, password_reset_id


def send_reset(
    session: Session, staff_id: int, now: datetime, valid_for: timedelta, city: str
) -> PasswordReset:
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise NotFound(f"No active staff member with id {staff_id}.")
    reset = PasswordReset(staff_id=staff.id, created_at=now, expires_at=now + valid_for)
    session.add(reset)
    session.flush()
    outbox.password_reset(session, staff.email, reset.id, reset.expires_at, city)
    return reset


def usable_reset(session: Session, keys: LinkKeys, token: str, now: datetime) -> PasswordReset:
    """The reset a link names, if it may still be used; NotFound or Conflict (409) otherwise."""
    reset = session.get(PasswordReset, password_reset_id(keys, token[:500]))
    if reset is None:
        raise NotFound("This link is not valid.")
    if reset.used_at is not None:
        raise Conflict("This link was used already: ask an administrator for a new one.")
    if reset.expires_at <= now:
        raise Conflict("This link has expired: ask an administrator for a new one.")
    staff = session.get(Staff, reset.staff_id)
    if staff is None or not staff.active:
        raise Conflict("This account is no longer active.")
    return reset


def use_reset(session: Session, keys: LinkKeys, token: str, plaintext: str, now: datetime) -> Staff:
    """Set the new password: once, checked like any new one; every session ends.

    Spent by one conditional UPDATE, as a sign-in link is: of two uses at the same
    moment (two tabs, two app servers), the second finds it used and sets nothing.
    """
    reset = usable_reset(session, keys, token, now)
    staff = session.get(Staff, reset.staff_id)
    assert staff is not None
    password_hash = passwords.hash_password(plaintext)
    if not spend_once(session, PasswordReset, reset.id, now):
        raise Conflict("This link was used already: ask an administrator for a new one.")
    staff.password_hash = password_hash
    end_sessions_of(session, staff.id)
    session.flush()
    return staff
