"""Build the benchmark database: create, migrate, load the catalogue, seed requests.

Seeding is one set-based INSERT … SELECT: ST_GeneratePoints scatters the
points inside the city boundary, and every other column is derived from a
few random() draws per row, so a million rows take about a minute.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import shapely
from sqlalchemy.engine import make_url

from open311 import create_app
from open311.accounts.keys import create_key
from open311.areas.loader import CHICAGO_FILES, load_areas, read_areas
from open311.catalog.loader import load_catalog, read_catalog
from open311.config import PACKAGE_DIR, PROJECT_DIR
from open311.database import POSTGRESQL_SESSION_OPTIONS, begin_write, upgrade_schema
from open311.extensions import db
from open311.spatial import Boundary

CHICAGO_CATALOG = PROJECT_DIR / "services_catalog" / "chicago"
TEST_CATALOG = PROJECT_DIR / "tests" / "fixtures" / "catalog"
BOUNDARY = PACKAGE_DIR / "demo" / "data" / "city_boundary.geojson"
AREAS = PACKAGE_DIR / "demo" / "data" / "areas"
TIME_ZONE = "America/Chicago"
SPAN = timedelta(days=3 * 365)


def bench_config(url: str) -> dict[str, Any]:
    """An app on `url` for loading data: it signs no link that leaves the bench, but
    create_app refuses the development key outside tests, so it gets a throwaway one."""
    return {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32)}


def psycopg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def use_the_apps_session_settings() -> None:
    """Every libpq connection of this process gets the app's session settings (no
    parallel workers: open311.database), so the raw SQL we compare with runs the plan
    the app's query runs. Through PGOPTIONS, which libpq reads for each connection."""
    os.environ["PGOPTIONS"] = POSTGRESQL_SESSION_OPTIONS


def recreate_database(url: str) -> None:
    """DROP and CREATE the database named in `url`, with PostGIS."""
    name = make_url(url).database
    admin = (
        make_url(psycopg_dsn(url)).set(database="postgres").render_as_string(hide_password=False)
    )
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(psycopg_dsn(url), autocommit=True) as connection:
        connection.execute("CREATE EXTENSION postgis")


def catalog_directory() -> Path:
    """The real Chicago catalogue when it is there, else the test catalogue."""
    return CHICAGO_CATALOG if any(CHICAGO_CATALOG.glob("*.toml")) else TEST_CATALOG


def prepare(url: str) -> Path:
    """Migrate, load the catalogue and the City's areas (the database exists), as a
    city runs it: a POST looks its areas up. Returns the catalogue used."""
    app = create_app(bench_config(url))
    upgrade_schema(app)
    catalog = catalog_directory()
    with app.app_context():
        session = db.session()
        begin_write(session)
        load_catalog(session, read_catalog(catalog, PROJECT_DIR / "schemas"))
        for f in CHICAGO_FILES:
            shapes = read_areas(AREAS / f.filename, f.code_property, f.name_property)
            load_areas(session, f.kind, shapes)
        db.session.commit()
        db.engine.dispose()
    return catalog


def new_api_key(url: str) -> tuple[int, str]:
    """(id, plaintext) of a fresh API key for the benchmark's POSTs."""
    app = create_app(bench_config(url))
    with app.app_context():
        session = db.session()
        begin_write(session)
        api_key, plaintext = create_key(session, "Benchmark client")
        db.session.commit()
        key_id = api_key.id
        db.engine.dispose()
    return key_id, plaintext


def seed(dsn: str, rows: int, now: datetime | None = None) -> float:
    """Insert `rows` requests spread over three years; returns the seconds it took."""
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    started = time.perf_counter()
    boundary = Boundary.from_geojson(BOUNDARY).geometry
    with psycopg.connect(dsn) as connection:
        connection.execute(POINTS_SQL, {"boundary": shapely.to_wkb(boundary), "rows": rows})
        connection.execute(INSERT_SQL, _seed_params(rows, end))
        connection.execute(COUNTER_SQL, {"rows": rows, "tz": TIME_ZONE})
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def _seed_params(rows: int, end: datetime) -> dict[str, Any]:
    return {"rows": rows, "start": end - SPAN, "end": end, "tz": TIME_ZONE}


# A random permutation of points inside the city: row i gets the i-th moment
# of the three years, so request numbers grow with time as Chicago's do.
POINTS_SQL = """
CREATE TEMP TABLE bench_point ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY random())::int AS i, (d).geom AS geom
FROM (
    SELECT ST_Dump(ST_GeneratePoints(ST_GeomFromWKB(%(boundary)s, 4326), %(rows)s, 311)) AS d
) AS s
"""

