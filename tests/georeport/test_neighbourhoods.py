"""Neighbourhood extensions of GET /requests: radius, box, named areas, nearest N."""

from __future__ import annotations

from datetime import timedelta

import pytest

from open311.config import PROJECT_DIR
from open311.models import Status
from open311.models.base import utcnow
from tests.builders import make_request

AREAS = PROJECT_DIR / "open311" / "demo" / "data" / "areas"
NOW = utcnow()
CITY_HALL = (41.883637, -87.630231)
# Real places: metres from City Hall measured with the haversine formula.
PLACES = {
    "SR26-00000001": (41.883637, -87.630231),  # City Hall itself, 0 m
    "SR26-00000002": (41.884500, -87.630231),  # ~96 m north
    "SR26-00000003": (41.888000, -87.630231),  # ~485 m north
    "SR26-00000004": (41.8789, -87.6359),  # ~700 m south-west (Willis Tower)
    "SR26-00000005": (41.9484, -87.6553),  # Wrigley Field, ~7.5 km north
}


def ids(response):
    assert response.status_code == 200, response.data
    return [r["service_request_id"] for r in response.json]


@pytest.fixture
def mapped(app, client):
    assert (
        app.test_cli_runner().invoke(args=["open311", "load-chicago-areas", str(AREAS)]).exit_code
        == 0
    )
    for offset, (number, (lat, lon)) in enumerate(PLACES.items()):
        status = Status.CLOSED if number.endswith("3") else Status.OPEN
        make_request(
            app, number, NOW - timedelta(hours=offset + 1), lat=lat, long=lon, status=status
        )
    assert app.test_cli_runner().invoke(args=["open311", "tag-areas"]).exit_code == 0
    return app


def near(radius, **more):
    lat, lon = CITY_HALL
    return {"lat": lat, "long": lon, "radius": radius, **more}


@pytest.mark.parametrize(
    ("radius", "expected"),
    [
        (0, ["SR26-00000001"]),
        (100, ["SR26-00000001", "SR26-00000002"]),
        (500, ["SR26-00000001", "SR26-00000002", "SR26-00000003"]),
        (1000, ["SR26-00000001", "SR26-00000002", "SR26-00000003", "SR26-00000004"]),
    ],
)
def test_radius_around_a_point(client, mapped, radius, expected):
    assert ids(client.get("/open311/v2/requests.json", query_string=near(radius))) == expected


def test_radius_combines_with_core_filters(client, mapped):
    assert ids(
        client.get("/open311/v2/requests.json", query_string=near(1000, status="closed"))
    ) == ["SR26-00000003"]
    old_only = near(
        1000,
        start_date=(NOW - timedelta(days=30)).isoformat(),
        end_date=(NOW - timedelta(days=20)).isoformat(),
    )
    assert ids(client.get("/open311/v2/requests.json", query_string=old_only)) == []


def test_bounding_box(client, mapped):
    loop = "-87.64,41.875,-87.62,41.886"
    assert ids(client.get(f"/open311/v2/requests.json?bbox={loop}")) == [
        "SR26-00000001",
        "SR26-00000002",
        "SR26-00000004",
    ]
    in_the_lake = "-87.55,41.90,-87.50,41.95"
    assert ids(client.get(f"/open311/v2/requests.json?bbox={in_the_lake}")) == []


def test_named_areas(client, mapped):
    lakeview = ids(client.get("/open311/v2/requests.json?community_area=6"))  # Lake View
    assert lakeview == ["SR26-00000005"]
    loop = ids(client.get("/open311/v2/requests.json?community_area=32&status=open"))
    assert loop == ["SR26-00000001", "SR26-00000002", "SR26-00000004"]
    assert ids(client.get("/open311/v2/requests.json?ward=42,44")) != []
    assert ids(client.get("/open311/v2/requests.json?ward=99")) == []  # no such ward: nothing


def test_nearest_n(client, mapped):
    lat, lon = CITY_HALL
    response = client.get(
        "/open311/v2/requests.json", query_string={"lat": lat, "long": lon, "nearest": 3}
    )
    assert ids(response) == ["SR26-00000001", "SR26-00000002", "SR26-00000003"]
    open_only = client.get(
        "/open311/v2/requests.json",
        query_string={"lat": lat, "long": lon, "nearest": 3, "status": "open"},
    )
    assert ids(open_only) == ["SR26-00000001", "SR26-00000002", "SR26-00000004"]
    far = client.get(
        "/open311/v2/requests.json", query_string={"lat": 41.9484, "long": -87.6553, "nearest": 1}
    )
    assert ids(far) == ["SR26-00000005"]


def test_page_past_the_end_of_a_neighbourhood_is_empty(client, mapped):
    assert (
        ids(client.get("/open311/v2/requests.json", query_string=near(1000, page=2, page_size=4)))
        == []
    )


@pytest.mark.parametrize(
    "query",
    [
        {"lat": "41.88", "radius": "100"},
        {"radius": "100"},
        {"lat": "41.88", "long": "-87.63"},
        {"lat": "41.88", "long": "-87.63", "radius": "-5"},
        {"lat": "41.88", "long": "-87.63", "radius": "far"},
        {"lat": "41.88", "long": "-87.63", "nearest": "0"},
        {"bbox": "-87.6,41.9,-87.7,41.8"},
        {"bbox": "1,2,3"},
    ],
)
def test_bad_neighbourhood_queries_are_400(client, query):
    assert client.get("/open311/v2/requests.json", query_string=query).status_code == 400
