"""The backtest: learn before a date, predict after it, beside the naive per-type median."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from open311.config import PROJECT_DIR
from open311.estimates.backtest import NOT_INSTANT, OVERALL, SAME_REQUESTS, backtest
from open311.estimates.history import catalogue_facts, resolution_history
from open311.extensions import db
from tests.estimates.test_estimates import START, add_history, add_service, closed_history

CHICAGO = ZoneInfo("America/Chicago")
# Next to the repository, or next to the folder of its worktrees (/work/wt/<branch>).
SHARED = next(
    (found for up in PROJECT_DIR.parents[:2] if (found := up / "shared" / "chicago311").is_dir()),
    PROJECT_DIR.parent / "shared" / "chicago311",
)
REAL_FILES = [
    *sorted((SHARED / "legacy").glob("legacy_*_sample.csv")),
    SHARED / "samples" / "sr_2021-01-01_first5000_fullschema.csv",
]


def run_backtest(app, split: datetime):
    with app.app_context():
        session = db.session()
        return backtest(resolution_history(session), catalogue_facts(session), split, CHICAGO)


def test_backtest_scores_ours_and_the_naive_median_on_later_requests(app):
    # 100 days of PHF taking 1..10 days in turn; open requests are not scored.
    add_history(app, closed_history("PHF", [float(1 + i % 10) for i in range(100)]))
    add_history(
        app, [{"service_code": "PHF", "requested_at": START + timedelta(days=99), "days": None}]
    )
    report = run_backtest(app, START + timedelta(days=80))
    line = report.lines["PHF"]
    assert (report.trained_on, line.tested) == (80, 20)
    # Learned from days 1..10 eight times: p10 1.9, p50 5.5, p90 9.1, the naive
    # range. The later requests take 1..10 twice: 2..9 are inside it, 16 of 20.
    assert line.naive.coverage == pytest.approx(0.8)
    # Ours was checked on the last 20 of the 80 (days 61-80) against the range of
    # the first 60 (the same 1.9..9.1): a 1 and a 10 fell outside it twice each,
    # and split conformal keeps 19 of 20 inside each end, so ours runs 1..10 days
    # and holds all 20 later requests. The median is the same.
    assert line.ours.coverage == 1.0
    assert line.ours.median_error == line.naive.median_error == pytest.approx(2.5)
    # Hindsight, the later requests' own 10th-90th percentile (1.9..9.1), holds 16 of 20.
    assert line.hindsight.coverage == pytest.approx(0.8)
    assert line.bases == {"service": 20}
    assert report.lines[OVERALL].tested == 20


def test_backtest_command_prints_ours_beside_naive(app):
    add_history(app, closed_history("PHF", [float(1 + i % 10) for i in range(100)]))
    result = app.test_cli_runner().invoke(args=["open311", "backtest", "--split", "2025-03-27"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "naive n" in lines[1]
    overall = next(line for line in lines if line.startswith("overall "))
    assert overall.split("|")[1].split()[:2] == ["20", "100.0%"]  # ours
    assert overall.split("|")[2].split()[:2] == ["20", "80.0%"]  # naive
    assert overall.split("|")[3].split() == ["80.0%"]  # hindsight
    assert "service 20" in overall
    assert lines[-1] == "instant (median under an hour before the split): none"


def test_totals_are_also_given_without_services_that_close_within_the_hour(app):
    # Information calls close in minutes; potholes take 1..10 days.
    add_service(app, "311IOC", "General")
    add_history(app, closed_history("PHF", [float(1 + i % 10) for i in range(100)]))
    add_history(app, closed_history("311IOC", [0.01] * 100))
    report = run_backtest(app, START + timedelta(days=80))
    assert report.instant == ["311IOC"]
    overall, slow = report.lines[OVERALL], report.lines[OVERALL + NOT_INSTANT]
    assert (overall.tested, slow.tested) == (40, 20)
    assert overall.ours.coverage == 1.0  # the calls' range is a point they always hit
    assert slow.naive.coverage == pytest.approx(0.8)  # PHF alone
    assert overall.naive.coverage == pytest.approx(0.9)
    # Even hindsight, the calls' own range, is a point they all hit: 36 of 40.
    assert overall.hindsight.coverage == pytest.approx(0.9)
    assert report.lines[SAME_REQUESTS + NOT_INSTANT].tested == 20


def test_backtest_refuses_a_bad_split(app):
    result = app.test_cli_runner().invoke(args=["open311", "backtest", "--split", "soon"])
    assert result.exit_code == 2
    assert "soon" in result.output


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/chicago311 is not next to the repository")
def test_on_the_real_chicago_history_the_ranges_cover_70_to_90_percent(app):
    runner = app.test_cli_runner()
    for args in (
        ["load-catalog", str(PROJECT_DIR / "services_catalog" / "chicago")],
        ["load-chicago-areas"],
        *(["import-requests", str(path)] for path in REAL_FILES),
    ):
        result = runner.invoke(args=["open311", *args])
        assert result.exit_code == 0, result.output
    report = run_backtest(app, datetime(2021, 1, 2, tzinfo=CHICAGO))
    overall = report.lines[OVERALL]
    assert overall.tested > 1500
    assert sum(overall.bases.values()) == overall.tested
    # Information calls and aircraft noise close at once and always fall in their
    # range (a point at zero): with them the overall is near 91%, and the honest
    # figure is the one without them.
    assert report.instant == ["311IOC", "AVN"]
    assert 0.70 <= report.lines[OVERALL + NOT_INSTANT].ours.coverage <= 0.90
    assert overall.ours.coverage >= 0.70
    # No range does better overall: hindsight, each service's own 10th-90th
    # percentile of what happened after the split, holds more than nine in ten.
    assert overall.hindsight.coverage > 0.90
    assert overall.ours.coverage <= overall.hindsight.coverage
    # Beside the naive per-type median, on the requests both predicted: a coverage at
    # least as near 80%, and a median no further off.
    same = report.lines[SAME_REQUESTS + NOT_INSTANT]
    assert same.tested > 300
    assert abs(same.ours.coverage - 0.8) <= abs(same.naive.coverage - 0.8)
    assert same.ours.median_error <= same.naive.median_error
    # 2013 from 2011-2012: no information call before 2013, nor any other service of
    # its group, and no catalogue target: no basis for those, honestly.
    earlier = run_backtest(app, datetime(2013, 1, 1, tzinfo=CHICAGO))
    assert earlier.lines["311IOC"].bases == {"none": earlier.lines["311IOC"].tested}
    assert 0.70 <= earlier.lines[OVERALL + NOT_INSTANT].ours.coverage <= 0.90
    same = earlier.lines[SAME_REQUESTS]
    assert abs(same.ours.coverage - 0.8) <= abs(same.naive.coverage - 0.8)
    assert same.ours.median_error <= same.naive.median_error
