"""Signing in to the staff console: password, then a TOTP code when the role (or the
person) has one; a server-side session; the audit of every attempt.

Callers own the transaction, and commit even when the answer is a refusal: the
audit row of a failure is what the database throttle counts. The throttle runs
before any hashing, so a guesser past it costs no argon2 work.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import pyotp
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from open311 import rate_limits
from open311.accounts import passwords
from open311.errors import InvalidRequest, NotFound, TooManyRequests
from open311.models import ConsoleSession, Role, RoleSetting, SignInEvent, SignInOutcome, Staff
from open311.routing import reading_primary

FAILURES: Final = frozenset({SignInOutcome.WRONG_PASSWORD, SignInOutcome.WRONG_CODE})
SCOPE: Final = "console-sign-in-failures"


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class Attempt:
    """What a sign-in form gave, and from where."""

    email: str
    address: str
    now: datetime


@dataclass(frozen=True)
class Outcome:
    outcome: SignInOutcome
    staff: Staff | None = None
    token: str | None = None  # the new session's cookie value (signed in, or code to give)
    needs_code: bool = False
    needs_enrolment: bool = False  # the role requires a code and the person has none yet

    @property
    def ok(self) -> bool:
        return self.token is not None


# --- the throttle: failures per account and per address, checked before hashing ---------


def _limit() -> str:
    return str(current_app.config["CONSOLE_SIGN_IN_FAILURES"])


def check_throttle(session: Session, attempt: Attempt) -> None:
    """TooManyRequests (429) once the account or the address has failed too often lately.

    Redis counts when configured (one count for every worker); the audit rows otherwise.
    """
    for who in (f"email:{attempt.email}", f"address:{attempt.address}"):
        if rate_limits.shared_counts():
            if not rate_limits.within(_limit(), SCOPE, who, hit=False):
                _refuse(rate_limits.seconds_until_reset(_limit(), SCOPE, who))
            continue
        for item in rate_limits.parse(_limit()):
            window = timedelta(seconds=item.get_expiry())
            column = SignInEvent.email if who.startswith("email:") else SignInEvent.address
            failures = session.scalar(
                sa.select(sa.func.count())
                .select_from(SignInEvent)
                .where(
                    column == who.split(":", 1)[1],
                    SignInEvent.outcome.in_(sorted(FAILURES)),
                    SignInEvent.at > attempt.now - window,
                )
            )
            if (failures or 0) >= item.amount:
                _refuse(int(window.total_seconds()))


def _refuse(retry_after: int) -> None:
    raise TooManyRequests(
        "Too many failed sign-ins for this account or from this address; "
        f"nothing was checked: try again in {retry_after} s.",
        retry_after=retry_after,
    )


def _count_failure(attempt: Attempt) -> None:
    if rate_limits.shared_counts():
        for who in (f"email:{attempt.email}", f"address:{attempt.address}"):
            rate_limits.within(_limit(), SCOPE, who, hit=True)


def audit(
    session: Session, attempt: Attempt, outcome: SignInOutcome, staff: Staff | None = None
) -> None:
    session.add(
        SignInEvent(
            at=attempt.now,
            email=attempt.email[:254],
            staff_id=staff.id if staff else None,
            address=attempt.address[:64],
            outcome=outcome,
        )
    )
    if outcome in FAILURES:
        _count_failure(attempt)
    session.flush()


# --- password, then code ------------------------------------------------------------------


def sign_in(session: Session, attempt: Attempt, password: str) -> Outcome:
    """Check the password (after the throttle); open a session, or one awaiting a code."""
    check_throttle(session, attempt)
    staff = session.scalar(sa.select(Staff).where(sa.func.lower(Staff.email) == attempt.email))
    if staff is None or staff.password_hash is None:
        passwords.waste_time(password)
        audit(session, attempt, SignInOutcome.WRONG_PASSWORD, staff)
        return Outcome(SignInOutcome.WRONG_PASSWORD)
    if not passwords.verify(staff.password_hash, password):
        audit(session, attempt, SignInOutcome.WRONG_PASSWORD, staff)
        return Outcome(SignInOutcome.WRONG_PASSWORD, staff)
    if not staff.active:
        audit(session, attempt, SignInOutcome.INACTIVE, staff)
        return Outcome(SignInOutcome.INACTIVE, staff)
    if passwords.needs_rehash(staff.password_hash):
        staff.password_hash = passwords.hash_password(password)
    needs_code = staff.totp_secret is not None or totp_required(session, staff.role)
    token = open_session(session, staff, attempt.now, awaiting_code=needs_code)
    if needs_code:
        return Outcome(
            SignInOutcome.SIGNED_IN,
            staff,
            token,
            needs_code=True,
            needs_enrolment=staff.totp_secret is None,
        )
    audit(session, attempt, SignInOutcome.SIGNED_IN, staff)
    return Outcome(SignInOutcome.SIGNED_IN, staff, token)


def give_code(
    session: Session,
    attempt: Attempt,
    pending: ConsoleSession,
    code: str,
    new_secret: str | None = None,
) -> bool:
    """Check the TOTP code of a session awaiting one; with `new_secret`, enrol it.

    True: the session is now signed in. A wrong code is a failure the throttle counts.
    """
    check_throttle(session, attempt)
    staff = session.get(Staff, pending.staff_id)
    assert staff is not None
    secret = staff.totp_secret or new_secret
    step = accepted_step(secret, code, attempt.now, staff.totp_last_step) if secret else None
    if step is None or not spend_step(session, staff.id, step):
        audit(session, attempt, SignInOutcome.WRONG_CODE, staff)
        return False
    staff.totp_secret = secret
    pending.awaiting_second_factor = False
    pending.last_seen_at = attempt.now
    audit(session, attempt, SignInOutcome.SIGNED_IN, staff)
    return True


def spend_step(session: Session, staff_id: int, step: int) -> bool:
    """Record `step` as the last accepted, by one conditional UPDATE: of the same code
    given at the same moment to two app servers, the second finds it spent."""
    spent = session.execute(
        sa.update(Staff)
        .where(Staff.id == staff_id)
        .where(sa.or_(Staff.totp_last_step.is_(None), Staff.totp_last_step < step))
        .values(totp_last_step=step),
        execution_options={"synchronize_session": "fetch"},
    )
    return bool(spent.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult


def accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step whose code this is (this one, or one either side for a clock that
    drifts), if it is later than the last one accepted; None otherwise."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected.encode(), code.strip().encode()):
            return step
    return None


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def totp_required(session: Session, role: Role) -> bool:
    return bool(
        session.scalar(sa.select(RoleSetting.totp_required).where(RoleSetting.role == role))
    )


def require_totp(session: Session, role: Role, required: bool) -> None:
    """An administrator's setting: staff of `role` give a code after their password."""
    setting = session.get(RoleSetting, role)
    if setting is None:
        session.add(RoleSetting(role=role, totp_required=required))
    else:
        setting.totp_required = required
    session.flush()


