"""Sign-in rows that can open nothing any more, deleted on a schedule (sweep-sign-ins).

Each kind is refused by its own check once expired or idle too long; left in place
they only grow the tables, and a database copy would hold months of who signed in
when. The audit of sign-ins (sign_in_event) is kept: that history is the point of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import (
    ConsoleSession,
    DeliveryState,
    Notification,
    PasswordReset,
    ResidentSession,
    SignInLink,
)


@dataclass(frozen=True)
class Swept:
    sign_in_links: int
    resident_sessions: int
    console_sessions: int
    password_resets: int


def sweep(session: Session, now: datetime, console_idle: timedelta) -> Swept:
    """Delete expired links and sessions, and console sessions idle beyond
    `console_idle`; the caller commits."""

    def delete(statement: sa.Delete) -> int:
        return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]

    expired = sa.select(SignInLink.id).where(SignInLink.expires_at < now)
    # The emails of expired links stay in the outbox's history without them. One
    # still waiting to be sent keeps its link: the worker signs the link when it
    # sends, and the page then says the link has expired.
    session.execute(
        sa.update(Notification)
        .where(Notification.sign_in_id.in_(expired))
        .where(Notification.state != DeliveryState.PENDING)
        .values(sign_in_id=None)
    )
    waiting = sa.select(Notification.sign_in_id).where(Notification.sign_in_id.is_not(None))
    return Swept(
        sign_in_links=delete(
            sa.delete(SignInLink)
            .where(SignInLink.expires_at < now)
            .where(SignInLink.id.not_in(waiting))
        ),
        resident_sessions=delete(
            sa.delete(ResidentSession).where(ResidentSession.expires_at < now)
        ),
        console_sessions=delete(
            sa.delete(ConsoleSession).where(ConsoleSession.last_seen_at < now - console_idle)
        ),
        password_resets=delete(sa.delete(PasswordReset).where(PasswordReset.expires_at < now)),
    )
