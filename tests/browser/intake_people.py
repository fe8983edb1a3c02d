"""A call-taker and a resident's open pothole for the intake's browser tests, written
into the served database with the same functions as the CLI's and the API."""

from __future__ import annotations

import requests
import sqlalchemy as sa

from open311.accounts import signin
from open311.accounts.keys import create_key
from open311.database import begin_write
from open311.extensions import db
from open311.models import ServiceRequest, Subscription
from tests.browser.console_people import CDOT, PASSWORD
from tests.builders import make_staff
from tests.conftest import make_app


def seed_call_taker(database_url: str, tag: str) -> str:
    """A call-taker who signs in with PASSWORD; their email."""
    app = make_app(database_url)
    email = f"calltaker.{tag}@city.example"
    make_staff(app, "call_taker", CDOT, email=email)
    with app.app_context():
        begin_write(db.session())
        signin.set_password(db.session(), email, PASSWORD)
        db.session.commit()
        db.engine.dispose()
    return email


def pothole_at(base_url: str, database_url: str, address: str, description: str) -> str:
    """A resident's pothole at `address`, filed through GeoReport; its number."""
    app = make_app(database_url)
    with app.app_context():
        _key, plaintext = create_key(db.session(), "A partner's app")
        db.session.commit()
        db.engine.dispose()
    response = requests.post(
        f"{base_url}/open311/v2/requests.json",
        data={
            "api_key": plaintext, "service_code": "PHF", "address_string": address,
            "attribute[WHEREIST]": "TRAFFIC", "description": description,
        },
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return str(response.json()[0]["service_request_id"])


def followers_of(database_url: str, number: str) -> list[str]:
    app = make_app(database_url)
    with app.app_context():
        request_id = db.session.scalar(
            sa.select(ServiceRequest.id).where(ServiceRequest.number == number)
        )
        found = list(
            db.session.scalars(
                sa.select(Subscription.address).where(Subscription.service_request_id == request_id)
            )
        )
        db.engine.dispose()
    return [address for address in found if address]


def request_channel(database_url: str, number: str) -> tuple[str | None, str | None]:
    app = make_app(database_url)
    with app.app_context():
        row = db.session.execute(
            sa.select(ServiceRequest.channel, ServiceRequest.address).where(
                ServiceRequest.number == number
            )
        ).one()
        db.engine.dispose()
    return row.channel, row.address


def numbers_described(database_url: str, description: str) -> list[str]:
    """The numbers of the requests filed with this description."""
    app = make_app(database_url)
    with app.app_context():
        found = list(
            db.session.scalars(
                sa.select(ServiceRequest.number).where(ServiceRequest.description == description)
            )
        )
        db.engine.dispose()
    return found