INSERT_SQL = """
WITH svc AS (
    SELECT row_number() OVER (ORDER BY code)::int AS pick, code, agency_responsible,
           service_notice, target_days
    FROM service WHERE active
), timed AS (
    SELECT p.i, p.geom, r.*,
           date_trunc('second', %(start)s::timestamptz + (p.i::float8 / %(rows)s)
               * (%(end)s::timestamptz - %(start)s::timestamptz)) AS requested_at
    FROM bench_point AS p
    CROSS JOIN LATERAL (
        SELECT 1 + floor(random() * (SELECT count(*) FROM svc))::int AS pick,
               random() AS r_status, random() AS r_update, random() AS r_text,
               random() AS r_contact, random() AS r_intake, p.i AS seed
    ) AS r
), aged AS (
    SELECT t.*, extract(epoch FROM %(end)s::timestamptz - t.requested_at) / 86400.0 AS age_days
    FROM timed AS t
), decided AS (
    SELECT a.*, svc.code, svc.agency_responsible, svc.service_notice, svc.target_days,
           a.r_status < least(0.97, 0.25 + a.age_days / 40.0) AS closed
    FROM aged AS a JOIN svc USING (pick)
)
INSERT INTO service_request (
    number, intake, service_code, status, status_notes, description,
    agency_responsible, service_notice, requested_at, updated_at, expected_at,
    address, zipcode, lat, long, location, media_url, attributes, channel,
    email, phone, first_name, last_name
)
SELECT
    'SR' || to_char(d.requested_at AT TIME ZONE %(tz)s, 'YY') || '-' || lpad(d.i::text, 8, '0'),
    CASE WHEN d.r_intake < 0.01 THEN 'rejected' ELSE 'accepted' END,
    d.code,
    CASE WHEN d.closed OR d.r_intake < 0.01 THEN 'closed' ELSE 'open' END,
    CASE WHEN d.closed THEN (ARRAY['Completed', 'Work order completed',
        'Duplicate of an open request', 'No problem found on inspection',
        'Referred to the responsible agency'])[1 + floor(d.r_text * 5)::int] END,
    (ARRAY[NULL, 'Deep pothole in the right lane, cars swerving around it',
        'Graffiti on the side of the garage facing the alley',
        'Street light out for three nights in a row',
        'Overflowing garbage cart, rats seen near the alley',
        'Tree branch down across the sidewalk after the storm',
        'Abandoned car with flat tyres, no plates, parked for weeks',
        'Water running down the street from a broken hydrant',
        'Missing stop sign at the corner'])[1 + floor(d.r_text * 9)::int],
    d.agency_responsible,
    d.service_notice,
    d.requested_at,
    least(%(end)s::timestamptz, d.requested_at + CASE WHEN d.closed
        THEN d.r_update * interval '1 day' * coalesce(d.target_days, 14)
        ELSE d.r_update * interval '6 hours' END),
    d.requested_at + d.target_days * interval '1 day',
    'Near ' || grid.ns || ' ' || grid.ew || ', CHICAGO, IL',
    (ARRAY['60601', '60605', '60607', '60608', '60609', '60612', '60613', '60614',
        '60617', '60618', '60619', '60620', '60623', '60625', '60628', '60629',
        '60632', '60634', '60636', '60637', '60639', '60640', '60641', '60647',
        '60651', '60653', '60657', '60660'])[1 + floor(d.r_contact * 28)::int],
    ST_Y(d.geom), ST_X(d.geom), d.geom,
    CASE WHEN d.r_contact < 0.1 THEN 'https://example.org/media/' || d.i || '.jpg' END,
    '{}'::json,
    (ARRAY['phone', 'web', 'mobile', 'api'])[1 + floor(d.r_update * 4)::int],
    CASE WHEN d.r_contact < 0.3 THEN 'resident' || d.i || '@example.org' END,
    CASE WHEN d.r_contact < 0.2 THEN '312555' || lpad((d.i %% 10000)::text, 4, '0') END,
    CASE WHEN d.r_contact < 0.2 THEN 'Jo' END,
    CASE WHEN d.r_contact < 0.2 THEN 'Resident' END
FROM decided AS d
CROSS JOIN LATERAL (
    -- Chicago's grid (open311/service_requests/places.py): 800 numbers a mile
    SELECT
        (round(abs(n) / 100.0) * 100)::int
            || CASE WHEN n < 0 AND round(abs(n) / 100.0) > 0 THEN ' S' ELSE ' N' END AS ns,
        (round(abs(e) / 100.0) * 100)::int
            || CASE WHEN e < 0 AND round(abs(e) / 100.0) > 0 THEN ' W' ELSE ' E' END AS ew
    FROM (SELECT (ST_Y(d.geom) - 41.882058) * 69.05 * 800 AS n,
                 (ST_X(d.geom) + 87.627778) * 69.05 * cos(radians(41.882058)) * 800 AS e) AS miles
) AS grid
"""

# New POSTs must not reuse a seeded number: start every seeded year above them.
COUNTER_SQL = """
INSERT INTO request_number_counter (year, last_value)
SELECT DISTINCT extract(year FROM requested_at AT TIME ZONE %(tz)s)::int, %(rows)s
FROM service_request
UNION
SELECT extract(year FROM now() AT TIME ZONE %(tz)s)::int, %(rows)s
ON CONFLICT (year) DO UPDATE
SET last_value = greatest(request_number_counter.last_value, EXCLUDED.last_value)
"""
