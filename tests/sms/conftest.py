"""An app whose SMS adapter talks to a local provider (tests/sms/provider.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import FIXTURE_CATALOG, make_app, release, with_test_catalog
from tests.sms.provider import ACCOUNT_SID, AUTH_TOKEN, CITY_NUMBER, Provider, serve

SPANISH = """[services.PHF]
service_name = "Queja por bache en la calle"
"""


@pytest.fixture
def provider() -> Iterator[Provider]:
    provider, server = serve()
    yield provider
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(database_url: str, tmp_path: Path, provider: Provider) -> Iterator[Flask]:
    """The usual test app (catalogue loaded), its SMS account at the local provider, and
    the pothole's Spanish name (the test catalogue has no i18n/ of its own)."""
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURE_CATALOG, catalog)
    (catalog / "i18n").mkdir()
    (catalog / "i18n" / "es.toml").write_text(SPANISH, encoding="utf-8")
    app = make_app(
        database_url,
        CATALOG_DIR=str(catalog),
        MEDIA_ROOT=str(tmp_path / "media"),
        SMS_TWILIO_API_URL=provider.url,
        SMS_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        SMS_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        SMS_TWILIO_FROM=CITY_NUMBER,
        SMS_GATEWAY="open311.sms.twilio:TwilioSmsGateway.from_config",
    )
    yield with_test_catalog(app)
    release(app)
