"""A password reset: an administrator sends a one-time link; the outbox's worker mails it
through a real SMTP server; the link sets a new password once, and ends old sessions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from open311.accounts import passwords, resets
from open311.database import begin_write
from open311.errors import Conflict
from open311.extensions import db
from open311.models import ConsoleSession, Notification, PasswordReset, SignInEvent, Staff
from open311.models.base import utcnow
from open311.notifications.subscriptions import LinkKeys, password_reset_token
from tests.conftest import POSTGIS_URL, make_app
from tests.console.conftest import CDOT, Browser, add_staff
from tests.notifications.conftest import mailbox, send_outbox  # noqa: F401 (a fixture)

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://localhost(/console/reset/\S+)")


def send_link(app, admin_browser, email):
    admin_browser.get("/console/staff")
    with app.app_context():
        staff_id = db.session.scalar(sa.select(Staff.id).where(Staff.email == email))
    assert admin_browser.post(f"/console/staff/{staff_id}/reset").status_code == 303


def test_an_emailed_link_sets_a_new_password_once(app, browser, mailbox):  # noqa: F811
    app.config["PUBLIC_BASE_URL"] = "http://localhost"
    browser.sign_in(add_staff(app, "administrator", CDOT, "root@city.example"))
    email = add_staff(app, "agent", CDOT, "ana@city.example")
    old_session = Browser(app.test_client())
    old_session.sign_in(email)
    send_link(app, browser, email)
    with app.app_context():  # in the outbox, without the link: the sender writes it
        [queued] = db.session.scalars(sa.select(Notification)).all()
        assert queued.address == email
        assert "reset" not in str(queued.payload.get("link", ""))
    assert send_outbox(app).delivered == 1
    [message] = mailbox.messages
    assert message["To"] == email
    path = LINK.search(message.get_content()).group(1)

    visitor = Browser(app.test_client())
    page = visitor.get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    differ = visitor.post(path, {"password": NEW_PASSWORD, "password_again": "other"})
    assert differ.status_code == 400
    short = visitor.post(path, {"password": "short", "password_again": "short"})
    assert short.status_code == 400
    done = visitor.post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert done.status_code == 303
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff).where(Staff.email == email))
        assert passwords.verify(staff.password_hash, NEW_PASSWORD)
        assert db.session.scalar(
            sa.select(sa.func.count()).select_from(ConsoleSession)
            .where(ConsoleSession.staff_id == staff.id)
        ) == 0  # fmt: skip
        assert db.session.scalar(
            sa.select(SignInEvent.outcome).where(SignInEvent.email == email)
            .order_by(SignInEvent.id.desc()).limit(1)
        ).value == "password_set"  # fmt: skip
    assert old_session.get("/console/queue").status_code == 303  # signed out
    again = visitor.post(path, {"password": "yet another passphrase",
                                "password_again": "yet another passphrase"})  # fmt: skip
    assert again.status_code == 409
    assert "used already" in again.get_data(as_text=True)
    assert Browser(app.test_client()).sign_in(email, NEW_PASSWORD).status_code == 303


def test_a_forged_or_expired_link_opens_nothing(app, browser, mailbox):  # noqa: F811
    app.config["PUBLIC_BASE_URL"] = "http://localhost"
    browser.sign_in(add_staff(app, "administrator", CDOT, "root@city.example"))
    email = add_staff(app, "agent", CDOT, "bo@city.example")
    send_link(app, browser, email)
    send_outbox(app)
    path = LINK.search(mailbox.messages[0].get_content()).group(1)
    visitor = Browser(app.test_client())
    assert visitor.get("/console/reset/1.forged").status_code == 404
    with app.app_context():
        db.session.execute(
            sa.update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert visitor.get(path).status_code == 409


def test_only_administrators_send_links(app, browser):
    browser.sign_in(add_staff(app, "supervisor", CDOT, "sup@city.example"))
    browser.get("/console/queue")
    assert browser.post("/console/staff/1/reset").status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


@pytest.mark.skipif(not POSTGIS_URL, reason="two writers at once: PostgreSQL (.ci/run sets it)")
@pytest.mark.parametrize("database_url", ["postgis"], indirect=True)
def test_a_link_used_elsewhere_at_the_same_moment_sets_nothing(app, monkeypatch):
    """Two uses at once (two tabs, or two app servers): both find the link unused, the
    other one commits first, and this one then sets no password."""
    email = add_staff(app, "agent", CDOT, "cy@city.example")
    keys = LinkKeys.from_config(app.config)
    with app.app_context():
        begin_write(db.session())
        staff_id = db.session.scalar(sa.select(Staff.id).where(Staff.email == email))
        reset = resets.send_reset(db.session(), staff_id, utcnow(), timedelta(hours=1), "CHI")
        db.session.commit()
        token = password_reset_token(keys, reset.id)
    other_server = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    usable = resets.usable_reset

    def found_usable_then_spent_elsewhere(*arguments):
        found = usable(*arguments)
        monkeypatch.setattr(resets, "usable_reset", usable)  # the other's own check
        with other_server.app_context():
            resets.use_reset(db.session(), keys, token, "the other tab's passphrase", utcnow())
            db.session.commit()
        return found

    monkeypatch.setattr(resets, "usable_reset", found_usable_then_spent_elsewhere)
    with app.app_context():
        with pytest.raises(Conflict, match="used already"):
            resets.use_reset(db.session(), keys, token, NEW_PASSWORD, utcnow())
        db.session.rollback()
        staff = db.session.get(Staff, staff_id)
        assert passwords.verify(staff.password_hash, "the other tab's passphrase")
