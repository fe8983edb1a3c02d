"""The dashboard's figures against seeded requests counted by hand, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from open311.database import begin_write
from open311.extensions import db
from open311.models import ActorKind, RequestEvent, ServiceRequest, Stage
from open311.workflow import dashboard
from tests.builders import make_request

CDOT = "CDOT - Department of Transportation"
STREETS = "Streets and Sanitation"
CHICAGO = ZoneInfo("America/Chicago")
# A Wednesday. Its local week began on Monday 7 December at 00:00 CST = 06:00 UTC.
NOW = datetime(2026, 12, 9, 18, 0, tzinfo=UTC)


def closed(app, number, filed, closed_at, **overrides):
    make_request(
        app, number, filed, stage=Stage.CLOSED, status="closed", updated_at=closed_at, **overrides
    )


def add_event(app, number, at, from_stage, to_stage):
    with app.app_context():
        session = db.session()
        begin_write(session)
        request_id = session.query(ServiceRequest.id).filter_by(number=number).scalar()
        session.add(
            RequestEvent(
                service_request_id=request_id, at=at, action="close", actor_kind=ActorKind.SYSTEM,
                from_stage=from_stage, to_stage=to_stage, details={},
            )
        )  # fmt: skip
        session.commit()


def figures(app, call, *args, **kwargs):
    with app.app_context():
        return call(db.session(), *args, **kwargs)


def test_open_requests_by_stage_and_age(app):
    pothole = {"service_code": "PHF", "agency_responsible": CDOT}
    make_request(app, "A1", NOW - timedelta(hours=3), stage=Stage.NEW, **pothole)
    make_request(app, "A2", NOW - timedelta(days=2, hours=1), stage=Stage.NEW, **pothole)
    make_request(app, "A3", NOW - timedelta(days=10), stage=Stage.ASSIGNED, **pothole)
    make_request(app, "A4", NOW - timedelta(days=45), stage=Stage.ASSIGNED, **pothole)
    make_request(app, "A5", NOW - timedelta(days=400), stage=Stage.IN_PROGRESS, **pothole)
    make_request(app, "A6", NOW - timedelta(days=1), stage=Stage.NEW)  # Streets and Sanitation
    make_request(app, "A7", NOW - timedelta(days=1), intake="pending_review", **pothole)
    closed(app, "A8", NOW - timedelta(days=3), NOW - timedelta(days=1), **pothole)

    found = figures(app, dashboard.open_by_stage, CDOT, NOW)
    rows = {row.stage.value: row.by_band for row in found.stages}
    assert [b.key for b in dashboard.AGE_BANDS] == ["0-2", "2-7", "7-30", "30-90", "90+"]
    assert rows["new"] == (1, 1, 0, 0, 0)
    assert rows["assigned"] == (0, 0, 1, 1, 0)
    assert rows["in_progress"] == (0, 0, 0, 0, 1)
    assert rows["acknowledged"] == (0, 0, 0, 0, 0)
    assert "closed" not in rows
    assert found.total == 5

    city = figures(app, dashboard.open_by_stage, None, NOW)
    assert city.total == 6
    assert {row.stage.value: row.by_band for row in city.stages}["new"] == (2, 1, 0, 0, 0)


def test_overdue_by_service(app):
    make_request(
        app,
        "O1",
        NOW - timedelta(days=9),
        service_code="PHF",
        agency_responsible=CDOT,
        due_at=NOW - timedelta(days=2),
    )
    make_request(
        app,
        "O2",
        NOW - timedelta(days=8),
        service_code="PHF",
        agency_responsible=CDOT,
        due_at=NOW - timedelta(hours=1),
    )
    make_request(
        app,
        "O3",
        NOW - timedelta(days=1),
        service_code="PHF",
        agency_responsible=CDOT,
        due_at=NOW + timedelta(days=6),
    )
    make_request(app, "O4", NOW - timedelta(days=30), service_code="GRAF")  # no target
    make_request(
        app, "O5", NOW - timedelta(days=30), service_code="SCB", due_at=NOW - timedelta(days=20)
    )
    closed(app, "O6", NOW - timedelta(days=30), NOW - timedelta(days=1), service_code="PHF",
           agency_responsible=CDOT, due_at=NOW - timedelta(days=23))  # fmt: skip

    found = figures(app, dashboard.overdue_by_service, CDOT, NOW)
    assert [(s.service_code, s.open, s.overdue) for s in found.services] == [("PHF", 3, 2)]
    city = figures(app, dashboard.overdue_by_service, None, NOW)
    assert [(s.service_code, s.open, s.overdue) for s in city.services] == [
        ("PHF", 3, 2), ("SCB", 1, 1), ("GRAF", 1, 0),
    ]  # fmt: skip
    assert city.services[0].service_name  # the catalogue's name


def test_weeks_start_on_local_mondays_across_a_change_of_clocks(app):
    # Sunday 6 December 23:30 CST is Monday 05:30 UTC: the week before.
    make_request(app, "W1", datetime(2026, 12, 7, 5, 30, tzinfo=UTC))
    make_request(app, "W2", datetime(2026, 12, 7, 6, 0, tzinfo=UTC))  # Monday 00:00 CST
    make_request(app, "W3", datetime(2026, 12, 9, 17, 0, tzinfo=UTC))
    # Clocks went back on Sunday 1 November: Monday 2 November began at 06:00 UTC,
    # Monday 26 October at 05:00 UTC.
    make_request(app, "W4", datetime(2026, 11, 2, 5, 30, tzinfo=UTC))  # Sunday 23:30 CST
    make_request(app, "W5", datetime(2026, 10, 26, 5, 0, tzinfo=UTC))  # Monday 00:00 CDT
    make_request(app, "W6", datetime(2026, 10, 26, 4, 59, tzinfo=UTC))  # before the 8 weeks
    make_request(app, "W7", datetime(2026, 12, 8, 12, 0, tzinfo=UTC), agency_responsible=CDOT)
    # Closed by the workflow on Sunday night local; a note a day later moved updated_at.
    closed(app, "C1", datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC))
    add_event(app, "C1", datetime(2026, 12, 7, 5, 59, tzinfo=UTC), Stage.NEW, Stage.CLOSED)
    add_event(app, "C1", datetime(2026, 12, 8, tzinfo=UTC), Stage.CLOSED, Stage.CLOSED)
    # Closed elsewhere (imported): its updated_at is when it closed.
    closed(app, "C2", datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC))
    closed(app, "C3", datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 2, tzinfo=UTC))

    found = figures(app, dashboard.weekly_flow, None, NOW, CHICAGO, weeks=7)
    assert found.time_zone == "America/Chicago"
    weeks = {week.starts_on: (week.filed, week.closed) for week in found.weeks}
    assert list(weeks) == [date(2026, 10, 26) + timedelta(weeks=i) for i in range(7)]
    assert weeks[date(2026, 12, 7)] == (3, 1)  # W2, W3, W7; C2
    # W4, and the requests C1 and C2 filed on 20 November are in their own week.
    assert weeks[date(2026, 11, 30)] == (1, 1)  # W1; C1
    assert weeks[date(2026, 10, 26)] == (2, 0)  # W4, W5
    assert weeks[date(2026, 11, 16)] == (2, 0)  # C1, C2 filed
    assert sum(f for f, _ in weeks.values()) == 8  # W6 and C3 are older

    cdot = figures(app, dashboard.weekly_flow, CDOT, NOW, CHICAGO, weeks=2)
    assert [(w.filed, w.closed) for w in cdot.weeks] == [(0, 0), (1, 0)]


def seed_closings(app):
    """Community area 8: 10 requests of 1..10 days; 24: 12 of 20 days; 32: 3 (too few);
    3 of 1 day with no area. All closed within the last 90 days. Wards alike."""
    filed = NOW - timedelta(days=40)
    number = iter(range(1000))

    def close_after(days, area, ward, **overrides):
        closed(app, f"D{next(number)}", filed, filed + timedelta(days=days),
               community_area=area, ward=ward, **overrides)  # fmt: skip

    for days in range(1, 11):
        close_after(days, "8", "2")
    for _ in range(12):
        close_after(20, "24", "42")
    for days in (1, 1, 1):
        close_after(days, "32", None, agency_responsible=CDOT)
    # Not counted: a duplicate, a request still pending review, one closed long ago, one open.
    close_after(0.5, "8", "2", close_reason="duplicate")
    close_after(0.5, "8", "2", intake="pending_review")
    closed(app, "OLDONE", NOW - timedelta(days=200), NOW - timedelta(days=150),
           community_area="8", ward="2")  # fmt: skip
    make_request(app, "STILLOPEN", filed, community_area="8", ward="2")


def test_median_days_to_close_by_area_against_the_city(app):
    seed_closings(app)
    found = figures(app, dashboard.days_to_close, None, NOW, "community_area")
    assert (found.window_days, found.confidence) == (90, 0.95)
    # The city's 25: 1,1,1 · 1..10 · twelve of 20; the 13th is 10; k(25) = 8 → [x8, x18] = [5, 20].
    assert found.city.requests == 25
    assert found.city.median == pytest.approx(10)
    assert (found.city.low, found.city.high) == (pytest.approx(5), pytest.approx(20))
    areas = {a.code: a for a in found.areas}
    assert list(areas) == ["8", "24", "32"]  # numerically
    # 1..10: median (5 + 6) / 2; k(10) = 2 → [2, 9], below the city's 10.
    eight = areas["8"]
    assert (eight.days.requests, eight.days.median) == (10, pytest.approx(5.5))
    assert (eight.days.low, eight.days.high) == (pytest.approx(2), pytest.approx(9))
    assert eight.compared == "faster"
    assert areas["24"].days.median == pytest.approx(20)
    assert areas["24"].compared == "slower"
    assert areas["32"].days.requests == 3
    assert areas["32"].days.median is None
    assert areas["32"].compared == "too_few"
    assert areas["8"].name == "8"  # no Area row: the code stands for the name

    wards = figures(app, dashboard.days_to_close, None, NOW, "ward")
    assert [(w.code, w.days.requests, w.compared) for w in wards.areas] == [
        ("2", 10, "faster"), ("42", 12, "slower"),
    ]  # fmt: skip
    assert wards.city == found.city

    cdot = figures(app, dashboard.days_to_close, CDOT, NOW, "community_area")
    assert cdot.city.requests == 3
    assert cdot.city.median is None
    assert [(a.code, a.days.requests) for a in cdot.areas] == [("32", 3)]


def test_requests_outside_every_area_count_for_the_city_only(app):
    filed = NOW - timedelta(days=20)
    for n in range(12):  # enough for a median of their own, were they an area
        closed(app, f"N{n}", filed, filed + timedelta(days=n + 1), community_area=None)
    found = figures(app, dashboard.days_to_close, None, NOW, "community_area")
    assert found.areas == ()
    assert found.city.requests == 12
    assert found.city.median == pytest.approx(6.5)


def test_no_requests_no_figures(app):
    found = figures(app, dashboard.days_to_close, CDOT, NOW, "ward")
    assert found.city.requests == 0
    assert found.areas == ()
    assert figures(app, dashboard.open_by_stage, CDOT, NOW).total == 0
    assert figures(app, dashboard.overdue_by_service, CDOT, NOW).services == ()
