"""Signing in to the console: passwords, the throttle before hashing, TOTP per role,
idle expiry, signing out, and the audit of each attempt."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from open311.accounts import passwords, signin
from open311.database import begin_write
from open311.extensions import db
from open311.models import ConsoleSession, Role, SignInEvent, Staff
from open311.models.base import utcnow
from tests.conftest import POSTGIS_URL, make_app
from tests.console.conftest import CDOT, PASSWORD, add_staff, require_code


def outcomes(app, email):
    with app.app_context():
        return [
            row.outcome.value
            for row in db.session.scalars(
                sa.select(SignInEvent).where(SignInEvent.email == email).order_by(SignInEvent.id)
            )
        ]


def sessions(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(ConsoleSession))


def test_a_password_opens_the_queue_and_the_cookie_holds_no_stored_value(app, browser):
    email = add_staff(app, "agent", CDOT, "ana@city.example")
    response = browser.sign_in(email)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/queue")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("open311_console=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/console" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    with app.app_context():
        stored = db.session.scalars(sa.select(ConsoleSession.token_hash)).all()
    assert len(stored) == 1
    assert value not in stored[0]
    page = browser.get("/console/queue")
    assert page.status_code == 200
    assert "Queue" in page.get_data(as_text=True)
    assert outcomes(app, email) == ["signed_in"]
    with app.app_context():
        assert db.session.scalar(sa.select(Staff.password_hash)).startswith("$argon2id$")


def test_the_cookie_is_secure_when_the_site_says_so(app, browser):
    app.config["SESSION_COOKIE_SECURE"] = True
    email = add_staff(app, "agent", CDOT, "sec@city.example")
    assert "Secure" in browser.sign_in(email).headers["Set-Cookie"]


def test_a_wrong_password_is_refused_and_audited(app, browser):
    email = add_staff(app, "agent", CDOT, "bo@city.example")
    response = browser.sign_in(email, "not the password at all")
    assert response.status_code == 401
    assert "The email or the password is wrong." in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers or "open311_console" not in str(
        response.headers.getlist("Set-Cookie")
    )
    assert sessions(app) == 0
    assert outcomes(app, email) == ["wrong_password"]
    assert browser.get("/console/queue").status_code == 303  # still signed out


def test_the_tenth_wrong_password_in_a_minute_is_throttled_before_hashing(
    app, browser, monkeypatch
):
    email = add_staff(app, "agent", CDOT, "cy@city.example")
    checked: list[str] = []
    real = passwords.verify

    def spy(stored: str, plaintext: str) -> bool:
        checked.append(plaintext)
        return real(stored, plaintext)

    monkeypatch.setattr(passwords, "verify", spy)
    for n in range(9):
        assert browser.sign_in(email, f"wrong guess {n}").status_code == 401
    assert len(checked) == 9
    tenth = browser.sign_in(email, PASSWORD)  # even the right one: the account waits
    assert tenth.status_code == 429
    assert int(tenth.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in tenth.get_data(as_text=True)
    assert len(checked) == 9  # refused before any hashing
    assert sessions(app) == 0
    assert outcomes(app, email) == ["wrong_password"] * 9 + ["throttled"]


def test_the_throttle_counts_per_address_across_accounts(app, browser):
    for n in range(9):
        browser.sign_in(f"nobody{n}@city.example", "guess")
    email = add_staff(app, "agent", CDOT, "dee@city.example")
    assert browser.sign_in(email).status_code == 429
    other = browser.sign_in(email, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 303  # another address, a fresh account: let in


def test_an_unknown_email_costs_a_hash_too(app, browser, monkeypatch):
    wasted: list[str] = []
    monkeypatch.setattr(passwords, "waste_time", wasted.append)
    assert browser.sign_in("ghost@city.example", "whatever it is").status_code == 401
    assert wasted == ["whatever it is"]


def test_a_role_that_requires_a_code_enrols_then_asks_for_it(app, browser, other_browser):
    email = add_staff(app, "agent", CDOT, "eve@city.example")
    require_code(app, Role.AGENT)
    first = browser.sign_in(email)
    assert first.status_code == 303
    assert "/console/sign-in/code" in first.headers["Location"]
    assert browser.get("/console/queue").status_code == 303  # not yet signed in
    page = browser.get("/console/sign-in/code").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    wrong = browser.post("/console/sign-in/code", {"code": "000000"})
    assert wrong.status_code == 401
    assert browser.give_code(secret).status_code == 303
    assert browser.get("/console/queue").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(Staff.totp_secret)) == secret
    # Next time the enrolled code is asked for; the password alone does not do.
    assert "/sign-in/code" in other_browser.sign_in(email).headers["Location"]
    assert other_browser.get("/console/queue").status_code == 303
    assert other_browser.give_code(secret, steps_ahead=1).status_code == 303
    assert other_browser.get("/console/queue").status_code == 200
    assert outcomes(app, email) == ["wrong_code", "signed_in", "signed_in"]


def test_a_code_is_accepted_once(app, browser, other_browser):
    email = add_staff(app, "agent", CDOT, "oak@city.example")
    require_code(app, Role.AGENT)
    browser.sign_in(email)
    page = browser.get("/console/sign-in/code").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    totp = pyotp.TOTP(secret)
    now = time.time()
    code = totp.at(now)
    assert browser.post("/console/sign-in/code", {"code": code}).status_code == 303
    # The same code again (seen over a shoulder), and the one before it, are refused;
    # the next half-minute's is let in.
    other_browser.sign_in(email)
    other_browser.get("/console/sign-in/code")
    for used in (code, totp.at(now - totp.interval)):
        refused = other_browser.post("/console/sign-in/code", {"code": used})
        assert refused.status_code == 401
    assert other_browser.get("/console/queue").status_code == 303
    assert other_browser.give_code(secret, steps_ahead=1).status_code == 303
    assert other_browser.get("/console/queue").status_code == 200
    assert outcomes(app, email) == ["signed_in", "wrong_code", "wrong_code", "signed_in"]


def test_a_role_without_the_requirement_signs_in_with_a_password(app, browser):
    require_code(app, Role.SUPERVISOR)
    email = add_staff(app, "agent", CDOT, "fay@city.example")
    assert browser.sign_in(email).headers["Location"].endswith("/console/queue")


def test_an_idle_session_ends(app, browser):
    email = add_staff(app, "agent", CDOT, "gil@city.example")
    browser.sign_in(email)
    assert browser.get("/console/queue").status_code == 200
    with app.app_context():
        db.session.execute(
            sa.update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
        db.session.commit()
    response = browser.get("/console/queue")
    assert response.status_code == 303
    assert "/console/sign-in" in response.headers["Location"]
    assert sessions(app) == 0  # the server's row is gone


def test_signing_out_ends_the_session_on_the_server(app, browser):
    email = add_staff(app, "agent", CDOT, "hal@city.example")
    browser.sign_in(email)
    cookie = browser.client.get_cookie("open311_console", path="/console").value
    browser.get("/console/queue")
    assert browser.post("/console/sign-out").status_code == 303
    assert sessions(app) == 0
    # The old cookie, replayed, opens nothing.
    browser.client.set_cookie("open311_console", cookie, path="/console")
    assert browser.get("/console/queue").status_code == 303
    assert outcomes(app, email) == ["signed_in", "signed_out"]


def test_a_deactivated_account_cannot_sign_in(app, browser, other_browser):
    admin = add_staff(app, "administrator", CDOT, "root@city.example")
    email = add_staff(app, "agent", CDOT, "ivy@city.example")
    other_browser.sign_in(email)
    assert other_browser.get("/console/queue").status_code == 200
    browser.sign_in(admin)
    browser.get("/console/staff")
    with app.app_context():
        staff_id = db.session.scalar(sa.select(Staff.id).where(Staff.email == email))
    assert browser.post(f"/console/staff/{staff_id}/deactivate").status_code == 303
    assert other_browser.get("/console/queue").status_code == 303  # signed out at once
    assert b"no longer active" in other_browser.sign_in(email).data


def test_an_administrator_requires_a_code_of_a_role(app, browser):
    admin = add_staff(app, "administrator", CDOT, "adm@city.example")
    browser.sign_in(admin)
    browser.get("/console/staff")
    assert browser.post("/console/staff/second-factor", {"role": "supervisor"}).status_code == 303
    sup = add_staff(app, "supervisor", CDOT, "sup@city.example")
    fresh = type(browser)(app.test_client())
    assert "/sign-in/code" in fresh.sign_in(sup).headers["Location"]


def test_the_cli_creates_the_first_administrator(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["open311", "create-admin", "first@city.example", "--name", "First Admin",
              "--department", CDOT, "--password", PASSWORD]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    short = runner.invoke(
        args=["open311", "set-password", "first@city.example", "--password", "short"]
    )
    assert short.exit_code != 0
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff))
        assert staff.role is Role.ADMINISTRATOR
        assert passwords.verify(staff.password_hash, PASSWORD)
    assert pyotp  # the second factor's library is installed with the app


def test_sign_in_goes_back_only_to_the_consoles_own_pages(app, browser):
    email = add_staff(app, "agent", CDOT, "nx@city.example")
    browser.get("/console/sign-in")
    for target, expected in (
        ("https://evil.example/console/queue", "/console/queue"),
        ("//evil.example/console/", "/console/queue"),
        ("/console/requests/SR-1", "/console/requests/SR-1"),
    ):
        response = browser.post(
            "/console/sign-in", {"email": email, "password": PASSWORD, "next": target}
        )
        assert response.headers["Location"] == expected


@pytest.mark.skipif(not POSTGIS_URL, reason="two writers at once: PostgreSQL (.ci/run sets it)")
@pytest.mark.parametrize("database_url", ["postgis"], indirect=True)
def test_a_code_given_to_two_servers_at_once_signs_in_once(app, browser, monkeypatch):
    """Both servers find the code's step unused; the other records it first, and this
    one then lets no one in."""
    email = add_staff(app, "agent", CDOT, "pat@city.example")
    require_code(app, Role.AGENT)
    secret = pyotp.random_base32()
    with app.app_context():
        begin_write(db.session())
        staff = db.session.scalar(sa.select(Staff).where(Staff.email == email))
        staff.totp_secret, staff_id = secret, staff.id
        db.session.commit()
    browser.sign_in(email)
    other_server = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    accepted = signin.accepted_step

    def accepted_then_spent_elsewhere(*arguments):
        step = accepted(*arguments)
        with other_server.app_context():
            begin_write(db.session())
            assert signin.spend_step(db.session(), staff_id, step)
            db.session.commit()
        return step

    monkeypatch.setattr(signin, "accepted_step", accepted_then_spent_elsewhere)
    browser.get("/console/sign-in/code")
    code = pyotp.TOTP(secret).now()
    assert browser.post("/console/sign-in/code", {"code": code}).status_code == 401
    assert browser.get("/console/queue").status_code == 303
