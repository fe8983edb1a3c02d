"""The order-statistic interval for a median: ranks against published tables and coverage."""

from __future__ import annotations

import math
import random

import pytest

from open311.estimates.median_interval import (
    EXACT_UP_TO,
    MIN_REQUESTS,
    MedianInterval,
    compared_with,
    from_ranked,
    interval_rank,
    ranks,
    returned,
)


def coverage(n: int, k: int) -> float:
    """P(x_(k) ≤ median ≤ x_(n+1-k)) = 1 - 2·P(Binomial(n, 1/2) ≤ k - 1), in exact fractions."""
    below = sum(math.comb(n, j) for j in range(k))
    return 1 - 2 * below / 2**n


# n → k from the usual tables of the sign-test interval at 95 % (two-sided).
@pytest.mark.parametrize(
    ("n", "k"), [(6, 1), (8, 1), (9, 2), (10, 2), (20, 6), (30, 10), (100, 40)]
)
def test_ranks_match_the_tables(n: int, k: int) -> None:
    assert interval_rank(n) == k


def test_too_few_for_any_interval() -> None:
    # With five values, all five on one side of the median happens 2/32 > 5 % of the time.
    assert interval_rank(5) is None
    assert ranks(5).lower is None
    assert interval_rank(0) is None


@pytest.mark.parametrize("n", range(6, 120))
def test_each_rank_is_the_widest_that_keeps_the_confidence(n: int) -> None:
    k = interval_rank(n)
    assert k is not None
    assert coverage(n, k) >= 0.95
    assert coverage(n, k + 1) < 0.95


def test_the_approximation_takes_over_within_one_rank() -> None:
    exact_past = EXACT_UP_TO + 1
    approximate = interval_rank(exact_past)
    assert approximate is not None
    # Found by the exact sum, one value on: the two methods agree within a rank.
    k = interval_rank(EXACT_UP_TO)
    assert k is not None
    assert abs(approximate - k) <= 1
    assert coverage(exact_past, approximate) >= 0.949


def test_other_confidences() -> None:
    assert interval_rank(10, 0.9) == 2  # P(B ≤ 1) = 11/1024, P(B ≤ 2) = 56/1024 > 0.05
    assert interval_rank(10, 0.8) == 3  # P(B ≤ 2) = 56/1024 ≤ 0.1
    with pytest.raises(ValueError, match="confidence"):
        interval_rank(10, 1.5)


def test_median_ranks_odd_and_even() -> None:
    assert (ranks(11).median_low, ranks(11).median_high) == (6, 6)
    assert (ranks(10).median_low, ranks(10).median_high) == (5, 6)
    assert ranks(10).all() == {2, 5, 6, 9}


def test_from_ranked_reads_only_the_values_at_the_ranks() -> None:
    values = sorted(random.Random(7).expovariate(0.2) for _ in range(40))
    wanted = ranks(40)
    found = from_ranked(40, {r: values[r - 1] for r in wanted.all()})
    assert found.median == pytest.approx((values[19] + values[20]) / 2)
    assert (found.low, found.high) == (values[wanted.lower - 1], values[wanted.upper - 1])
    assert found.low <= found.median <= found.high


def test_too_few_requests_show_no_median() -> None:
    assert from_ranked(9, {5: 3.0}) == MedianInterval(9, None, None, None)
    assert from_ranked(7, {4: 3.0, 1: 1.0, 7: 9.0}, minimum=1) == MedianInterval(7, 3.0, 1.0, 9.0)


def test_compared_with_the_city() -> None:
    assert compared_with(MedianInterval(30, 9.0, 8.0, 10.0), 5.0) == "slower"
    assert compared_with(MedianInterval(30, 2.0, 1.0, 3.0), 5.0) == "faster"
    assert compared_with(MedianInterval(30, 5.5, 4.0, 6.0), 5.0) == "similar"
    assert compared_with(MedianInterval(5, 5.5, None, None), 5.0) == "too_few"


def test_the_rows_a_database_returns_hold_the_interval_ranks() -> None:
    for n in range(MIN_REQUESTS, 30_001):
        wanted = ranks(n)
        assert wanted.lower is not None
        assert wanted.upper is not None
        assert returned(n, wanted.lower), n
        assert returned(n, wanted.upper), n
    # And only a band of them: a few hundred of a million.
    assert sum(returned(10**6, r) for r in range(1, 10**6 + 1)) < 600
