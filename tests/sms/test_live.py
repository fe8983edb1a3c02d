"""The whole exchange over real sockets both ways: gunicorn serves the app, the local
provider POSTs signed webhooks to it over HTTP and takes its replies over HTTP."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from open311.extensions import db
from open311.models import ServiceRequest
from tests import servers
from tests.conftest import GENEROUS_LIMITS
from tests.sms.provider import ACCOUNT_SID, AUTH_TOKEN, CITY_NUMBER, Provider

PHONE = "+13125550177"


@pytest.fixture
def served(app, database_url: str, provider: Provider, tmp_path: Path) -> Iterator[str]:
    """gunicorn on the test's database (its catalogue loaded by `app`); its base URL."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPEN311_")}
    env.update(
        OPEN311_DATABASE_URL=database_url,
        OPEN311_SECRET_KEY=secrets.token_urlsafe(32),
        OPEN311_CATALOG_DIR=app.config["CATALOG_DIR"],
        OPEN311_SMS_TWILIO_API_URL=provider.url,
        OPEN311_SMS_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        OPEN311_SMS_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        OPEN311_SMS_TWILIO_FROM=CITY_NUMBER,
        SPATIALITE_LIBRARY_PATH="mod_spatialite",
        **{f"OPEN311_{name}": value for name, value in GENEROUS_LIMITS.items()},
    )
    log = tmp_path / "gunicorn.log"
    process = servers.start(env, log, "--workers", "2", "--no-control-socket", "wsgi:app")
    try:
        yield servers.wait_until_serving(process, log, "/open311/discovery.json")
    finally:
        servers.stop(process)
    servers.fail_on_errors(log, "the SMS test server")


def test_a_filing_over_http_both_ways(app, served, provider):
    script = [
        ("pothole in the street", "Which is it?"),
        ("1", "Where is the pothole?"),
        ("1", "Where is it?"),
        ("121 N LaSalle St", "Is it at 121 N LA SALLE ST"),
        ("YES", "Thank you. Your request number is SR"),
    ]
    for body, expected in script:
        response = provider.text(served, PHONE, body)
        assert response.status_code == 200
        assert provider.to(PHONE)[-1].startswith(expected)
    number = provider.to(PHONE)[-1].split("number is ")[1].split(".")[0]
    last = provider.sent[-1]
    assert last["StatusCallback"] == f"{served}/sms/twilio/status"
    assert provider.receipt(served, last["sid"], "delivered").status_code == 204
    with app.app_context():
        channel = db.session.scalar(
            sa.select(ServiceRequest.channel).where(ServiceRequest.number == number)
        )
    assert channel == "sms"


def test_a_forged_webhook_over_http_is_refused(app, served, provider):
    assert provider.text(served, PHONE, "pothole", token="forged").status_code == 403
    assert provider.sent == []


def test_one_text_delivered_twice_at_once_is_answered_once(app, served, provider):
    """The provider's retry may overlap the first delivery: two workers, one reply."""
    sid = provider.new_sid("SM")
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: provider.text(served, PHONE, "graffiti", sid=sid), "ab"))
    assert [answer.status_code for answer in answers] == [200, 200]
    [menu] = provider.to(PHONE)
    assert menu.startswith("Which is it?")
