"""sweep-sign-ins: what can open nothing any more is deleted; what still can, kept."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from open311.accounts import residents
from open311.database import begin_write
from open311.extensions import db
from open311.models import (
    ConsoleSession,
    DeliveryState,
    Notification,
    PasswordReset,
    ResidentSession,
    SignInEvent,
    SignInLink,
    Staff,
)
from open311.models.base import utcnow
from tests.console.conftest import CDOT, add_staff

RULES = residents.Rules(link_valid_for=timedelta(minutes=30), session_lasts=timedelta(days=30))


def rows(app: Flask, model: type) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)))


def test_expired_links_resets_and_sessions_go_and_live_ones_stay(app, browser):
    email = add_staff(app, "agent", CDOT, "sam@city.example")
    browser.sign_in(email)  # a live console session, and an audit row
    now = utcnow()
    with app.app_context():
        session = db.session()
        begin_write(session)
        staff_id = session.scalar(sa.select(Staff.id))
        old = residents.ask_to_sign_in(session, "old@example.com", "en", RULES)
        sent = residents.ask_to_sign_in(session, "sent@example.com", "en", RULES)
        waiting = residents.ask_to_sign_in(session, "waiting@example.com", "en", RULES)
        fresh = residents.ask_to_sign_in(session, "fresh@example.com", "en", RULES)
        for link in (old, sent, waiting):
            link.expires_at = now - timedelta(minutes=1)
        session.execute(  # the old and sent links' emails went; the waiting one's did not
            sa.update(Notification)
            .where(Notification.sign_in_id.in_([old.id, sent.id]))
            .values(state=DeliveryState.DELIVERED)
        )
        session.add_all(
            [
                ResidentSession(token_hash="a" * 64, email="x@example.com", created_at=now,
                                expires_at=now - timedelta(seconds=1)),
                ResidentSession(token_hash="b" * 64, email="y@example.com", created_at=now,
                                expires_at=now + timedelta(days=1)),
                ConsoleSession(staff_id=staff_id, token_hash="c" * 64,
                               last_seen_at=now - timedelta(minutes=31)),
                PasswordReset(staff_id=staff_id, expires_at=now - timedelta(seconds=1)),
                PasswordReset(staff_id=staff_id, expires_at=now + timedelta(hours=1)),
            ]
        )  # fmt: skip
        session.commit()
        kept_links = {waiting.id, fresh.id}
    audits = rows(app, SignInEvent)

    result = app.test_cli_runner().invoke(args=["open311", "sweep-sign-ins"])

    assert result.exit_code == 0, result.output
    assert "2 sign-in links, 1 password resets, 1 resident sessions and 1 console" in result.output
    with app.app_context():
        assert set(db.session.scalars(sa.select(SignInLink.id))) == kept_links
        emails = db.session.scalars(sa.select(Notification.sign_in_id)).all()
        assert len(emails) == 4  # the outbox's history is kept, without the links
        assert sorted(e for e in emails if e is not None) == sorted(kept_links)
        assert db.session.scalar(sa.select(ResidentSession.email)) == "y@example.com"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordReset)) == 1
    assert rows(app, ConsoleSession) == 1
    assert browser.get("/console/queue").status_code == 200  # the live one still works
    assert rows(app, SignInEvent) == audits
