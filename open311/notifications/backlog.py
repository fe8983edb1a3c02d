"""How far behind the outbox is: what readiness and the metrics report about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import DeliveryState, Notification


@dataclass(frozen=True)
class Backlog:
    pending: int  # notifications not yet delivered, parked or cancelled
    oldest_pending_at: datetime | None  # when the oldest of them was written
    # The earliest moment a notification became due (first sending, or a retry) and has
    # waited since, with no worker holding it: workers that keep up keep it recent.
    oldest_waiting_since: datetime | None

    def age(self, now: datetime) -> float:
        """Seconds since the oldest pending notification was written (0 for none)."""
        return _seconds_since(self.oldest_pending_at, now)

    def wait(self, now: datetime) -> float:
        """Seconds the longest-waiting due notification has waited for a worker (0 for none)."""
        return _seconds_since(self.oldest_waiting_since, now)


def backlog(session: Session, now: datetime) -> Backlog:
    """One aggregate over the pending rows (the state, next_attempt_at index)."""
    waiting = sa.and_(
        Notification.next_attempt_at <= now,
        sa.or_(Notification.lease_expires_at.is_(None), Notification.lease_expires_at < now),
    )
    row = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.min(Notification.created_at),
            sa.func.min(sa.case((waiting, Notification.next_attempt_at))),
        ).where(Notification.state == DeliveryState.PENDING)
    ).one()
    return Backlog(pending=row[0], oldest_pending_at=row[1], oldest_waiting_since=row[2])


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0
