"""Staff and requests for the console's browser tests, written into the served
database with the same functions as the CLI's (no console page is skipped)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from open311.accounts import signin
from open311.database import begin_write
from open311.extensions import db
from open311.models import Role, ServiceRequest, SignInEvent
from tests.builders import make_request, make_staff
from tests.conftest import make_app

CDOT = "CDOT - Department of Transportation"
STREETS = "Streets and Sanitation"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class People:
    agent: str
    supervisor: str
    stranger: str  # an agent of another department
    admin: str
    requests: tuple[str, str, str]  # CDOT's, new, at the same corner


def seed_console(database_url: str, tag: str) -> People:
    """Staff of each kind (agents must give a code) and three new CDOT requests."""
    app = make_app(database_url)
    people = People(
        agent=f"agent.{tag}@city.example",
        supervisor=f"supervisor.{tag}@city.example",
        stranger=f"stranger.{tag}@city.example",
        admin=f"admin.{tag}@city.example",
        requests=tuple(f"SR26-{tag.upper()}{n}" for n in range(1, 4)),  # type: ignore[arg-type]
    )
    for role, department, email in (
        ("agent", CDOT, people.agent),
        ("supervisor", CDOT, people.supervisor),
        ("agent", STREETS, people.stranger),
        ("administrator", CDOT, people.admin),
    ):
        make_staff(app, role, department, email=email)
    with app.app_context():
        begin_write(db.session())
        for email in (people.agent, people.supervisor, people.stranger, people.admin):
            signin.set_password(db.session(), email, PASSWORD)
        signin.require_totp(db.session(), Role.AGENT, True)
        db.session.commit()
    now = datetime.now(UTC).replace(microsecond=0)
    for n, number in enumerate(people.requests):
        make_request(
            app, number, now - timedelta(hours=3 - n), service_code="PHF",
            agency_responsible=CDOT, description=f"Deep pothole {n + 1} by the curb",
            due_at=now + timedelta(days=n - 1), lat=41.8781 + n * 0.0002, long=-87.6298,
            address=f"{100 + n} W MADISON ST, CHICAGO, IL, 60602",
        )  # fmt: skip
    with app.app_context():
        db.engine.dispose()
    return people


def request_row(database_url: str, number: str) -> dict[str, object]:
    app = make_app(database_url)
    with app.app_context():
        row = db.session.scalar(sa.select(ServiceRequest).where(ServiceRequest.number == number))
        assert row is not None
        found = {
            "stage": row.stage.value,
            "assignee": row.assignee,
            "duplicate_of": row.duplicate_of,
            "updated_at": row.updated_at,
        }
        db.engine.dispose()
    return found


def forget_failed_sign_ins(database_url: str) -> None:
    """The throttle counts the failures of the last minute from this address (every test's
    is 127.0.0.1): a test that made them clears them for the tests after it."""
    app = make_app(database_url)
    with app.app_context():
        begin_write(db.session())
        db.session.execute(sa.delete(SignInEvent).where(SignInEvent.outcome.in_(
            sorted(signin.FAILURES))))  # fmt: skip
        db.session.commit()
        db.engine.dispose()


def sign_in_to_queue(page: Any, site: Any, email: str) -> None:
    """Sign in with PASSWORD as staff who give no code (call-takers, supervisors), and
    wait for the queue."""
    page.goto(site.url("/console/sign-in"))
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/console/queue"))
