"""Text-message conversations with residents, and every text in and out (open311/sms)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from open311.models.base import Base, intpk, utcnow


class SmsConversation(Base):
    """One phone's conversation: where it stands, in which language, and whether the
    phone said STOP. One row per phone, kept after a conversation ends (its language
    and STOP outlive it)."""

    __tablename__ = "sms_conversation"

    id: Mapped[intpk]
    phone: Mapped[str] = mapped_column(sa.String(40), unique=True)
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    # The step the next text answers (conversation.py's Step); "idle" between filings.
    step: Mapped[str] = mapped_column(sa.String(24), default="idle")
    # What the steps so far gathered: choices offered, answers, the place, the number.
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Set by STOP, cleared by START: nothing is sent to the phone meanwhile.
    stopped_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_text_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsMessage(Base):
    """A text received or sent. `provider_id` is the provider's id of the text (Twilio's
    MessageSid): unique, so a text the provider delivers twice is stored, and answered,
    once; a reply has one once the provider accepted it."""

    __tablename__ = "sms_message"

    id: Mapped[intpk]
    conversation_id: Mapped[int] = mapped_column(sa.ForeignKey("sms_conversation.id"), index=True)
    direction: Mapped[str] = mapped_column(sa.String(3))  # "in" or "out"
    body: Mapped[str] = mapped_column(sa.Text)
    provider_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # in: received; out: queued (not yet handed over), sent (accepted by the provider),
    # then the provider's receipts: delivered, undelivered or failed.
    status: Mapped[str] = mapped_column(sa.String(16))
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_at: Mapped[datetime | None]
