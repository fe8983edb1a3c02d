"""Handing stored replies to the provider: after the webhook's own transaction, and
again later for those it could not send (`flask open311 resend-sms`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from open311.database import begin_write
from open311.sms import store
from open311.sms.twilio import Account, ProviderError

log = logging.getLogger(__name__)


def send_replies(
    session: Session, replies: Sequence[store.Reply], account: Account, callback: str | None
) -> int:
    """Send each reply in order and record its sid or its failure, each in a transaction
    of its own (none is held open while the provider answers); how many were taken.
    Like the outbox worker, this owns its transactions: call it with none open."""
    taken = 0
    for reply in replies:
        try:
            sid, error = account.send(reply.phone, reply.body, callback), None
            taken += 1
        except ProviderError as failure:
            sid, error = None, str(failure)
            log.warning("SMS reply %s not sent: %s", reply.id, error)
        begin_write(session)
        store.record_sent(session, reply.id, sid, error)
        session.commit()
    return taken
