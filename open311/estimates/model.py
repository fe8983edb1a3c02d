"""Learning and predicting days to close: pure functions over the history, no database.

Per service, the 10th, 50th and 90th percentile of the days its closed
requests took, and the same per segment of the service: the request's
community area, its month (season), its day of the week, and the service's
backlog when it was filed (open requests then, against the service's usual
level). A segment counts only with MIN_SEGMENT requests behind it, and a kind
of segment only if it predicts the service's later requests better than the
service alone (_telling_kinds); a prediction takes the service's most
telling kind that has the request's segment. Where history is thin, the
fallbacks, in order: service+segment → service → catalogue group → the
catalogue's target_days → nothing.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby, pairwise
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from open311.estimates.history import Backlog, PastRequest, ServiceFacts
from open311.models import Scope

MIN_SERVICE: Final = 20  # closed requests for a service's own quantiles
MIN_GROUP: Final = 20  # closed requests in a group, for its services without history
MIN_SEGMENT: Final = 30  # closed requests in one segment of a service
MIN_LIFT: Final = 0.05  # how much better a kind of segment must predict (_telling_kinds)
FIT_SHARE: Final = 0.75  # judging a kind: learn from the earliest 75%, score the rest
PERCENTILES: Final = (0.1, 0.5, 0.9)
# Backlog levels: open requests against the service's usual number (the median
# number open when one of its requests was filed).
BACKLOG_LOW: Final = 2 / 3
BACKLOG_HIGH: Final = 3 / 2
# Below this usual number open, one request more or less swings the ratio:
# the service's backlog is not compared with its usual level.
MIN_USUAL_BACKLOG: Final = 10
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEGMENT_KINDS: Final = ("community_area", "month", "weekday", "backlog")


class Quantiles(NamedTuple):
    """Days to close of one slice of the history."""

    n: int
    p10: float
    p50: float
    p90: float
    lift: float | None = None  # segments: how telling their kind is (_telling_kinds)
    usual_backlog: float | None = None  # whole services: their usual number open


class Key(NamedTuple):
    scope: Scope
    scope_key: str
    segment_kind: str = ""
    segment_value: str = ""


@dataclass(frozen=True)
class Prediction:
    """Days from filing to closing; p10 and p90 are None when there is no range."""

    p10: float | None
    p50: float
    p90: float | None
    basis: str


@dataclass(frozen=True)
class Circumstances:
    """What a prediction looks at: the request and how busy its service is."""

    service_code: str
    requested_at: datetime
    community_area: str | None
    open_requests: int  # the service's requests open when this one is predicted


@dataclass
class Learned:
    """Every slice with enough history, by Key."""

    slices: dict[Key, Quantiles] = field(default_factory=dict)

    def service(self, code: str) -> Quantiles | None:
        return self.slices.get(Key(Scope.SERVICE, code))

    def reads_backlog(self, code: str) -> bool:
        """Whether a prediction for the service looks at its backlog (a kept segment)."""
        whole = self.service(code)
        return (
            whole is not None
            and whole.usual_backlog is not None
            and whole.usual_backlog >= MIN_USUAL_BACKLOG
            and any(key[:3] == (Scope.SERVICE, code, "backlog") for key in self.slices)
        )


def quantiles(days: Sequence[float]) -> tuple[float, float, float]:
    """The 10th, 50th and 90th percentile, interpolated linearly between the data
    (numpy's and R's default); the same on every backend, as it runs in Python."""
    if len(days) == 1:
        return days[0], days[0], days[0]
    deciles = statistics.quantiles(days, n=10, method="inclusive")
    return deciles[0], deciles[4], deciles[8]


def learn(
    history: Iterable[PastRequest], catalogue: Mapping[str, ServiceFacts], time_zone: ZoneInfo
) -> Learned:
    """Learn from `history`, which must come sorted by service_code (as
    resolution_history gives it); open requests count toward backlogs only."""
    learned = Learned()
    group_days: dict[str, list[float]] = defaultdict(list)
    for code, rows in groupby(history, key=lambda r: r.service_code):
        requests = list(rows)
        closed = [r for r in requests if r.closed_at is not None]
        if code in catalogue:
            group_days[catalogue[code].group].extend(_days(closed))
        if len(closed) >= MIN_SERVICE:
            learned.slices.update(_learn_service(code, requests, closed, time_zone))
    for group, days in group_days.items():
        if len(days) >= MIN_GROUP:
            learned.slices[Key(Scope.GROUP, group)] = Quantiles(len(days), *quantiles(days))
    return learned


def _learn_service(
    code: str, requests: Sequence[PastRequest], closed: Sequence[PastRequest], time_zone: ZoneInfo
) -> Iterator[tuple[Key, Quantiles]]:
    days = _days(closed)
    backlog = Backlog(requests)
    usual = statistics.median(backlog.open_at(r.requested_at) for r in requests)
    yield Key(Scope.SERVICE, code), Quantiles(len(days), *quantiles(days), usual_backlog=usual)
    segments = [segments_of(_at_filing(r, backlog), usual, time_zone) for r in closed]
    for kind, lift in _telling_kinds(days, segments).items():
        for value, kept in _by_segment(days, segments, kind).items():
            quantile = Quantiles(len(kept), *quantiles(kept), lift=lift)
            yield Key(Scope.SERVICE, code, kind, value), quantile


def _at_filing(request: PastRequest, backlog: Backlog) -> Circumstances:
    return Circumstances(
        request.service_code,
        request.requested_at,
        request.community_area,
        backlog.open_at(request.requested_at),
    )


def _by_segment(
    days: Sequence[float], segments: Sequence[Mapping[str, str]], kind: str
) -> dict[str, list[float]]:
    """The days of each of the kind's segments that has MIN_SEGMENT requests."""
    by_value: dict[str, list[float]] = defaultdict(list)
    for day, segment in zip(days, segments, strict=True):
        if kind in segment:
            by_value[segment[kind]].append(day)
    return {value: d for value, d in by_value.items() if len(d) >= MIN_SEGMENT}


