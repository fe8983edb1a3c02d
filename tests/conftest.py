"""Fixtures: every test that takes `app` runs on SpatiaLite, and on PostGIS too
when OPEN311_TEST_POSTGIS_URL is set (.ci/run sets it and fails if PostGIS is down).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from open311 import create_app
from open311.accounts.keys import create_key
from open311.catalog.loader import load_catalog, read_catalog
from open311.config import PROJECT_DIR
from open311.database import begin_write, upgrade_schema
from open311.extensions import db
from open311.models import Base
from tests.contracts import wire

POSTGIS_URL = os.environ.get("OPEN311_TEST_POSTGIS_URL", "")
FIXTURE_CATALOG = Path(__file__).parent / "fixtures" / "catalog"
BACKENDS = ["spatialite", "postgis"] if POSTGIS_URL else ["spatialite"]


class CheckedClient(FlaskClient):
    """A test client that validates every GeoReport response against schemas/."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        wire.check(
            request.method,
            request.path,
            response.status_code,
            response.content_type or "",
            response.data,
        )
        return response


# Rate limits no test reaches unless it sets its own (tests/test_rate_limits.py does).
GENEROUS_LIMITS = {
    "RATE_LIMIT_READS_PER_ADDRESS": "100000 per minute",
    "RATE_LIMIT_SEARCHES_PER_ADDRESS": "100000 per minute",
    "RATE_LIMIT_WRITES_PER_ADDRESS": "100000 per minute",
    "RATE_LIMIT_WRITES_PER_KEY": "100000 per minute",
    "RATE_LIMIT_FAILED_AUTH_PER_ADDRESS": "100000 per minute",
}


def make_app(database_url: str, **overrides: object) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            # The partner sandbox is on, as by default, but in memory: a test that reaches
            # it without a store of its own (tests/sandbox gives one) writes no file.
            "SANDBOX_DATABASE_URI": "sqlite://",
            **GENEROUS_LIMITS,
            **overrides,
        }
    )
    app.test_client_class = CheckedClient
    return app


@pytest.fixture(scope="session")
def spatialite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SpatiaLite file, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "open311.sqlite"
    app = make_app(f"sqlite:///{path}")
    upgrade_schema(app)
    with app.app_context():
        db.engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgis_schema() -> str:
    """The PostGIS test database, migrated once per session."""
    return migrated_from_scratch(POSTGIS_URL)


def migrated_from_scratch(database_url: str) -> str:
    """A PostGIS database emptied of our tables and migrated again; its URL."""
    app = make_app(database_url)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.engine.dispose()
    upgrade_schema(app)
    return database_url


def load_test_catalog(database_url: str) -> None:
    """The test catalogue, loaded into a migrated database by an app of its own."""
    release(with_test_catalog(make_app(database_url)))


def with_test_catalog(app: Flask) -> Flask:
    """The test catalogue loaded into the app's database; the app."""
    with app.app_context():
        session = db.session()
        begin_write(session)
        load_catalog(session, read_catalog(FIXTURE_CATALOG, PROJECT_DIR / "schemas"))
        db.session.commit()
    return app


def release(app: Flask) -> None:
    """Close the app's session and its pooled connections (a test's end)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_store(request, request.param, tmp_path / "open311.sqlite", "postgis_schema")


def fresh_store(
    request: pytest.FixtureRequest, backend: str, file: Path, postgis_fixture: str
) -> Iterator[str]:
    """A migrated store's URL for one test: a copy of the SpatiaLite template at `file`,
    or the PostGIS database `postgis_fixture` gives, emptied after the test."""
    if backend == "spatialite":
        shutil.copy(request.getfixturevalue("spatialite_template"), file)
        yield f"sqlite:///{file}"
    else:
        url = request.getfixturevalue(postgis_fixture)
        yield url
        _empty_postgis(url)


def _empty_postgis(url: str) -> None:
    engine = sa.create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on a fresh database holding the test catalogue; photos go to tmp_path."""
    app = make_app(
        database_url, CATALOG_DIR=str(FIXTURE_CATALOG), MEDIA_ROOT=str(tmp_path / "media")
    )
    yield with_test_catalog(app)
    release(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api_key(app: Flask) -> str:
    return new_api_key(app, "Test partner")


def new_api_key(app: Flask, partner: str) -> str:
    """A new partner key's plaintext, committed."""
    with app.app_context():
        session = db.session()
        begin_write(session)
        _, plaintext = create_key(session, partner)
        db.session.commit()
    return plaintext
