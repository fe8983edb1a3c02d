"""The partner sandbox's fixtures: production's app (tests/conftest.py) with a sandbox on a
store of its own, a second SpatiaLite file or a second PostGIS database, holding the test
catalogue too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url

from open311 import sandbox
from open311.accounts.keys import create_key
from open311.database import begin_write
from open311.extensions import db
from tests.conftest import (
    FIXTURE_CATALOG,
    POSTGIS_URL,
    fresh_store,
    make_app,
    migrated_from_scratch,
    release,
    with_test_catalog,
)

# The sandbox's PostGIS database: OPEN311_TEST_POSTGIS_URL's, with a 2 after its name.
SANDBOX_POSTGIS_URL = (
    make_url(POSTGIS_URL)
    .set(database=f"{make_url(POSTGIS_URL).database}2")
    .render_as_string(hide_password=False)
    if POSTGIS_URL
    else ""
)


@pytest.fixture(scope="session")
def sandbox_postgis_schema() -> str:
    """The sandbox's PostGIS database, made if missing and migrated once per session."""
    name = make_url(SANDBOX_POSTGIS_URL).database
    admin = sa.create_engine(POSTGIS_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return migrated_from_scratch(SANDBOX_POSTGIS_URL)


@pytest.fixture
def sandbox_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[str]:
    """The sandbox's store, on the same backend as production's."""
    backend = "spatialite" if database_url.startswith("sqlite") else "postgis"
    yield from fresh_store(request, backend, tmp_path / "sandbox.sqlite", "sandbox_postgis_schema")


@pytest.fixture
def app(database_url: str, sandbox_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Production on its store, the sandbox on its own; both hold the test catalogue."""
    app = make_app(
        database_url,
        SANDBOX_DATABASE_URI=sandbox_url,
        CATALOG_DIR=str(FIXTURE_CATALOG),
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    both = (app, sandbox.app_of(app))
    for each in both:
        with_test_catalog(each)
    yield app
    for each in both:
        release(each)


@pytest.fixture
def sandbox_key(app: Flask) -> str:
    """A partner's sandbox key, issued in the sandbox's store."""
    with sandbox.app_of(app).app_context():
        session = db.session()
        begin_write(session)
        _, plaintext = create_key(session, "Partner in the sandbox", sandbox=True)
        db.session.commit()
    return plaintext