def _telling_kinds(
    days: Sequence[float], segments: Sequence[Mapping[str, str]]
) -> dict[str, float]:
    """The kinds of segment that predict the service's later requests better than
    the service alone, with their lift (1 - their loss / the service's loss).

    Judged out of time, as the backtest judges: learned from the first
    FIT_SHARE of the closed requests (by filing time), scored on the rest by
    the quantile (pinball) loss of all three percentiles on log(1 + days), so
    a kind must place the median and both ends of the range better, and a
    day's miss counts more on a one-day job than on a sixty-day one. A kind
    that only fits its own history in narrower slices is left out.
    """
    cut = int(len(days) * FIT_SHARE)
    if len(days) - cut < MIN_SEGMENT:
        return {}
    base = quantiles(days[:cut])
    base_loss = sum(_pinball(base, day) for day in days[cut:])
    if base_loss == 0:
        return {}
    telling = {}
    for kind in SEGMENT_KINDS:
        fitted = {v: quantiles(d) for v, d in _by_segment(days[:cut], segments[:cut], kind).items()}
        loss = sum(
            _pinball(fitted.get(segment.get(kind, ""), base), day)
            for day, segment in zip(days[cut:], segments[cut:], strict=True)
        )
        if (lift := 1 - loss / base_loss) >= MIN_LIFT:
            telling[kind] = lift
    return telling


def _pinball(predicted: tuple[float, float, float], actual: float) -> float:
    """The quantile loss of a (p10, p50, p90) prediction, on log(1 + days)."""
    truth = math.log1p(actual)
    loss = 0.0
    for share, days in zip(PERCENTILES, predicted, strict=True):
        miss = truth - math.log1p(days)
        loss += max(share * miss, (share - 1) * miss)
    return loss


def _days(closed: Iterable[PastRequest]) -> list[float]:
    return [d for r in closed if (d := r.days_to_close) is not None]


