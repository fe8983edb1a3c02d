"""load-demo --move-to-now: the City's requests moved forward by whole weeks, as of now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from open311.demo import replay
from open311.extensions import db
from open311.models import ServiceRequest, Status
from open311.models.base import utcnow
from tests.demo.test_demo_data import CHICAGO_CATALOG

NOW = datetime(2026, 12, 7, 10, 0)  # a Monday, local wall time


def row(filed: str, changed: str = "", closed: str = "", status: str = "Completed") -> dict:
    return {"sr_number": "SR21-1", "status": status, "created_date": filed,
            "last_modified_date": changed, "closed_date": closed}  # fmt: skip


def test_dates_move_by_whole_weeks_and_keep_their_gaps():
    week = replay.weeks_to(datetime(2021, 1, 2, 16, 26), NOW)
    by = timedelta(weeks=week)
    [moved] = replay.moved_rows(
        iter(
            [row("2021-01-01T08:00:09.000", "2021-01-01T09:30:00.000", "2021-01-01T09:30:00.000")]
        ),
        by,
        NOW,
    )
    filed = datetime.fromisoformat(moved["created_date"])
    assert filed == datetime(2021, 1, 1, 8, 0, 9) + by
    assert filed.weekday() == datetime(2021, 1, 1).weekday()
    assert filed.time().hour == 8
    assert NOW - timedelta(weeks=1) < datetime(2021, 1, 2, 16, 26) + by <= NOW
    closed = datetime.fromisoformat(moved["closed_date"])
    assert closed - filed == timedelta(hours=1, minutes=29, seconds=51)
    assert moved["status"] == "Completed"
    assert moved["created_date"].endswith(".000")  # the City's layout


def test_what_had_not_happened_by_now_has_not_happened():
    by = timedelta(weeks=replay.weeks_to(datetime(2021, 1, 2), NOW))
    closed_later = row("2021-01-02T10:00:00.000", "2023-03-01T00:00:00.000",
                       "2023-03-01T00:00:00.000", status="Canceled")  # fmt: skip
    [moved] = replay.moved_rows(iter([closed_later]), by, NOW)
    assert (moved["status"], moved["closed_date"]) == ("Open", "")
    assert moved["last_modified_date"] == moved["created_date"]


def test_a_file_already_recent_is_not_moved():
    assert replay.weeks_to(NOW - timedelta(days=3), NOW) == 0
    assert replay.weeks_to(NOW + timedelta(days=3), NOW) == 0


def test_the_demo_moved_to_now_fills_the_last_90_days(app, client):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["open311", "load-catalog", str(CHICAGO_CATALOG)]).exit_code == 0
    assert client.get("/open311/v2/requests.json").json == []  # before: nothing this season

    result = runner.invoke(args=["open311", "load-demo", "--move-to-now"])

    assert result.exit_code == 0, result.output
    loaded = int(result.output.split()[0])
    assert loaded > 4900
    assert "the City filed them between 2021-01-01 00:00 and 2021-01-02 16:26" in result.output
    recent = client.get("/open311/v2/requests.json?page_size=1000").json
    assert len(recent) == 1000  # the spec's default window, the last 90 days, has them
    with app.app_context():
        newest = db.session.scalar(sa.select(sa.func.max(ServiceRequest.requested_at)))
        numbers = db.session.scalars(sa.select(ServiceRequest.number).limit(5)).all()
        open_now = db.session.scalar(
            sa.select(sa.func.count()).where(ServiceRequest.status == Status.OPEN)
        )
    age = utcnow() - (newest if newest.tzinfo else newest.replace(tzinfo=UTC))
    assert replay.AGE <= age < replay.AGE + timedelta(weeks=1)
    assert all(number.startswith("SR21-") for number in numbers)  # the City's numbers
    assert 12 < open_now < loaded // 2  # more open than the City's 12 today, most closed
    again = runner.invoke(args=["open311", "load-demo", "--move-to-now"])
    assert again.output.startswith("0 demo requests")
    assert "moved" not in again.output  # what was loaded keeps its dates
