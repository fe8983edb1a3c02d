"""The demo: the real Chicago catalogue and real Chicago requests, loaded idempotently."""

from __future__ import annotations

import json

from open311.config import PROJECT_DIR
from open311.spatial import Boundary
from tests.builders import stored_requests

CHICAGO_CATALOG = PROJECT_DIR / "services_catalog" / "chicago"
DATA = PROJECT_DIR / "open311" / "demo" / "data"


def test_demo_requests_load_once_and_answer_in_open311(app, client):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["open311", "load-catalog", str(CHICAGO_CATALOG)]).exit_code == 0
    first = runner.invoke(args=["open311", "load-demo"])
    assert first.exit_code == 0, first.output
    loaded = int(first.output.split()[0])
    assert loaded > 4900
    assert runner.invoke(args=["open311", "load-demo"]).output.startswith("0 demo requests")
    assert stored_requests(app) == loaded
    [request] = client.get("/open311/v2/requests/SR21-00000001.json").json
    assert request["requested_datetime"].startswith("2021-01-01T00:")
    assert request["requested_datetime"].endswith("-06:00")
    assert request["address"].endswith("IL, " + request["zipcode"])


def test_new_numbers_never_collide_with_loaded_ones(app, client, api_key):
    runner = app.test_cli_runner()
    runner.invoke(args=["open311", "load-catalog", str(CHICAGO_CATALOG)])
    runner.invoke(args=["open311", "load-demo"])
    form = {"api_key": api_key, "service_code": "SGQ", "lat": "41.88", "long": "-87.63"}
    reply = client.post("/open311/v2/requests.json", data=form).json[0]
    assert reply["service_request_id"].startswith("SR26-")


def test_boundary_is_compact_and_covers_the_loaded_points():
    import csv
    import gzip

    assert (DATA / "city_boundary.geojson").stat().st_size < 80_000
    boundary = Boundary.from_geojson(DATA / "city_boundary.geojson")
    with gzip.open(DATA / "chicago_requests_2021.csv.gz", "rt") as rows:
        points = [(float(r["longitude"]), float(r["latitude"])) for r in csv.DictReader(rows)]
    inside = sum(boundary.contains(lon, lat) for lon, lat in points)
    assert inside / len(points) >= 0.999
    assert not boundary.contains(-87.5, 41.95)  # in Lake Michigan
    assert json.loads((DATA / "city_boundary.geojson").read_text())["type"] == "FeatureCollection"


def test_duplicate_radii_come_from_located_child_parent_pairs():
    from open311.demo.derive import duplicate_radii, metres_between

    def row(number, code, lat, parent=""):
        return {"sr_number": number, "sr_short_code": code, "parent_sr_number": parent,
                "latitude": str(lat), "longitude": "-87.63"}  # fmt: skip

    # 0.001 degrees of latitude is 111 m on the ground.
    assert round(metres_between(row("A", "X", 41.88), row("B", "X", 41.881))) == 111
    parents = [row(f"P{i}", "SDO", 41.88) for i in range(5)]
    children = [row(f"C{i}", "SDO", 41.88 + 0.0005 * i, f"P{i}") for i in range(5)]  # up to 222 m
    few = [row("P9", "SFB", 41.88), row("C9", "SFB", 41.88, "P9")]  # one pair is too few
    radii = duplicate_radii(parents + children + few)
    assert set(radii) == {"SDO"}
    assert radii["SDO"].value == 250.0
    assert "5 duplicates" in str(radii["SDO"].note)
