"""Expected time to resolve: learned quantiles, fallbacks, segments, backlog, and the POST."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from open311.database import begin_write
from open311.estimates.actions import refresh_expected
from open311.estimates.model import Prediction, given_open_for, quantiles
from open311.estimates.queries import estimate
from open311.extensions import db
from open311.formats.w3c import format_w3c
from open311.models import ResolutionQuantiles, Service, ServiceRequest, ServiceType, Status
from open311.models.base import utcnow
from open311.spatial import point
from tests.builders import pothole_form

CHICAGO = ZoneInfo("America/Chicago")
START = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)  # a Monday, 9:00 in Chicago
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
NUMBERS = itertools.count(1)


@dataclass(frozen=True)
class Filed:
    """A request as estimate() reads it."""

    service_code: str
    requested_at: datetime
    community_area: str | None = None


def add_history(app: Flask, rows: list[dict[str, Any]]) -> None:
    """Insert requests in one transaction: each dict has service_code, requested_at and
    days (None: still open), and may have community_area."""
    with app.app_context():
        session = db.session()
        begin_write(session)
        for given in rows:
            row = dict(given)
            days = row.pop("days")
            closed = days is not None
            requested_at = row.pop("requested_at")
            row.setdefault("number", f"SR25-{next(NUMBERS):08d}")
            session.add(
                ServiceRequest(
                    status=Status.CLOSED if closed else Status.OPEN,
                    requested_at=requested_at,
                    updated_at=requested_at + timedelta(days=days) if closed else requested_at,
                    address="121 N LASALLE ST, CHICAGO, IL, 60602",
                    lat=41.883637,
                    long=-87.630231,
                    location=point(-87.630231, 41.883637),
                    **row,
                )
            )
        db.session.commit()


def closed_history(code: str, days: list[float], **columns: Any) -> list[dict[str, Any]]:
    """One closed request a day from START, taking the given days to close."""
    return [
        {"service_code": code, "requested_at": START + timedelta(days=i), "days": d, **columns}
        for i, d in enumerate(days)
    ]


def learn(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["open311", "learn-estimates"])
    assert result.exit_code == 0, result.output
    return result.output


def estimated(app: Flask, filed: Filed, now: datetime = NOW) -> Any:
    with app.app_context():
        return estimate(db.session(), filed, now, time_zone=CHICAGO)


def days_after(moment: datetime | None, start: datetime) -> float | None:
    return None if moment is None else round((moment - start).total_seconds() / 86400, 3)


# --- pure parts ------------------------------------------------------------------------


def test_quantiles_interpolate_between_the_data_like_numpy():
    assert quantiles([float(d) for d in range(1, 11)]) == pytest.approx((1.9, 5.5, 9.1))
    assert quantiles([3.0]) == (3.0, 3.0, 3.0)
    assert quantiles([0.0, 0.0, 0.0, 10.0]) == pytest.approx((0.0, 0.0, 7.0))


def test_a_request_open_a_while_gets_the_range_of_what_is_left():
    prediction = Prediction(2.0, 5.0, 10.0, "service")
    assert given_open_for(prediction, 0) == prediction
    after_three = given_open_for(prediction, 3.0)
    # 3 days is a third of the way from p10 to p50: 0.1 + 0.4 / 3 have closed by then,
    # and the new percentiles are taken of the rest.
    passed = 0.1 + 0.4 / 3
    assert after_three.p10 == pytest.approx(2.0 + (passed + 0.1 * (1 - passed) - 0.1) / 0.4 * 3.0)
    assert after_three.p50 == pytest.approx(5.0 + (passed + 0.5 * (1 - passed) - 0.5) / 0.4 * 5.0)
    assert after_three.p90 > 10.0
    overdue = given_open_for(prediction, 20.0)
    assert 20.0 < overdue.p10 < overdue.p50 < overdue.p90
    assert overdue.basis == "service"
    assert given_open_for(Prediction(None, 7.0, None, "target"), 30.0).p50 == 7.0


# --- learning and estimating on both backends -------------------------------------------


def test_learned_quantiles_are_stored_and_set_on_every_new_request(app, client, api_key):
    add_history(app, closed_history("PHF", [float(d) for d in range(1, 41)]))
    assert "learned 1 services, 0 segments, 1 groups" in learn(app)
    with app.app_context():
        stored = db.session.scalars(
            sa.select(ResolutionQuantiles).where(ResolutionQuantiles.scope_key == "PHF")
        ).one()
        assert (stored.n, stored.p10, stored.p50, stored.p90) == (
            40,
            pytest.approx(4.9),
            pytest.approx(20.5),
            pytest.approx(36.1),
        )

    number = client.post("/open311/v2/requests.json", data=pothole_form(api_key)).json[0][
        "service_request_id"
    ]
    [request] = client.get(f"/open311/v2/requests/{number}.json?extensions=true").json
    requested = datetime.fromisoformat(request["requested_datetime"])
    assert days_after(
        datetime.fromisoformat(request["expected_datetime"]), requested
    ) == pytest.approx(20.5, abs=1e-4)
    expected_range = request["extended_attributes"]["expected_range"]
    assert expected_range["basis"] == "service"
    assert expected_range["p50"] == request["expected_datetime"]
    assert days_after(datetime.fromisoformat(expected_range["p10"]), requested) == pytest.approx(
        4.9, abs=1e-4
    )
    assert days_after(datetime.fromisoformat(expected_range["p90"]), requested) == pytest.approx(
        36.1, abs=1e-4
    )


def add_service(app: Flask, code: str, group: str, target_days: float | None = None) -> None:
    with app.app_context():
        begin_write(db.session())
        db.session.add(
            Service(
                code=code, name=code, description=code, group=group, type=ServiceType.REALTIME,
                agency_responsible="CDOT", target_days=target_days,
            )
        )  # fmt: skip
        db.session.commit()


def test_thin_history_falls_back_to_the_group_then_the_target_then_nothing(app):
    add_service(app, "PHB", "Transportation and Streets")  # PHF's group, no target, no history
    add_history(app, closed_history("PHF", [2.0] * 10 + [4.0] * 10))
    add_history(app, closed_history("PHB", [9.0] * 5))
    learn(app)
    at = START + timedelta(days=400)
    assert estimated(app, Filed("PHF", at), at).basis == "service"
    group = estimated(app, Filed("PHB", at), at)
    # The group pools PHF's 20 and PHB's 5: 2, 4 and 9 days. Its range could not
    # be checked (no service of it can be predicted from the others' 20 closings),
    # so it gives its median only.
    assert group.basis == "group"
    assert (group.p10, days_after(group.p50, at), group.p90) == (None, 4.0, None)


def test_without_a_group_to_fall_back_on_the_catalogue_target_then_nothing(app):
    add_history(app, closed_history("PHF", [2.0] * 19))  # one short of a service's minimum
    learn(app)
    at = START + timedelta(days=400)
    target = estimated(app, Filed("PHF", at), at)
    assert (target.basis, target.p10, target.p90) == ("target", None, None)
    assert days_after(target.p50, at) == 7.0  # PHF's target_days in the test catalogue
    nothing = estimated(app, Filed("GRAF", at), at)  # no history, no group history, no target
    assert (nothing.p10, nothing.p50, nothing.p90, nothing.basis) == (None, None, None, None)


def test_a_telling_segment_is_used_and_named_in_the_basis(app):
    # The Loop (32) waits a month; Rogers Park (1) a day, in alternation over 200 days.
    history = [
        {
            "service_code": "PHF",
            "requested_at": START + timedelta(days=i),
            "days": 30.0 + i % 3,
            "community_area": "32",
        }
        if i % 2
        else {
            "service_code": "PHF",
            "requested_at": START + timedelta(days=i),
            "days": 1.0 + i % 3 / 10,
            "community_area": "1",
        }
        for i in range(200)
    ]
    add_history(app, history)
    learn(app)
    at = START + timedelta(days=300)
    loop = estimated(app, Filed("PHF", at, "32"), at)
    assert loop.basis == "service+community_area"
    assert (
        30.0
        <= days_after(loop.p10, at)
        <= days_after(loop.p50, at)
        <= days_after(loop.p90, at)
        <= 32.0
    )
    elsewhere = estimated(app, Filed("PHF", at, "77"), at)  # no history there: the whole service
    assert elsewhere.basis == "service"
    assert days_after(elsewhere.p10, at) < 2 < 30 < days_after(elsewhere.p90, at)


def test_a_longer_backlog_than_usual_means_a_longer_wait(app):
    # A queue: each request waits a day, plus 0.03 days per request open before it.
    # Busy weeks bring one an hour, calm ones one every four hours, at random.
    picker = random.Random(5)
    history: list[dict[str, Any]] = []
    closings: list[datetime] = []
    moment = START
    for _week in range(30):
        gap = timedelta(hours=picker.choice([1, 4]))
        for _ in range(40):
            moment += gap
            waiting = sum(1 for closing in closings if closing > moment)
            days = 1 + waiting * 0.03 + picker.random()
            closings.append(moment + timedelta(days=days))
            history.append({"service_code": "PHF", "requested_at": moment, "days": days})
    add_history(app, history)
    learn(app)
    with app.app_context():
        levels = dict(
            db.session.execute(
                sa.select(ResolutionQuantiles.segment_value, ResolutionQuantiles.p50).where(
                    ResolutionQuantiles.segment_kind == "backlog"
                )
            ).all()
        )
    assert set(levels) == {"low", "usual", "high"}
    at = moment + timedelta(days=400)  # everything has closed by then: nothing is open
    calm = estimated(app, Filed("PHF", at), at)
    # 40 open requests: well above the usual number open (about 16).
    add_history(
        app,
        [
            {"service_code": "PHF", "requested_at": at - timedelta(hours=h), "days": None}
            for h in range(1, 41)
        ],
    )
    busy = estimated(app, Filed("PHF", at), at)
    assert (calm.basis, busy.basis) == ("service+backlog", "service+backlog")
    assert days_after(calm.p50, at) == pytest.approx(levels["low"], abs=1e-3)
    assert days_after(busy.p50, at) == pytest.approx(levels["high"], abs=1e-3)
    assert levels["high"] > levels["usual"] > levels["low"]


def test_closed_requests_teach_and_open_ones_do_not(app):
    add_history(app, closed_history("PHF", [3.0] * 25))
    add_history(
        app, [{"service_code": "PHF", "requested_at": START, "days": None}] * 1
    )  # open for a year
    learn(app)
    with app.app_context():
        whole = db.session.scalars(
            sa.select(ResolutionQuantiles).where(
                ResolutionQuantiles.segment_kind == "", ResolutionQuantiles.scope == "service"
            )
        ).one()
        assert (whole.n, whole.p50) == (25, 3.0)


def test_closing_keeps_the_promise_and_drops_the_range(app, client):
    add_history(app, closed_history("PHF", [3.0] * 25))
    filed_at = utcnow() - timedelta(hours=1)  # learn-estimates runs now: an hour's wait so far
    add_history(
        app,
        [
            {
                "service_code": "PHF",
                "requested_at": filed_at,
                "days": None,
                "number": "SR26-00000001",
            }
        ],
    )
    learn(app)  # re-estimates the open request
    with app.app_context():
        begin_write(db.session())
        service_request = db.session.scalars(
            sa.select(ServiceRequest).where(ServiceRequest.number == "SR26-00000001")
        ).one()
        assert (
            service_request.expected_basis,
            days_after(service_request.expected_at, filed_at),
        ) == ("service", 3.0)
        service_request.status = Status.CLOSED
        refresh_expected(db.session(), service_request, utcnow(), time_zone=CHICAGO)
        db.session.commit()
    [request] = client.get("/open311/v2/requests/SR26-00000001.json?extensions=true").json
    assert request["expected_datetime"] == format_w3c(filed_at + timedelta(days=3), CHICAGO)
    assert request["extended_attributes"]["expected_range"] is None
    learn(app)  # closed requests are not re-estimated
    [again] = client.get("/open311/v2/requests/SR26-00000001.json").json
    assert again["expected_datetime"] == request["expected_datetime"]


def test_the_range_reaches_xml_too(app, client, api_key):
    add_history(app, closed_history("PHF", [float(d) for d in range(1, 41)]))
    learn(app)
    client.post("/open311/v2/requests.json", data=pothole_form(api_key))
    from lxml import etree

    root = etree.fromstring(client.get("/open311/v2/requests.xml?extensions=true").data)
    assert root.findtext("request/extended_attributes/expected_range/basis") == "service"
    assert root.findtext("request/extended_attributes/expected_range/p50") == root.findtext(
        "request/expected_datetime"
    )
