"""Calibrating a range: how far its ends must move to hold what they promise.

A range learned as the 10th-90th percentile of past closings covers less
than 80% of later ones when its history is small or the service drifts, and
more when later requests are steadier than its history. So a range is
checked on requests it did not learn from, filed after the ones it learned
from, as split conformal prediction does (conformalised quantile regression,
each end on its own): for each such request, how far on log(1 + days) its
closing fell below the low end (`Miss.low`) or above the high end
(`Miss.high`), negative when inside. Each end then moves by the conformal
(1 - TAIL) quantile of its misses, so that a share TAIL of like requests
should fall beyond it: out when the range was too narrow, in when it was
wider than later requests needed.

Pure functions; model.py decides which ranges are checked on which requests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, NamedTuple

TAIL: Final = 0.1  # the share meant to close before p10, and the share after p90


class Miss(NamedTuple):
    """How far, on log(1 + days), a closing fell outside each end (negative: inside)."""

    low: float
    high: float


class Widening(NamedTuple):
    """How far a range's ends move out on log(1 + days); negative moves them in."""

    low: float
    high: float


class Calibrated(NamedTuple):
    """A range's ends once moved, in days, and whose misses moved them (README)."""

    p10: float
    p90: float
    by: str  # "service", "group" or "all"


def miss(p10: float, p90: float, actual: float) -> Miss:
    truth = math.log1p(actual)
    return Miss(math.log1p(p10) - truth, truth - math.log1p(p90))


def conformal_widening(misses: Sequence[Miss]) -> Widening:
    """Each end's move: the ceil((1 - TAIL)(n + 1))-th smallest of its n misses,
    split conformal's rank, which keeps at least 1 - TAIL of a later request
    like these inside that end when the requests are exchangeable."""
    rank = min(len(misses), math.ceil((1 - TAIL) * (len(misses) + 1)))
    lows = sorted(m.low for m in misses)
    highs = sorted(m.high for m in misses)
    return Widening(lows[rank - 1], highs[rank - 1])


def pooled_widening(misses_by_service: Mapping[str, Sequence[Miss]]) -> Widening:
    """Each end's (1 - TAIL) quantile of the misses of several services, each
    service weighing the same however many requests it has: how far a
    service like them, but without its own calibration, should move."""
    weighted = [(one, 1 / len(misses)) for misses in misses_by_service.values() for one in misses]
    low = _weighted_quantile(((m.low, w) for m, w in weighted), 1 - TAIL)
    high = _weighted_quantile(((m.high, w) for m, w in weighted), 1 - TAIL)
    return Widening(low, high)


def outward(widening: Widening) -> Widening:
    """The widening's outward moves only."""
    return Widening(max(widening.low, 0.0), max(widening.high, 0.0))


def _weighted_quantile(values: Iterable[tuple[float, float]], share: float) -> float:
    """The smallest value with at least `share` of the total weight at or below it."""
    ordered = sorted(values)
    total = sum(weight for _, weight in ordered)
    reached = 0.0
    for value, weight in ordered:
        reached += weight
        if reached >= share * total - 1e-12:
            return value
    return ordered[-1][0]


def widen(p10: float, p90: float, widening: Widening) -> tuple[float, float]:
    """The range's ends moved by `widening`, never below 0 days nor crossed."""
    low = max(_moved(p10, -widening.low), 0.0)
    high = _moved(p90, widening.high)
    return min(low, high), max(low, high)


def _moved(days: float, by: float) -> float:
    # Unmoved ends stay exact: a closing that equals one still falls inside.
    return days if by == 0 else math.expm1(math.log1p(days) + by)
