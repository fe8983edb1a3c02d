"""Calibrated ranges: checked on later requests, they keep about eight closings in ten.

The generated histories have a known distribution: days to close are
log-normal around a median that may drift, with a spread that may change.
The pure tests average over many draws, so they test the method, not one
lucky sample; each fails when calibration is taken out (ours is then the
naive range, whose coverage is asserted beside it).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from open311.estimates.backtest import backtest
from open311.estimates.calibration import (
    Miss,
    Widening,
    conformal_widening,
    outward,
    pooled_widening,
    widen,
)
from open311.estimates.history import PastRequest, ServiceFacts
from open311.estimates.model import Circumstances, Key, learn, predict
from open311.extensions import db
from open311.models import ResolutionQuantiles, Scope
from tests.estimates.test_estimates import (
    START,
    Filed,
    add_history,
    add_service,
    days_after,
    estimated,
)

CHICAGO = ZoneInfo("America/Chicago")
TRAINING_DAYS = 120  # history before the split; the test period is the 30 days after it
TESTED_DAYS = 30
SEEDS = range(20)


def lognormal_history(
    code: str,
    seed: int,
    median: Callable[[int], float],
    spread: Callable[[int], float],
    per_day: int = 4,
    days: int = TRAINING_DAYS + TESTED_DAYS,
) -> list[PastRequest]:
    """`per_day` requests a day, three hours apart; log(days to close) is normal
    around log(median(day)) with standard deviation spread(day)."""
    draw = random.Random(seed)
    history = []
    for day in range(days):
        for nth in range(per_day):
            filed = START + timedelta(days=day, hours=3 * nth)
            took = math.exp(draw.gauss(math.log(median(day)), spread(day)))
            history.append(PastRequest(code, filed, filed + timedelta(days=took), None))
    return history


def drifting(seed: int) -> list[PastRequest]:
    """Three days at first, 1% longer each day; the spread stays at 0.5."""
    return lognormal_history("PHF", seed, lambda day: 3 * math.exp(0.01 * day), lambda _day: 0.5)


def steadying(seed: int) -> list[PastRequest]:
    """Three days at the median throughout; very uneven for 60 days, then steady."""
    return lognormal_history("PHF", seed, lambda _day: 3.0, lambda day: 1.2 if day < 60 else 0.3)


def coverages(history: Callable[[int], list[PastRequest]]) -> tuple[list[float], list[float]]:
    """Ours and the naive range's coverage of the 30 days after the split, per seed."""
    catalogue = {"PHF": ServiceFacts("Transportation and Streets", 7.0)}
    ours, naive = [], []
    for seed in SEEDS:
        report = backtest(history(seed), catalogue, START + timedelta(days=TRAINING_DAYS), CHICAGO)
        line = report.lines["PHF"]
        assert line.bases == {"service": line.tested}
        ours.append(line.ours.coverage)
        naive.append(line.naive.coverage)
    return ours, naive


# --- the arithmetic ---------------------------------------------------------------------


def test_each_end_moves_by_the_split_conformal_rank_of_its_misses():
    # 20 misses: the 19th smallest, ceil(0.9 * 21), keeps 19 of 20 inside each end.
    misses = [Miss(low=-i / 10, high=i / 10) for i in range(20)]
    assert conformal_widening(misses) == pytest.approx(Widening(low=-0.1, high=1.8))
    # Nine misses: the rank would be the 9th, ceil(0.9 * 10), the largest.
    assert conformal_widening(misses[:9]).high == pytest.approx(0.8)


def test_a_widened_range_never_starts_before_zero_nor_crosses():
    low, high = widen(2.0, 9.0, Widening(low=math.log(3), high=math.log(2)))
    assert (low, high) == pytest.approx((0.0, 19.0))  # 3 / 3 - 1, 10 * 2 - 1
    narrowed = widen(2.0, 9.0, Widening(low=-2.0, high=-2.0))
    assert narrowed[0] <= narrowed[1]
    assert outward(Widening(-1.0, 0.5)) == Widening(0.0, 0.5)


def test_pooled_misses_weigh_each_service_the_same():
    # A big service that needs no move and a small one that needs 1.0: pooled, the
    # small one is half the weight, so its misses decide the 90th percentile.
    pooled = pooled_widening({"BIG": [Miss(0.0, 0.0)] * 900, "SMALL": [Miss(1.0, 1.0)] * 10})
    assert pooled == Widening(1.0, 1.0)


# --- generated histories with a known distribution --------------------------------------


def test_a_drifting_history_under_covers_until_calibrated():
    ours, naive = coverages(drifting)
    # The quantiles of all 120 days sit behind the drift: far fewer than eight in ten
    # later closings fall inside them. Calibrated on the last 30 days of the history,
    # the range holds about eight in ten, in every draw better than the naive one.
    assert statistics.mean(naive) < 0.6
    assert 0.72 <= statistics.mean(ours) <= 0.88
    assert all(o > n for o, n in zip(ours, naive, strict=True))


def test_a_range_wider_than_later_requests_need_is_narrowed():
    ours, naive = coverages(steadying)
    # The uneven first 60 days make the observed range far too wide for the steady
    # later ones; calibration brings it in to about eight in ten.
    assert statistics.mean(naive) > 0.97
    assert 0.72 <= statistics.mean(ours) <= 0.88


