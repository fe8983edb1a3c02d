"""A real server for interoperability tests: gunicorn, several workers, real HTTP.

`live_server` is module-scoped: each test module gets one freshly seeded
database and one gunicorn per backend (SpatiaLite, and PostGIS when
OPEN311_TEST_POSTGIS_URL is set). Every response the live tests receive
through `requests` (ours, georeport's and boston311's) is validated against
schemas/ by `_wire_checked_requests`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from open311.accounts.keys import create_key
from open311.database import begin_write
from open311.extensions import db
from open311.models import ServiceRequest, Stage, Status
from open311.models.base import utcnow
from tests import servers
from tests.builders import CITY_HALL, make_staff
from tests.conftest import (
    BACKENDS,
    FIXTURE_CATALOG,
    GENEROUS_LIMITS,
    _empty_postgis,
    load_test_catalog,
    make_app,
)
from tests.contracts import wire

WORKERS = 3

# Two more places in Chicago besides City Hall (tests/builders.py).
WRIGLEY_FIELD = {"lat": "41.948438", "long": "-87.655333"}
MILLENNIUM_PARK = {"lat": "41.882702", "long": "-87.619392"}


@dataclass(frozen=True)
class Seeded:
    """What the live server holds before any test runs, with the ids it gave out."""

    pothole: str  # PHF at City Hall, open, filed just now
    graffiti: str  # GRAF at Wrigley Field, open, filed just now
    closed_pothole: str  # PHF at Millennium Park, filed 10 days ago, closed 9 days ago
    sanitation: str  # SCB (batch) at City Hall, resolved from its token
    closed_requested_at: datetime
    closed_updated_at: datetime


@dataclass(frozen=True)
class LiveServer:
    base_url: str  # http://127.0.0.1:PORT
    api_key: str
    staff_token: str  # a CDOT supervisor's, for the staff API
    sandbox_key: str  # a partner's key for the sandbox, in its own SQLite file
    database_url: str
    seeded: Seeded

    @property
    def georeport_url(self) -> str:
        """The GeoReport v2 root, with the trailing slash discovery publishes."""
        return f"{self.base_url}/open311/v2/"

    def url(self, path: str) -> str:
        return self.base_url + path


def checked(response: requests.Response) -> requests.Response:
    """Validate a response against its contract in schemas/ (see tests/contracts/wire.py)."""
    wire.check(
        response.request.method or "GET",
        urlsplit(response.url).path,
        response.status_code,
        response.headers.get("Content-Type", ""),
        response.content,
    )
    return response


@pytest.fixture(autouse=True)
def _wire_checked_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validate every response any `requests` user gets from a 127.0.0.1 server."""
    send = requests.Session.send

    def send_and_check(
        self: requests.Session, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        response = send(self, request, **kwargs)
        if urlsplit(response.url).hostname == "127.0.0.1":
            checked(response)
        return response

    monkeypatch.setattr(requests.Session, "send", send_and_check)


@pytest.fixture(scope="module", params=BACKENDS)
def live_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`database_url` for a whole module: a migrated database holding the test catalogue."""
    if request.param == "spatialite":
        path = tmp_path_factory.mktemp("live") / "open311.sqlite"
        shutil.copy(request.getfixturevalue("spatialite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgis_schema")
    load_test_catalog(url)
    yield url
    if request.param == "postgis":
        _empty_postgis(url)


@pytest.fixture(scope="module")
def live_server(
    live_database_url: str, tmp_path_factory: pytest.TempPathFactory, spatialite_template: Path
) -> Iterator[LiveServer]:
    """gunicorn with several workers on a free port, seeded through its own API."""
    api_key = _create_api_key(live_database_url)
    staff_token = make_staff(
        make_app(live_database_url), "supervisor", "CDOT - Department of Transportation"
    )
    sandbox_path = tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite"
    shutil.copy(spatialite_template, sandbox_path)
    sandbox_url = f"sqlite:///{sandbox_path}"
    load_test_catalog(sandbox_url)
    sandbox_key = _create_api_key(sandbox_url, sandbox=True)
    log = tmp_path_factory.mktemp("gunicorn") / "stderr.log"
    process = servers.start(
        {**_server_environment(live_database_url), "OPEN311_SANDBOX_DATABASE_URL": sandbox_url},
        log,
        "--workers",
        str(WORKERS),
        "--no-control-socket",
        "wsgi:app",
    )
    try:
        base_url = servers.wait_until_serving(process, log, "/open311/discovery.json")
        seeded = _seed(base_url, api_key, live_database_url)
        yield LiveServer(
            base_url=base_url,
            api_key=api_key,
            staff_token=staff_token,
            sandbox_key=sandbox_key,
            database_url=live_database_url,
            seeded=seeded,
        )
    finally:
        servers.stop(process)
    servers.fail_on_errors(log, "the live server")


def _server_environment(database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPEN311_")}
    env.update(
        OPEN311_DATABASE_URL=database_url,
        OPEN311_SECRET_KEY=secrets.token_urlsafe(32),  # a served app refuses the development key
        OPEN311_CATALOG_DIR=str(FIXTURE_CATALOG),
        # The partner sandbox stays on (discovery lists it) but writes no file to instance/.
        OPEN311_SANDBOX_DATABASE_URL="sqlite://",
        SPATIALITE_LIBRARY_PATH="mod_spatialite",
        # schemathesis and the load tests send thousands of requests (wrong keys among
        # them) from one address: limits they cannot reach (tests/test_rate_limits.py).
        **{f"OPEN311_{name}": value for name, value in GENEROUS_LIMITS.items()},
    )
    return env


def _create_api_key(database_url: str, sandbox: bool = False) -> str:
    app = make_app(database_url)
    with app.app_context():
        session = db.session()
        begin_write(session)
        _, plaintext = create_key(session, "Interop tests", sandbox=sandbox)
        db.session.commit()
        db.engine.dispose()
    return plaintext


def _seed(base_url: str, api_key: str, database_url: str) -> Seeded:
    """File requests through the live API, then age and close one of them in the database."""
    pothole = _post(
        base_url,
        api_key,
        service_code="PHF",
        **CITY_HALL,
        address_string="121 N LaSalle St",
        description="Deep pothole in the right lane",
        **{"attribute[WHEREIST]": "TRAFFIC", "attribute[HAZARDS][]": ["WATER", "DEEP"]},
    )
    graffiti = _post(
        base_url,
        api_key,
        service_code="GRAF",
        **WRIGLEY_FIELD,
        description="Tags on the viaduct & the fence <east side>",
    )
    closed_pothole = _post(
        base_url,
        api_key,
        service_code="PHF",
        **MILLENNIUM_PARK,
        description="Pothole by the bean",
        **{"attribute[WHEREIST]": "CURB"},
    )
    token = _post(
        base_url, api_key, service_code="SCB", **CITY_HALL, description="Overflowing carts"
    )["token"]
    sanitation = checked(
        requests.get(f"{base_url}/open311/v2/tokens/{token}.json", timeout=10)
    ).json()[0]
    requested_at, updated_at = _close_ten_days_ago(
        database_url, closed_pothole["service_request_id"]
    )
    # Times are kept to the second and end_date is exclusive: a client asking
    # "until now" (boston311 does) within the second of filing would not see
    # the request yet. Let that second pass so the seeded requests are past.
    time.sleep(1.0)
    return Seeded(
        pothole=pothole["service_request_id"],
        graffiti=graffiti["service_request_id"],
        closed_pothole=closed_pothole["service_request_id"],
        sanitation=sanitation["service_request_id"],
        closed_requested_at=requested_at,
        closed_updated_at=updated_at,
    )


def _post(base_url: str, api_key: str, **form: Any) -> Mapping[str, Any]:
    response = checked(
        requests.post(
            f"{base_url}/open311/v2/requests.json", data={"api_key": api_key, **form}, timeout=10
        )
    )
    assert response.status_code == 200, response.text
    [reply] = response.json()
    return reply  # type: ignore[no-any-return]


def _close_ten_days_ago(database_url: str, number: str) -> tuple[datetime, datetime]:
    """Staff have no API yet: move a request into the past and close it, as the city would have."""
    requested_at = utcnow() - timedelta(days=10)
    updated_at = requested_at + timedelta(days=1)
    app = make_app(database_url)
    with app.app_context():
        session = db.session()
        begin_write(session)
        session.execute(
            sa.update(ServiceRequest)
            .where(ServiceRequest.number == number)
            .values(
                requested_at=requested_at,
                updated_at=updated_at,
                expected_at=requested_at + timedelta(days=7),
                status=Status.CLOSED,
                stage=Stage.CLOSED,
                status_notes="Filled with cold patch",
            )
        )
        db.session.commit()
        db.engine.dispose()
    return requested_at, updated_at
