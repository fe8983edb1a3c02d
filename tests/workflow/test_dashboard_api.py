"""The dashboard in the staff API: who sees which department, JSON against its schema
(CheckedClient), the same numbers as CSV, formulas neutralised, bad input refused."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from open311.database import begin_write
from open311.extensions import db
from open311.models import Service, Stage
from open311.workflow.dashboard import FIGURES
from tests.builders import bearer, make_request, make_staff

CDOT = "CDOT - Department of Transportation"
STREETS = "Streets and Sanitation"
DASHBOARD = "/open311/staff/dashboard"


@pytest.fixture
def seeded(app):
    now = datetime.now(UTC).replace(microsecond=0)
    pothole = {"service_code": "PHF", "agency_responsible": CDOT}
    make_request(app, "P1", now - timedelta(days=9), due_at=now - timedelta(days=2), **pothole)
    make_request(app, "P2", now - timedelta(hours=5), due_at=now + timedelta(days=6), **pothole)
    make_request(app, "G1", now - timedelta(days=40))  # graffiti: Streets and Sanitation
    for day in range(12):
        make_request(
            app, f"C{day}", now - timedelta(days=30), stage=Stage.CLOSED, status="closed",
            updated_at=now - timedelta(days=29 - day), community_area="8", ward="42", **pothole,
        )  # fmt: skip
    return app


def get(client, token, path):
    return client.get(f"{DASHBOARD}/{path}", headers=bearer(token))


def test_a_supervisor_reads_their_department(client, seeded):
    supervisor = make_staff(seeded, "supervisor", CDOT)
    for figure in FIGURES:
        response = get(client, supervisor, figure)
        assert response.status_code == 200, response.json
        assert response.json["figure"] == figure
        assert response.json["department"] == CDOT
    stages = get(client, supervisor, "open-by-stage").json
    assert stages["total"] == 2  # not Streets and Sanitation's graffiti
    assert stages["stages"][0] == {"stage": "new", "by_age": [1, 0, 1, 0, 0], "total": 2}
    overdue = get(client, supervisor, "overdue-by-service").json["services"]
    assert [(s["service_code"], s["open"], s["overdue"]) for s in overdue] == [("PHF", 2, 1)]
    weekly = get(client, supervisor, "weekly?weeks=8").json
    assert len(weekly["weeks"]) == 8
    assert weekly["time_zone"] == "America/Chicago"
    assert sum(w["closed"] for w in weekly["weeks"]) == 12
    days = get(client, supervisor, "days-to-close-by-community-area").json
    # Closed after 1, 2, … 12 days: the median is (6 + 7) / 2; k(12) = 3 → [3, 10].
    assert days["city"] == {"requests": 12, "median_days": 6.5, "low_days": 3.0, "high_days": 10.0}
    assert [(a["code"], a["compared"]) for a in days["areas"]] == [("8", "similar")]


def test_an_administrator_reads_the_city_or_one_department(client, seeded):
    administrator = make_staff(seeded, "administrator", CDOT)
    city = get(client, administrator, "open-by-stage").json
    assert city["department"] is None
    assert city["total"] == 3
    streets = get(client, administrator, f"open-by-stage?department={STREETS}").json
    assert (streets["department"], streets["total"]) == (STREETS, 1)


def test_an_agent_of_another_department_is_refused(client, seeded):
    agent = make_staff(seeded, "agent", STREETS)
    for figure in FIGURES:
        for suffix in ("", ".csv"):
            response = get(client, agent, f"{figure}{suffix}?department={CDOT}")
            assert response.status_code == 403, figure
            assert CDOT in response.json[0]["description"]
    own = get(client, agent, "open-by-stage").json  # unasked: their own department
    assert (own["department"], own["total"]) == (STREETS, 1)


def test_bad_input_is_refused_clearly(client, seeded):
    supervisor = make_staff(seeded, "supervisor", CDOT)
    for query, words in [
        ("department=Nowhere", "no department is called 'Nowhere'"),
        ("weeks=0", "weeks"),
        ("weeks=105", "weeks"),
        ("weeks=many", "weeks"),
        ("days=0", "days"),
    ]:
        response = get(client, supervisor, f"weekly?{query}")
        assert response.status_code == 400, query
        assert words in response.json[0]["description"], response.json
    assert get(client, supervisor, "everything").status_code == 404
    assert client.get(f"{DASHBOARD}/weekly").status_code == 401


def read_csv(response):
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_each_figure_as_csv_holds_the_same_numbers(client, seeded):
    supervisor = make_staff(seeded, "supervisor", CDOT)
    stages = read_csv(get(client, supervisor, "open-by-stage.csv"))
    assert stages[0] == [
        "stage", "open 0-2 days", "open 2-7 days", "open 7-30 days", "open 30-90 days",
        "open 90+ days", "total",
    ]  # fmt: skip
    assert stages[1] == ["new", "1", "0", "1", "0", "0", "2"]
    weekly_json = get(client, supervisor, "weekly?weeks=5").json["weeks"]
    weekly = read_csv(get(client, supervisor, "weekly.csv?weeks=5"))
    assert weekly[1:] == [[w["week_of"], str(w["filed"]), str(w["closed"])] for w in weekly_json]
    days = read_csv(get(client, supervisor, "days-to-close-by-ward.csv"))
    assert days[0] == [
        "ward", "name", "requests", "median_days", "low_days", "high_days", "compared",
    ]  # fmt: skip
    assert days[1] == ["city", "All areas", "12", "6.5", "3.0", "10.0", ""]
    assert days[2] == ["42", "42", "12", "6.5", "3.0", "10.0", "similar"]


def test_csv_neutralises_formulas(client, seeded):
    with seeded.app_context():
        session = db.session()
        begin_write(session)
        session.execute(
            sa.update(Service).where(Service.code == "PHF").values(name='=HYPERLINK("x")')
        )
        session.commit()
    supervisor = make_staff(seeded, "supervisor", CDOT)
    rows = read_csv(get(client, supervisor, "overdue-by-service.csv"))
    assert rows[1] == ["PHF", '\'=HYPERLINK("x")', "2", "1"]
    # JSON is data, not a sheet: it keeps the name as it is.
    services = get(client, supervisor, "overdue-by-service").json["services"]
    assert services[0]["service_name"] == '=HYPERLINK("x")'