def test_a_new_service_falls_in_its_groups_calibrated_range_about_eight_times_in_ten():
    # Groups of five services, each with its own median between 1 and 30 days; a
    # service new to the group, from the same family, is predicted from the group.
    ours, raw = [], []
    for seed in SEEDS:
        draw = random.Random(seed)
        medians = [math.exp(draw.uniform(0, math.log(30))) for _ in range(6)]
        known = [
            row
            for code, median in zip("ABCDE", medians, strict=False)
            for row in lognormal_history(
                code, seed, lambda _day, m=median: m, lambda _day: 0.5, 1, 40
            )
        ]
        catalogue = {code: ServiceFacts("Streets", None) for code in "ABCDEN"}
        learned = learn(known, catalogue, CHICAGO)
        group = predict(learned, Circumstances("N", START, None, 0), catalogue["N"], CHICAGO)
        observed = learned.slices[Key(Scope.GROUP, "Streets")]
        assert group is not None
        assert group.basis == "group"
        assert group.p10 is not None
        assert group.p90 is not None
        new = lognormal_history(
            "N", seed + 100, lambda _day, m=medians[5]: m, lambda _day: 0.5, 1, 200
        )
        days = [r.days_to_close or 0.0 for r in new]
        ours.append(statistics.mean(group.p10 <= d <= group.p90 for d in days))
        raw.append(statistics.mean(observed.p10 <= d <= observed.p90 for d in days))
    # The group's own 10th-90th percentile holds too few of a new service's closings
    # (three in four); widened by how its services missed when each was left out of
    # it, a little more than eight in ten: with five services, leaving one out
    # makes the rest a little less varied than the whole group.
    assert statistics.mean(raw) < 0.78
    assert 0.78 <= statistics.mean(ours) <= 0.9
    assert statistics.mean(ours) > statistics.mean(raw) + 0.05


def test_history_on_too_few_days_keeps_the_observed_range_and_no_segment():
    # 400 requests on three days, the Loop a month and Rogers Park a day: within
    # those days the community area tells all, but three days cannot check it.
    draw = random.Random(3)
    history = []
    for i in range(400):
        filed = START + timedelta(days=i % 3, minutes=i)
        took = draw.uniform(28, 32) if i % 2 else draw.uniform(0.5, 1.5)
        history.append(
            PastRequest("PHF", filed, filed + timedelta(days=took), "32" if i % 2 else "1")
        )
    history.sort(key=lambda r: r.requested_at)
    learned = learn(history, {"PHF": ServiceFacts("Transportation and Streets", 7.0)}, CHICAGO)
    assert list(learned.slices) == [
        Key(Scope.SERVICE, "PHF"),
        Key(Scope.GROUP, "Transportation and Streets"),
    ]
    whole = learned.slices[Key(Scope.SERVICE, "PHF")]
    assert whole.calibrated is None
    at = START + timedelta(days=10)
    prediction = predict(learned, Circumstances("PHF", at, "32", 0), None, CHICAGO)
    assert prediction is not None
    assert (prediction.p10, prediction.p90, prediction.basis) == (whole.p10, whole.p90, "service")


# --- stored and served, on both backends --------------------------------------------------


def history_rows(history: list[PastRequest]) -> list[dict[str, object]]:
    return [
        {
            "service_code": r.service_code,
            "requested_at": r.requested_at,
            "days": r.days_to_close,
            "community_area": r.community_area,
        }
        for r in history
    ]


def stored(app, code: str) -> ResolutionQuantiles:
    with app.app_context():
        return db.session.scalars(
            sa.select(ResolutionQuantiles).where(
                ResolutionQuantiles.scope_key == code, ResolutionQuantiles.segment_kind == ""
            )
        ).one()


def test_learn_estimates_stores_the_calibrated_range_and_estimates_use_it(app):
    history = [r for r in drifting(0) if r.requested_at < START + timedelta(days=TRAINING_DAYS)]
    add_history(app, history_rows(history))
    result = app.test_cli_runner().invoke(args=["open311", "learn-estimates"])
    assert result.exit_code == 0, result.output
    assert "calibrated on their own later requests: 1," in result.output
    row = stored(app, "PHF")
    assert row.calibrated_by == "service"
    # The drift makes later requests slower: the calibrated top sits above the one observed.
    assert row.calibrated_p90 > row.p90
    at = START + timedelta(days=TRAINING_DAYS + 1)
    estimate = estimated(app, Filed("PHF", at), at)
    assert estimate.basis == "service"
    assert days_after(estimate.p50, at) == pytest.approx(row.p50, abs=1e-3)
    assert days_after(estimate.p10, at) == pytest.approx(row.calibrated_p10, abs=1e-3)
    assert days_after(estimate.p90, at) == pytest.approx(row.calibrated_p90, abs=1e-3)


def test_a_service_checked_on_too_few_days_borrows_its_groups_widening_outward_only(app):
    add_service(app, "PHB", "Transportation and Streets")  # PHF's group
    history = [r for r in drifting(1) if r.requested_at < START + timedelta(days=TRAINING_DAYS)]
    thin = [  # 24 requests, one a day: its later quarter spans six days
        {"service_code": "PHB", "requested_at": START + timedelta(days=i), "days": 1.0 + i % 4}
        for i in range(24)
    ]
    add_history(app, [*history_rows(history), *thin])
    result = app.test_cli_runner().invoke(args=["open311", "learn-estimates"])
    assert result.exit_code == 0, result.output
    assert (
        "calibrated on their own later requests: 1, borrowed from their group: 1," in result.output
    )
    phf, phb = stored(app, "PHF"), stored(app, "PHB")
    assert (phf.calibrated_by, phb.calibrated_by) == ("service", "group")
    # PHF's later requests missed its top: PHB's top moves out by as much (on
    # log(1 + days)); a move inward at the bottom is not lent.
    assert phb.calibrated_p90 > phb.p90
    assert phb.calibrated_p10 <= phb.p10
