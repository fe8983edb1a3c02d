"""The near-me page's map (clusters), its ward choice, and the address suggestions."""

from __future__ import annotations

import pytest

from open311.config import PROJECT_DIR
from tests.builders import pothole_form

AREAS = PROJECT_DIR / "open311" / "demo" / "data" / "areas"
LOOP = "-87.70,41.80,-87.55,41.95"  # min_long,min_lat,max_long,max_lat around City Hall
SOUTH_SIDE = "-87.70,41.68,-87.60,41.72"


def file_at(client, api_key: str, lat: float, long: float, **fields: str) -> str:
    form = pothole_form(api_key, lat=f"{lat:.6f}", long=f"{long:.6f}", **fields)
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 200, response.json
    return response.json[0]["service_request_id"]


@pytest.fixture
def crowd(client, api_key) -> list[str]:
    """Twelve potholes within a block of City Hall, and one a mile west."""
    numbers = [
        file_at(client, api_key, 41.8836 + 0.0001 * i, -87.6302 - 0.0001 * i, description=f"n{i}")
        for i in range(12)
    ]
    return [*numbers, file_at(client, api_key, 41.8836, -87.6500, description="west")]


def clusters(client, query: str) -> list[dict]:
    response = client.get(f"/near/clusters.json?{query}")
    assert response.status_code == 200, response.text
    return response.json["clusters"]


def test_a_far_view_gathers_dense_requests_into_one_counted_cluster(client, crowd):
    cells = clusters(client, f"service_code=PHF&bbox={LOOP}&zoom=11")
    assert sum(cell["count"] for cell in cells) == len(crowd)
    busiest = cells[0]
    assert busiest["count"] >= 12
    assert "zoom in" in busiest["label"]
    assert "url" not in busiest
    (south, west), (north, east) = busiest["bounds"]
    assert south <= busiest["lat"] <= north
    assert west <= busiest["long"] <= east


def test_zoomed_in_each_request_is_its_own_marker_with_a_label_and_link(client, crowd):
    cells = clusters(client, "service_code=PHF&bbox=-87.6320,41.8830,-87.6290,41.8850&zoom=21")
    assert sorted(cell["url"].rsplit("/", 1)[1] for cell in cells) == sorted(crowd[:12])
    assert all(cell["label"].endswith(cell["url"].rsplit("/", 1)[1]) for cell in cells)


def test_the_map_applies_the_same_filters_as_the_list(client, api_key, crowd):
    assert clusters(client, f"service_code=OTHER&bbox={LOOP}&zoom=11") == []
    assert clusters(client, f"status=closed&bbox={LOOP}&zoom=11") == []
    assert clusters(client, f"service_code=PHF&bbox={SOUTH_SIDE}&zoom=11") == []
    # An address is a half-mile circle, on the map as in the list: the west one is outside.
    near = clusters(client, f"address=121+N+LaSalle+St&bbox={LOOP}&zoom=18")
    assert sum(cell["count"] for cell in near) == 12
    future = clusters(client, f"start_date=2100-01-01&bbox={LOOP}&zoom=11")
    assert future == []


@pytest.mark.parametrize(
    "query",
    [
        f"bbox={LOOP}",
        f"bbox={LOOP}&zoom=99",
        f"bbox={LOOP}&zoom=-1",
        f"bbox={LOOP}&zoom=1.5",
        "zoom=12",
        "bbox=1,2,3&zoom=12",
        f"bbox={LOOP}&zoom=12&status=lost",
        f"bbox={LOOP}&zoom=12&address=nowhere+at+all",
    ],
)
def test_bad_map_questions_are_refused_with_the_reason(client, query):
    response = client.get(f"/near/clusters.json?{query}")
    assert response.status_code == 400


def test_a_whole_world_view_at_a_deep_zoom_still_answers_few_cells(client, crowd):
    cells = clusters(client, "bbox=-180,-90,180,90&zoom=22")
    assert 1 <= len(cells) <= 40 * 40
    assert sum(cell["count"] for cell in cells) == len(crowd)


def test_the_near_me_page_has_wards_and_finds_requests_in_one(app, client, api_key):
    result = app.test_cli_runner().invoke(args=["open311", "load-chicago-areas", str(AREAS)])
    assert result.exit_code == 0, result.output
    number = file_at(client, api_key, 41.883637, -87.630231)  # City Hall: ward 42
    page = client.get("/near")
    assert '<option value="42">Ward 42</option>' in page.text
    assert page.text.index('value="2">Ward 2<') < page.text.index('value="10">Ward 10<')
    assert f'href="/requests/{number}"' in client.get("/near?ward=42").text
    assert f'href="/requests/{number}"' not in client.get("/near?ward=1").text
    assert sum(c["count"] for c in clusters(client, f"ward=42&bbox={LOOP}&zoom=12")) == 1
    assert clusters(client, f"ward=1&bbox={LOOP}&zoom=12") == []


def test_a_pin_searches_around_it(client, api_key):
    number = file_at(client, api_key, 41.883637, -87.630231)
    assert f'href="/requests/{number}"' in client.get("/near?lat=41.8836&long=-87.6302").text
    assert f'href="/requests/{number}"' not in client.get("/near?lat=41.70&long=-87.65").text
    assert client.get("/near?lat=91&long=0").status_code == 400


def test_address_suggestions_come_from_the_geocoder_inside_the_city(client):
    found = client.get("/map/addresses.json?q=121+n+la").json["addresses"]
    assert "121 N LA SALLE ST, CHICAGO, IL, 60601" in [place["address"] for place in found]
    assert all({"address", "lat", "long"} <= set(place) for place in found)
    assert 1 <= len(found) <= 6
    assert client.get("/map/addresses.json?q=lasalle").json == {"addresses": []}
    assert client.get("/map/addresses.json").json == {"addresses": []}
    assert client.get("/map/addresses.json?q=" + "9" * 5000).status_code == 200


def test_address_boxes_are_marked_for_suggestions(client):
    for path in ("/services/PHF", "/near"):
        page = client.get(path).text
        assert 'data-suggest="/map/addresses.json"' in page
        assert "web/suggest.js" in page


def test_suggestions_and_the_map_count_as_searches(app, client):
    app.config["RATE_LIMIT_SEARCHES_PER_ADDRESS"] = "2 per minute"
    assert client.get("/map/addresses.json?q=121+n+la").status_code == 200
    assert client.get(f"/near/clusters.json?bbox={LOOP}&zoom=12").status_code == 200
    assert client.get("/map/addresses.json?q=121+n+la").status_code == 429


def test_a_pin_is_kept_for_the_next_choices_and_an_area_or_address_wins_over_it(
    app, client, api_key
):
    result = app.test_cli_runner().invoke(args=["open311", "load-chicago-areas", str(AREAS)])
    assert result.exit_code == 0, result.output
    number = file_at(client, api_key, 41.883637, -87.630231)  # City Hall: ward 42
    around = client.get("/near?lat=41.8836&long=-87.6302&address=").text
    assert '<input type="hidden" name="lat" value="41.8836">' in around
    assert f'href="/requests/{number}"' in around
    # A far pin, but ward 42 chosen: the ward is searched.
    assert f'href="/requests/{number}"' in client.get("/near?lat=41.70&long=-87.65&ward=42").text
    # A far pin, but an address typed: the address is searched, and the pin is not kept.
    typed = client.get("/near?lat=41.70&long=-87.65&address=121+N+LaSalle+St").text
    assert f'href="/requests/{number}"' in typed
    assert 'type="hidden" name="lat"' not in typed