def role_settings(session: Session) -> dict[Role, bool]:
    found = {
        role: required
        for role, required in session.execute(
            sa.select(RoleSetting.role, RoleSetting.totp_required)
        )
    }
    return {role: bool(found.get(role, False)) for role in Role}


# --- sessions -------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, staff: Staff, now: datetime, *, awaiting_code: bool) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            staff_id=staff.id,
            token_hash=_hash(token),
            created_at=now,
            last_seen_at=now,
            awaiting_second_factor=awaiting_code,
        )
    )
    session.flush()
    return token


@dataclass(frozen=True)
class Live:
    row: ConsoleSession
    staff: Staff
    stale: bool  # last seen long enough ago to be worth writing down again


TOUCH_AFTER: Final = timedelta(minutes=1)  # a page a second need not write a second


def find_session(
    session: Session, token: str | None, now: datetime, idle: timedelta
) -> Live | None:
    """The live session this cookie names, its staff active; None if none, idle too long
    (the caller then ends it) or the person was deactivated."""
    if not token:
        return None
    with reading_primary(session):  # signed in or out a moment ago: it counts at once
        row = session.execute(
            sa.select(ConsoleSession, Staff)
            .join(Staff, Staff.id == ConsoleSession.staff_id)
            .where(ConsoleSession.token_hash == _hash(token[:200]))
        ).first()
    if row is None:
        return None
    console_session, staff = row.ConsoleSession, row.Staff
    if not staff.active or console_session.last_seen_at + idle < now:
        return None
    return Live(console_session, staff, console_session.last_seen_at + TOUCH_AFTER < now)


def touch(session: Session, token: str, now: datetime) -> None:
    session.execute(
        sa.update(ConsoleSession)
        .where(ConsoleSession.token_hash == _hash(token[:200]))
        .values(last_seen_at=now)
    )


def end_session(session: Session, token: str | None) -> int | None:
    """Delete the session's row; the staff id it belonged to, if any."""
    if not token:
        return None
    staff_id = session.scalar(
        sa.delete(ConsoleSession)
        .where(ConsoleSession.token_hash == _hash(token[:200]))
        .returning(ConsoleSession.staff_id)
    )
    return staff_id


def end_sessions_of(session: Session, staff_id: int) -> None:
    session.execute(sa.delete(ConsoleSession).where(ConsoleSession.staff_id == staff_id))


# --- passwords set by the CLI or an administrator -------------------------------------------


def set_password(session: Session, email: str, plaintext: str) -> Staff:
    staff = session.scalar(
        sa.select(Staff).where(sa.func.lower(Staff.email) == normalise_email(email))
    )
    if staff is None:
        raise NotFound(f"No staff member with email {email!r}.")
    staff.password_hash = passwords.hash_password(plaintext)
    end_sessions_of(session, staff.id)  # a new password signs every browser out
    session.flush()
    return staff


def check_email(email: str) -> str:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise InvalidRequest("email: an email address, such as name@cityofchicago.org.")
    return email
