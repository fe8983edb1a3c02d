"""The median of a sample and a confidence interval for it, from order statistics only.

Method: the distribution-free (order-statistic) interval for a median. Of n
independent durations, the number B that fall below the true median is
Binomial(n, 1/2) whatever the durations' distribution (skewed, as times to
close are, with long tails). So [x_(k), x_(n+1-k)], the k-th smallest and k-th
largest, covers the true median with probability 1 - 2·P(B ≤ k - 1); k is the
largest rank that keeps this at least the confidence asked for. No bootstrap,
no assumption of a shape, and only ranks are needed: the database sorts and
picks the few values at those ranks (open311/workflow/dashboard.py), this
module says which ranks.

P(B ≤ k - 1) is summed exactly in integers up to EXACT_UP_TO requests; past
that the normal approximation of the binomial (with its continuity
correction) gives the same rank or one beside it, at a fraction of the cost.
Below MIN_REQUESTS an area has no median shown: with so few, one request
decides it and the interval spans nearly everything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist

CONFIDENCE = 0.95
MIN_REQUESTS = 10
EXACT_UP_TO = 5000
# Which rows a database returns so that the interval's ranks are among them, without
# knowing them in advance (one pass: counts and ranks together): every row of a group
# of at most WHOLE_UP_TO, else the rows r with BAND[0]·n ≤ (n + 1 - 2r)² ≤ BAND[1]·n, a
# z between 1.73 and 2.24 around the 1.96 of 95 % (a few hundred rows for a million).
WHOLE_UP_TO = 100
BAND = (3, 5)


@dataclass(frozen=True)
class Ranks:
    """1-based ranks in the sorted sample: the median's one or two, the interval's ends."""

    median_low: int
    median_high: int
    lower: int | None  # None: n too small for any interval at this confidence
    upper: int | None

    def all(self) -> set[int]:
        found = {self.median_low, self.median_high}
        if self.lower is not None and self.upper is not None:
            found |= {self.lower, self.upper}
        return found


@dataclass(frozen=True)
class MedianInterval:
    """The median of `requests` values and its interval; None where too few to say."""

    requests: int
    median: float | None
    low: float | None
    high: float | None


def interval_rank(n: int, confidence: float = CONFIDENCE) -> int | None:
    """The largest k with 2·P(Binomial(n, 1/2) ≤ k - 1) ≤ 1 - confidence; None if none."""
    if not 0 < confidence < 1:
        raise ValueError("confidence is a fraction between 0 and 1")
    if n < 1:
        return None
    alpha = 1 - confidence
    if n > EXACT_UP_TO:
        z = NormalDist().inv_cdf(1 - alpha / 2)
        # P(B ≤ k - 1) ≈ Φ((k - 1 + 1/2 - n/2) / (√n / 2)) = alpha / 2
        k = math.floor(n / 2 + 0.5 - z * math.sqrt(n) / 2)
        return k if k >= 1 else None
    # P(B ≤ j) = Σ C(n, i) / 2^n: compared with alpha / 2 in integers, exactly (2^n
    # overflows a float long before EXACT_UP_TO).
    share = Fraction(alpha).limit_denominator(10**9)
    total = share.numerator << n
    term = 1  # C(n, k), updated in place: math.comb afresh each time is quadratic
    tail = 0
    k = 0
    while k < n:
        tail += term  # now 2^n·P(B ≤ k): may the interval start at rank k + 1?
        if 2 * tail * share.denominator > total:
            break
        term = term * (n - k) // (k + 1)
        k += 1
    return k if k >= 1 else None


def returned(n: int, rank: int) -> bool:
    """Whether a row of rank `rank` in a group of n is among the rows the database returns
    (WHOLE_UP_TO, BAND): the interval's ranks at CONFIDENCE always are (tested)."""
    gap = (n + 1 - 2 * rank) ** 2
    return n <= WHOLE_UP_TO or BAND[0] * n <= gap <= BAND[1] * n


def ranks(n: int, confidence: float = CONFIDENCE) -> Ranks:
    if n < 1:
        raise ValueError("a median needs at least one value")
    k = interval_rank(n, confidence)
    low, high = (n + 1) // 2, n // 2 + 1
    return Ranks(low, high, k, None if k is None else n + 1 - k)


def from_ranked(
    n: int, values: Mapping[int, float], minimum: int = MIN_REQUESTS, confidence: float = CONFIDENCE
) -> MedianInterval:
    """The median and interval of n values, given the values at `ranks(n)` (rank → value)."""
    if n < max(1, minimum):
        return MedianInterval(n, None, None, None)
    wanted = ranks(n, confidence)
    median = (values[wanted.median_low] + values[wanted.median_high]) / 2
    if wanted.lower is None or wanted.upper is None:
        return MedianInterval(n, median, None, None)
    return MedianInterval(n, median, values[wanted.lower], values[wanted.upper])


def compared_with(area: MedianInterval, reference: float | None) -> str:
    """'slower' or 'faster' when the area's interval lies wholly above or below the
    reference median, 'similar' when it holds it, 'too_few' without an interval."""
    if area.low is None or area.high is None or reference is None:
        return "too_few"
    if area.low > reference:
        return "slower"
    if area.high < reference:
        return "faster"
    return "similar"
