"""Repeat places and hotspots: found on both backends from the same rows, stored by
`flask open311 find-patterns`, read by departments through the staff API."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from open311.database import begin_write
from open311.errors import NotFound
from open311.extensions import db
from open311.models import Pattern
from open311.patterns import actions, dbscan, queries
from open311.patterns.places import address_key, python_address_key
from open311.patterns.plane import Plane
from tests.builders import bearer, make_request, make_staff

STREETS = "Streets and Sanitation"
CDOT = "CDOT - Department of Transportation"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
RULES = actions.Rules(
    repeat_count=3, repeat_days=90, repeat_metres=15,
    hotspot_days=30, hotspot_eps_m=150, hotspot_min_points=4,
)  # fmt: skip
# One degree of latitude is about 111 km: 0.0001 degrees is about 11 m.
ELM = (41.9031, -87.6602)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def place(app, number, when, lat_long=ELM, address="1234 W ELM ST, CHICAGO, IL", **extra):
    lat, long = lat_long
    make_request(app, number, when, lat=lat, long=long, address=address, **extra)


def run(app):
    with app.app_context():
        session = db.session()
        begin_write(session)
        counts = actions.recompute(session, RULES, NOW)
        session.commit()
        return counts


def stored(app):
    with app.app_context():
        found = queries.with_numbers(
            db.session(), db.session.scalars(sa.select(Pattern).order_by(Pattern.id)).all()
        )
        return sorted((p.kind.value, p.service_code, p.department, tuple(n)) for p, n in found)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("1234 W Elm St, Chicago, IL 60610", "1234 W. ELM STREET"),
        ("1234 West Elm Street", "1234 W ELM ST, CHICAGO"),
        ("50 N  Michigan   Avenue", "50 N. MICHIGAN AVE"),
        ("50 N Michigan Av", "50 north michigan ave."),
        ("#7 E Lake Shore Drive", "7 E LAKE SHORE DR"),
    ],
)
def test_spellings_of_one_address_are_one_place(app, one, other):
    with app.app_context():
        dialect = db.engine.dialect.name
        keys = db.session.execute(
            sa.select(
                address_key(dialect, sa.literal(one)), address_key(dialect, sa.literal(other))
            )
        ).one()
    assert keys[0] == keys[1] == python_address_key(one) == python_address_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("1234 W Elm St", "1236 W Elm St"),
        ("1234 W Elm St", "1234 E Elm St"),
        ("1234 W Elm St", "1234 W Elm Ave"),
        ("12 W Streeter Dr", "12 W St Dr"),
    ],
)
def test_different_addresses_are_different_places(app, one, other):
    with app.app_context():
        dialect = db.engine.dialect.name
        keys = db.session.execute(
            sa.select(
                address_key(dialect, sa.literal(one)), address_key(dialect, sa.literal(other))
            )
        ).one()
    assert keys[0] != keys[1]


def test_a_place_asked_about_three_times_in_the_window_is_a_repeat_place(app):
    # Three spellings of one address, and a fourth request a few metres away with no
    # street number: one place of four requests.
    place(app, "SR26-1", days_ago(80), address="1234 W Elm St, Chicago, IL 60610")
    place(app, "SR26-2", days_ago(40), address="1234 W. ELM STREET")
    place(app, "SR26-3", days_ago(5), address="1234 West Elm Street")
    place(app, "SR26-4", days_ago(2), (ELM[0] + 0.00005, ELM[1]), address="W Elm St & N Ada")
    # Too old, another service, another department's, far away: none of them counts.
    place(app, "SR26-5", days_ago(100))
    place(app, "SR26-6", days_ago(3), service_code="PHF")
    place(app, "SR26-7", days_ago(3), agency_responsible=CDOT)
    place(app, "SR26-8", days_ago(3), (ELM[0] + 0.01, ELM[1]), address="2400 W Elm St")
    # Two requests at another place: below three.
    place(app, "SR26-9", days_ago(3), (41.8, -87.6), address="1 E Main St")
    place(app, "SR26-10", days_ago(4), (41.8, -87.6), address="1 E Main St")

    counts = run(app)

    assert counts["repeat"] == 1
    repeats = [p for p in stored(app) if p[0] == "repeat"]
    assert repeats == [("repeat", "GRAF", STREETS, ("SR26-1", "SR26-2", "SR26-3", "SR26-4"))]
    with app.app_context():
        flags = queries.patterns_for_request(db.session(), "SR26-2")
        assert [(f.kind.value, f.requests, f.label) for f in flags] == [
            ("repeat", 4, "W Elm St & N Ada")
        ]
        assert queries.patterns_for_request(db.session(), "SR26-9") == []
        with pytest.raises(NotFound):
            queries.patterns_for_request(db.session(), "SR26-404")


def cluster_rows(seed: int) -> list[tuple[str, float, float]]:
    """Two tight blobs and scattered noise, away from any ambiguous border."""
    rng = random.Random(seed)
    rows = []
    for blob, (lat, long) in enumerate([(41.90, -87.66), (41.80, -87.62)]):
        for index in range(6 + blob):
            rows.append((f"SR26-B{blob}{index}", lat + rng.uniform(-4e-4, 4e-4),
                         long + rng.uniform(-4e-4, 4e-4)))  # fmt: skip
    for index in range(8):
        rows.append((f"SR26-N{index}", 41.70 + index * 0.02, -87.70 + index * 0.01))
    return rows


def test_hotspots_are_the_same_clusters_on_both_backends(app):
    for number, lat, long in cluster_rows(7):
        place(app, number, days_ago(3), (lat, long), address=f"{number} street")
    place(app, "SR26-OLD", days_ago(45), (41.90, -87.66))  # outside the window
    run(app)
    hotspots = [p[3] for p in stored(app) if p[0] == "hotspot"]
    # The same written-out answer on SpatiaLite (dbscan.py) and PostGIS (ST_ClusterDBSCAN).
    assert hotspots == [
        tuple(sorted(f"SR26-B0{i}" for i in range(6))),
        tuple(sorted(f"SR26-B1{i}" for i in range(7))),
    ]


def test_postgis_and_python_dbscan_agree_on_random_rows(app):
    """On PostGIS both paths run over the same rows: the clusters must be equal."""
    rng = random.Random(11)
    for index in range(120):
        lat = 41.88 + rng.gauss(0, 0.004) * (1 if index % 3 else 0.2)
        long = -87.63 + rng.gauss(0, 0.004) * (1 if index % 3 else 0.2)
        place(app, f"SR26-R{index}", days_ago(rng.uniform(0, 29)), (lat, long), address=f"{index}")
    with app.app_context():
        session = db.session()
        plane = actions._plane_of(session)
        rows = actions._rows(session, plane, NOW - timedelta(days=RULES.hotspot_days))
        in_python = actions.hotspots_in_python(rows, RULES)
        in_database = actions.hotspots(session, plane, RULES, NOW)

    # DBSCAN leaves one choice open: a border point (not a core, within eps of cores
    # of two clusters) may join either. The cores, the clustered points and the noise
    # must be the same.
    eps2 = RULES.hotspot_eps_m**2
    near = {r.id: sum((r.x - o.x) ** 2 + (r.y - o.y) ** 2 <= eps2 for o in rows) for r in rows}
    core_ids = {i for i, count in near.items() if count >= RULES.hotspot_min_points}

    def cores(clusters):
        return sorted(tuple(r.id for r in c if r.id in core_ids) for c in clusters)

    def members(clusters):
        return sorted(r.id for c in clusters for r in c)

    assert len(in_python) >= 2
    assert cores(in_database) == cores(in_python)
    assert members(in_database) == members(in_python)


def test_dbscan_follows_postgis_rules_on_a_written_out_case():
    # A chain of points 100 m apart: with eps 150 and 3 points each inner one is a core.
    chain = [(f"c{i}", i * 100.0, 0.0) for i in range(5)]
    lone = [("far", 5000.0, 0.0)]
    # Two points at exactly eps count as neighbours (<=, as ST_DWithin).
    pair = [("p0", 0.0, 9000.0), ("p1", 150.0, 9000.0), ("p2", 300.0, 9000.0)]
    found = dbscan.clusters(chain + lone + pair, 150.0, 3)
    assert sorted(sorted(c) for c in found) == [
        ["c0", "c1", "c2", "c3", "c4"],
        ["p0", "p1", "p2"],
    ]
    assert dbscan.clusters(chain, 150.0, 4) == []


def test_the_plane_measures_metres():
    plane = Plane(-87.65, 41.85)
    north = plane.y(41.86) - plane.y(41.85)
    east = plane.x(-87.64) - plane.x(-87.65)
    assert 1110 < north < 1112  # 0.01 degree of latitude
    assert 828 < east < 832  # 0.01 degree of longitude at 41.85 N


def test_departments_read_their_patterns_as_json_and_csv(app, client):
    for index, days in enumerate((60, 30, 2)):
        place(app, f"SR26-{index}", days_ago(days), address='=HYPERLINK("x"), Chicago')
    place(app, "SR26-C1", days_ago(1), (41.7, -87.6), agency_responsible=CDOT)
    place(app, "SR26-C2", days_ago(2), (41.7, -87.6), agency_responsible=CDOT)
    place(app, "SR26-C3", days_ago(3), (41.7, -87.6), agency_responsible=CDOT)
    agent = make_staff(app, "agent", STREETS)
    empty = client.get("/open311/staff/patterns", headers=bearer(agent))
    assert empty.status_code == 200
    assert empty.json == {"department": STREETS, "computed_datetime": None, "patterns": []}
    run(app)

    reply = client.get("/open311/staff/patterns?kind=repeat", headers=bearer(agent))
    assert reply.status_code == 200
    assert [p["service_request_ids"] for p in reply.json["patterns"]] == [
        ["SR26-0", "SR26-1", "SR26-2"]
    ]
    assert reply.json["computed_datetime"].startswith("2026-12-07T06:00:00")

    sheet = client.get("/open311/staff/patterns.csv", headers=bearer(agent))
    assert sheet.status_code == 200
    assert sheet.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(sheet.get_data(as_text=True))))
    assert [(r["kind"], r["requests"], r["label"]) for r in rows] == [
        ("repeat", "3", '\'=HYPERLINK("x"), Chicago')
    ]
    assert rows[0]["service_request_ids"] == "SR26-0 SR26-1 SR26-2"

    other = client.get(f"/open311/staff/patterns?department={CDOT}", headers=bearer(agent))
    assert other.status_code == 403
    bad = client.get("/open311/staff/patterns?kind=everything", headers=bearer(agent))
    assert bad.status_code == 400
    assert client.get("/open311/staff/patterns.csv").status_code == 401


def test_find_patterns_command_replaces_the_stored_patterns(app):
    for index, days in enumerate((60, 30, 2)):
        place(app, f"SR26-{index}", days_ago(days))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["open311", "find-patterns"])
    assert result.exit_code == 0, result.output
    # The command counts from now, so these requests (dated around NOW) may fall inside
    # or outside its window; it must say what it stored, and a second run replaces it.
    first = stored(app)
    assert f"{sum(1 for p in first if p[0] == 'repeat')} repeat places" in result.output
    again = runner.invoke(args=["open311", "find-patterns"])
    assert again.exit_code == 0
    assert stored(app) == first
