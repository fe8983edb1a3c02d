"""The public patterns page: the dashboard's figures for residents, as a page that
works without JavaScript, and each figure as JSON and CSV, on both backends."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from open311.models import Stage
from open311.models.base import utcnow
from tests.builders import make_request

ROGERS_PARK = "1"  # community area 1 in the City's map
LOOP = "32"


@pytest.fixture
def seeded(app):
    result = app.test_cli_runner().invoke(args=["open311", "load-chicago-areas"])
    assert result.exit_code == 0, result.output
    filed = utcnow() - timedelta(days=30)
    for n in range(12):  # Rogers Park: 1..12 days; the Loop: 30 days each
        make_request(app, f"P{n}", filed, stage=Stage.CLOSED, status="closed",
                     updated_at=filed + timedelta(days=n + 1), community_area=ROGERS_PARK)  # fmt: skip
        make_request(app, f"L{n}", filed - timedelta(days=10), stage=Stage.CLOSED,
                     status="closed", updated_at=filed + timedelta(days=20),
                     community_area=LOOP, service_code="PHF")  # fmt: skip
    make_request(app, "OPEN1", utcnow() - timedelta(days=1), community_area=ROGERS_PARK)


def test_the_page_shows_weekly_counts_and_days_to_close_by_area(client, seeded):
    page = client.get("/patterns")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Requests filed and closed each week" in html
    assert "Rogers Park" in html
    assert "Loop" in html
    assert "Faster than the city" in html
    assert "Slower than the city" in html
    assert 'href="/patterns/weekly.csv"' in html
    assert 'href="/patterns/days-to-close.json"' in html

    figure = client.get("/patterns/days-to-close.json").json
    rows = {row[0]: row for row in figure["rows"]}
    compared = figure["columns"].index("compared")
    assert rows["city"][2] == 24
    assert (rows[ROGERS_PARK][compared], rows[LOOP][compared]) == ("faster", "slower")
    sheet = client.get("/patterns/days-to-close.csv")
    assert sheet.content_type.startswith("text/csv")
    table = list(csv.reader(io.StringIO(sheet.get_data(as_text=True))))
    assert table[0] == figure["columns"]
    assert len(table) == 1 + len(figure["rows"])


def test_weekly_counts_follow_the_service_and_the_area(client, seeded):
    everything = client.get("/patterns/weekly.json").json
    assert sum(row[1] for row in everything["rows"]) == 25  # all filed in the 12 weeks
    assert sum(row[2] for row in everything["rows"]) == 24
    potholes = client.get("/patterns/weekly.json?service_code=PHF").json
    assert potholes["service_code"] == "PHF"
    assert sum(row[1] for row in potholes["rows"]) == 12
    assert sum(row[2] for row in potholes["rows"]) == 12
    rogers = client.get(f"/patterns/weekly.csv?community_area={ROGERS_PARK}")
    lines = list(csv.reader(io.StringIO(rogers.get_data(as_text=True))))
    assert lines[0] == ["week_of", "filed", "closed"]
    assert sum(int(row[1]) for row in lines[1:]) == 13
    page = client.get(f"/patterns?service_code=PHF&community_area={LOOP}")
    assert page.status_code == 200
    assert "Loop" in page.get_data(as_text=True)


def test_a_bad_choice_is_a_clear_error_in_each_format(client, seeded):
    page = client.get("/patterns?service_code=NOPE&community_area=999")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "Choose a service from the list." in html
    assert "Choose a community area from the list." in html
    data = client.get("/patterns/weekly.json?service_code=NOPE")
    assert data.status_code == 400
    assert data.json == {"errors": {"service_code": "Choose a service from the list."}}
    sheet = client.get("/patterns/weekly.csv?community_area=999")
    assert sheet.status_code == 400
    assert "community area" in sheet.get_data(as_text=True)


def test_the_page_is_in_spanish(client, seeded):
    client.get("/language/es?next=/patterns")
    html = client.get("/patterns").get_data(as_text=True)
    assert "Solicitudes presentadas y cerradas cada semana" in html