def segments_of(
    circumstances: Circumstances, usual_backlog: float | None, time_zone: ZoneInfo
) -> dict[str, str]:
    """The request's segment of each kind; month and weekday in the city's time."""
    local = circumstances.requested_at.astimezone(time_zone)
    found = {"month": str(local.month), "weekday": WEEKDAYS[local.weekday()]}
    if circumstances.community_area:
        found["community_area"] = circumstances.community_area
    if usual_backlog is not None and usual_backlog >= MIN_USUAL_BACKLOG:
        found["backlog"] = backlog_level(circumstances.open_requests, usual_backlog)
    return found


def backlog_level(open_requests: int, usual: float) -> str:
    if open_requests < usual * BACKLOG_LOW:
        return "low"
    if open_requests > usual * BACKLOG_HIGH:
        return "high"
    return "usual"


def predict(
    learned: Learned,
    circumstances: Circumstances,
    facts: ServiceFacts | None,
    time_zone: ZoneInfo,
) -> Prediction | None:
    """Days to close, from the most specific basis with enough history."""
    whole = learned.service(circumstances.service_code)
    if whole is not None:
        return _from_service(learned, whole, circumstances, time_zone)
    if facts is not None and (group := learned.slices.get(Key(Scope.GROUP, facts.group))):
        return Prediction(group.p10, group.p50, group.p90, "group")
    if facts is not None and facts.target_days is not None:
        return Prediction(None, facts.target_days, None, "target")
    return None


def _from_service(
    learned: Learned, whole: Quantiles, circumstances: Circumstances, time_zone: ZoneInfo
) -> Prediction:
    segments = segments_of(circumstances, whole.usual_backlog, time_zone)
    code = circumstances.service_code
    found = [
        (kind, quantile)
        for kind, value in segments.items()
        if (quantile := learned.slices.get(Key(Scope.SERVICE, code, kind, value)))
    ]
    if not found:
        return Prediction(whole.p10, whole.p50, whole.p90, "service")
    kind, best = max(found, key=lambda pair: pair[1].lift or 0.0)
    return Prediction(best.p10, best.p50, best.p90, f"service+{kind}")


# --- a prediction for a request that has been open a while -------------------------


def given_open_for(prediction: Prediction, elapsed: float) -> Prediction:
    """The prediction for a request still open after `elapsed` days.

    The distribution is the one the three percentiles describe: linear between
    0, p10, p50 and p90, and beyond p90 a tail whose remaining share falls by
    the same factor (5) every p90 - p50 days as it did from p50 to p90. The
    percentiles of what is left of it are then taken from `elapsed` on.
    """
    if elapsed <= 0 or prediction.p10 is None or prediction.p90 is None:
        return prediction
    knots = ((0.0, 0.0), (0.1, prediction.p10), (0.5, prediction.p50), (0.9, prediction.p90))
    scale = max(prediction.p90 - prediction.p50, 1 / 24) / math.log(5)
    passed = _share_closed_by(knots, scale, elapsed)

    def at(share: float) -> float:
        return max(elapsed, _days_at_share(knots, scale, passed + share * (1 - passed)))

    return Prediction(at(0.1), at(0.5), at(0.9), prediction.basis)


Knots = tuple[tuple[float, float], ...]  # (share closed, days), increasing


def _share_closed_by(knots: Knots, scale: float, days: float) -> float:
    last_share, last_days = knots[-1]
    if days >= last_days:
        return 1 - (1 - last_share) * math.exp(-(days - last_days) / scale)
    for (share_a, days_a), (share_b, days_b) in pairwise(knots):
        if days_a <= days < days_b:
            return share_a + (share_b - share_a) * (days - days_a) / (days_b - days_a)
    return last_share  # not reached: days < last_days falls in some interval


def _days_at_share(knots: Knots, scale: float, share: float) -> float:
    last_share, last_days = knots[-1]
    if share >= last_share:
        return last_days + scale * math.log((1 - last_share) / max(1 - share, 1e-12))
    for (share_a, days_a), (share_b, days_b) in pairwise(knots):
        if share_a <= share < share_b:
            return days_a + (days_b - days_a) * (share - share_a) / (share_b - share_a)
    return last_days
