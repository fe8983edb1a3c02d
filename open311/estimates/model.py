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

Every range is calibrated on requests it did not learn from (calibration.py):
a service's on its own later requests when they span MIN_LATER_DAYS filing
days (_learn_and_check), else with what its group's or every service's
later requests showed (_lend_calibration); a group's on its own services,
each predicted from the others (_learn_groups). A range nothing could check
is given as observed for a service, and not at all for a group.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import groupby, pairwise
from typing import Final, NamedTuple, TypeGuard
from zoneinfo import ZoneInfo

from open311.estimates.calibration import (
    Calibrated,
    Miss,
    Widening,
    conformal_widening,
    miss,
    outward,
    pooled_widening,
    widen,
)
from open311.estimates.history import Backlog, PastRequest, ServiceFacts
from open311.models import Scope

MIN_SERVICE: Final = 20  # closed requests for a service's own quantiles
MIN_GROUP: Final = 20  # closed requests in a group, for its services without history
MIN_SEGMENT: Final = 30  # closed requests in one segment of a service
MIN_LIFT: Final = 0.05  # how much better a kind of segment must predict (_telling_kinds)
FIT_SHARE: Final = 0.75  # judging a kind, calibrating: learn from the earliest 75%, score the rest
# Distinct filing days the later 25% must span to judge a kind of segment or to
# calibrate a service's range on its own (_filing_days).
MIN_LATER_DAYS: Final = 20
# Services, each predicted from the rest of its group, needed to calibrate the
# group's range; with fewer, every group's are pooled (_learn_groups).
MIN_POOL_SERVICES: Final = 3
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
    """Days to close of one slice of the history, as observed (not widened)."""

    n: int
    p10: float
    p50: float
    p90: float
    lift: float | None = None  # segments: how telling their kind is (_telling_kinds)
    usual_backlog: float | None = None  # whole services with segments: their usual number open
    calibrated: Calibrated | None = None  # the range to give, when it could be checked


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
            and compares_backlog(whole.usual_backlog)
            and any(key[:3] == (Scope.SERVICE, code, "backlog") for key in self.slices)
        )


def quantiles(days: Sequence[float]) -> tuple[float, float, float]:
    """The 10th, 50th and 90th percentile, interpolated linearly between the data
    (numpy's and R's default); the same on every backend, as it runs in Python."""
    ordered = sorted(days)
    low, median, high = (_interpolated(ordered, share) for share in PERCENTILES)
    return low, median, high


def _interpolated(ordered: Sequence[float], share: float) -> float:
    # a + (b - a) * f rather than statistics.quantiles' (a * (n - i) + b * i) / n,
    # which is off by a rounding between equal neighbours: a service whose
    # requests all took 0.01 days must get a range that holds 0.01.
    position = share * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def learn(
    history: Iterable[PastRequest], catalogue: Mapping[str, ServiceFacts], time_zone: ZoneInfo
) -> Learned:
    """Learn from `history`, which must come sorted by service_code (as
    resolution_history gives it); open requests count toward backlogs only.
    Every slice comes with its calibrated range where one could be checked."""
    learned = Learned()
    days_by_group: dict[str, dict[str, list[float]]] = defaultdict(dict)
    checked: dict[str, list[Miss]] = {}
    for code, rows in groupby(history, key=lambda r: r.service_code):
        requests = list(rows)
        closed = [r for r in requests if r.closed_at is not None]
        if code in catalogue:
            days_by_group[catalogue[code].group][code] = _days(closed)
        if len(closed) >= MIN_SERVICE:
            slices, misses = _learn_and_check(code, requests, closed, time_zone)
            learned.slices.update(slices)
            if misses:
                checked[code] = misses
    _lend_calibration(learned, checked, catalogue)
    _learn_groups(learned, days_by_group)
    return learned


def _learn_and_check(
    code: str, requests: Sequence[PastRequest], closed: Sequence[PastRequest], time_zone: ZoneInfo
) -> tuple[dict[Key, Quantiles], list[Miss]]:
    """The service's slices, and how its whole range missed its later requests.

    Split conformal prediction: the segments are chosen and the ranges learned
    from the requests filed before the later ones (the last 1 - FIT_SHARE by
    filing time), checked on the later ones and calibrated there
    (_checked_ranges). The medians are then learned from all of them. Without
    MIN_LATER_DAYS days of later requests nothing can be checked: the
    service's own quantiles as observed, no segments, no misses.
    """
    whole = Quantiles(len(closed), *quantiles(_days(closed)))
    later = _later_from(closed)
    if later < MIN_SERVICE or len(_filing_days(closed[later:], time_zone)) < MIN_LATER_DAYS:
        return {Key(Scope.SERVICE, code): whole}, []
    cut_at = closed[later].requested_at
    earlier = [r for r in requests if r.requested_at < cut_at]
    fitted = Learned(dict(_learn_service(code, earlier, closed[:later], time_zone)))
    backlog = Backlog(requests)
    checks = [(_at_filing(r, backlog), r.days_to_close or 0.0) for r in closed[later:]]
    ranges, misses = _checked_ranges(fitted, code, checks, time_zone)
    slices = _relearned(closed, fitted, backlog, time_zone)
    return {
        key: q._replace(calibrated=ranges[key]) for key, q in slices.items() if key in ranges
    }, misses


Check = tuple[Circumstances, float]  # a later request as it was filed, and its days to close


def _checked_ranges(
    fitted: Learned, code: str, later: Sequence[Check], time_zone: ZoneInfo
) -> tuple[dict[Key, Calibrated], list[Miss]]:
    """The calibrated range of each slice worth keeping, and the whole range's
    misses: the service's range is calibrated on how it missed every later
    request, its segments' as _checked_segments says."""
    whole = fitted.slices[Key(Scope.SERVICE, code)]
    misses = [miss(whole.p10, whole.p90, actual) for _, actual in later]
    whole_range = _calibrated(whole, conformal_widening(misses), "service")
    segment_ranges = _checked_segments(fitted, whole, whole_range, later, time_zone)
    return {Key(Scope.SERVICE, code): whole_range, **segment_ranges}, misses


def _checked_segments(
    fitted: Learned,
    whole: Quantiles,
    whole_range: Calibrated,
    later: Sequence[Check],
    time_zone: ZoneInfo,
) -> dict[Key, Calibrated]:
    """The segments' ranges calibrated on how they missed the later requests
    they predicted; none unless those requests span MIN_LATER_DAYS days and,
    once both ranges are calibrated, the segments still predict them better
    than the service alone: a pinball loss (as in _telling_kinds) lower by
    MIN_LIFT."""
    predicted = [
        (key, circumstances, actual)
        for circumstances, actual in later
        if (key := _best_key(fitted, whole, circumstances, time_zone)).segment_kind
    ]
    moments = (circumstances.requested_at for _, circumstances, _ in predicted)
    if len({moment.astimezone(time_zone).date() for moment in moments}) < MIN_LATER_DAYS:
        return {}
    slices = fitted.slices
    widening = conformal_widening(
        [miss(slices[key].p10, slices[key].p90, actual) for key, _, actual in predicted]
    )
    ranges = {
        key: _calibrated(slice_, widening, "service")
        for key, slice_ in slices.items()
        if key.segment_kind
    }
    by_segments = sum(
        _pinball(_range_of(slices[key], ranges[key]), actual) for key, _, actual in predicted
    )
    alone = sum(_pinball(_range_of(whole, whole_range), actual) for _, _, actual in predicted)
    return ranges if by_segments < (1 - MIN_LIFT) * alone else {}


def _relearned(
    closed: Sequence[PastRequest], fitted: Learned, backlog: Backlog, time_zone: ZoneInfo
) -> dict[Key, Quantiles]:
    """The slices `fitted` found, each learned again from all of `closed`."""
    days = _days(closed)
    code = closed[0].service_code
    usual = fitted.slices[Key(Scope.SERVICE, code)].usual_backlog
    segments = [segments_of(_at_filing(r, backlog), usual, time_zone) for r in closed]
    relearned = {}
    for key, earlier in fitted.slices.items():
        kept = days
        if key.segment_kind:
            kept = [
                d
                for d, segment in zip(days, segments, strict=True)
                if segment.get(key.segment_kind) == key.segment_value
            ]
        p10, p50, p90 = quantiles(kept)
        relearned[key] = earlier._replace(n=len(kept), p10=p10, p50=p50, p90=p90)
    return relearned


def _calibrated(fitted: Quantiles, widening: Widening, by: str) -> Calibrated:
    low, high = widen(fitted.p10, fitted.p90, widening)
    return Calibrated(low, high, by)


def _learn_service(
    code: str, requests: Sequence[PastRequest], closed: Sequence[PastRequest], time_zone: ZoneInfo
) -> Iterator[tuple[Key, Quantiles]]:
    """The service's quantiles and those of its telling segments, as observed."""
    days = _days(closed)
    backlog = Backlog(requests)
    usual = statistics.median(backlog.open_at(r.requested_at) for r in requests)
    yield Key(Scope.SERVICE, code), Quantiles(len(days), *quantiles(days), usual_backlog=usual)
    later = _later_from(closed)
    if len(_filing_days(closed[later:], time_zone)) < MIN_LATER_DAYS:
        return  # too few days to tell a kind of segment from one day's luck
    segments = [segments_of(_at_filing(r, backlog), usual, time_zone) for r in closed]
    for kind, lift in _telling_kinds(days, segments, later).items():
        for value, kept in _by_segment(days, segments, kind).items():
            quantile = Quantiles(len(kept), *quantiles(kept), lift=lift)
            yield Key(Scope.SERVICE, code, kind, value), quantile


def _later_from(closed: Sequence[PastRequest]) -> int:
    """Where a service's later requests start, the ones its learning is judged
    on: the last 1 - FIT_SHARE by filing time, with requests filed at the same
    moment kept on one side."""
    moments = [r.requested_at for r in closed]
    return bisect.bisect_left(moments, moments[int(len(moments) * FIT_SHARE)])


def _filing_days(requests: Iterable[PastRequest], time_zone: ZoneInfo) -> frozenset[date]:
    """The days (the city's) the requests were filed on. Requests filed the same
    day share crews, weather, holidays and backlog, across services too: a
    slice's evidence grows with its days more than with its requests."""
    return frozenset(r.requested_at.astimezone(time_zone).date() for r in requests)


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
    days: Sequence[float], segments: Sequence[Mapping[str, str]], later: int
) -> dict[str, float]:
    """The kinds of segment that predict the service's later requests better than
    the service alone, with their lift (1 - their loss / the service's loss).

    Judged out of time, as the backtest judges: learned from the closed
    requests before `later` (by filing time), scored on the rest by the
    quantile (pinball) loss of all three percentiles on log(1 + days), so a
    kind must place the median and both ends of the range better, and a
    day's miss counts more on a one-day job than on a sixty-day one. A kind
    that only fits its own history in narrower slices is left out.
    """
    if later == 0 or len(days) - later < MIN_SEGMENT:
        return {}
    base = quantiles(days[:later])
    base_loss = sum(_pinball(base, day) for day in days[later:])
    if base_loss == 0:
        return {}
    telling = {}
    for kind in SEGMENT_KINDS:
        earlier = _by_segment(days[:later], segments[:later], kind)
        fitted = {value: quantiles(d) for value, d in earlier.items()}
        loss = sum(
            _pinball(fitted.get(segment.get(kind, ""), base), day)
            for day, segment in zip(days[later:], segments[later:], strict=True)
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
    if compares_backlog(usual_backlog):
        found["backlog"] = backlog_level(circumstances.open_requests, usual_backlog)
    return found


def compares_backlog(usual_backlog: float | None) -> TypeGuard[float]:
    """Whether a service's backlog is busy enough to be compared with its usual level."""
    return usual_backlog is not None and usual_backlog >= MIN_USUAL_BACKLOG


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
        if group.calibrated is None:  # other services' range, unchecked: the median only
            return Prediction(None, group.p50, None, "group")
        return Prediction(*_range_of(group, group.calibrated), "group")
    if facts is not None and facts.target_days is not None:
        return Prediction(None, facts.target_days, None, "target")
    return None


def _from_service(
    learned: Learned, whole: Quantiles, circumstances: Circumstances, time_zone: ZoneInfo
) -> Prediction:
    key = _best_key(learned, whole, circumstances, time_zone)
    chosen = learned.slices[key]
    basis = f"service+{key.segment_kind}" if key.segment_kind else "service"
    return Prediction(*_range_of(chosen, chosen.calibrated), basis)


def _best_key(
    learned: Learned, whole: Quantiles, circumstances: Circumstances, time_zone: ZoneInfo
) -> Key:
    """The service's most telling segment that has the request's, else the service."""
    segments = segments_of(circumstances, whole.usual_backlog, time_zone)
    code = circumstances.service_code
    found = [
        (key, quantile)
        for kind, value in segments.items()
        if (quantile := learned.slices.get(key := Key(Scope.SERVICE, code, kind, value)))
    ]
    if not found:
        return Key(Scope.SERVICE, code)
    return max(found, key=lambda pair: pair[1].lift or 0.0)[0]


def _range_of(chosen: Quantiles, calibrated: Calibrated | None) -> tuple[float, float, float]:
    """The slice's median with its calibrated range, or the range as observed
    when nothing could check it; the range always holds the median."""
    if calibrated is None:
        return chosen.p10, chosen.p50, chosen.p90
    return min(calibrated.p10, chosen.p50), chosen.p50, max(calibrated.p90, chosen.p50)


# --- calibration for services and groups that cannot be checked on their own ----------


def _lend_calibration(
    learned: Learned, checked: Mapping[str, Sequence[Miss]], catalogue: Mapping[str, ServiceFacts]
) -> None:
    """A service whose later requests were too few to check its range borrows
    the widening of the services of its group that were checked ("group"),
    else of all of them ("all"), their misses pooled; never a narrowing: what
    other services' later requests showed may be a drift this one shares,
    not a sign that its own range is too wide. Without any: as observed."""
    in_group: dict[str, dict[str, Sequence[Miss]]] = defaultdict(dict)
    for code, misses in checked.items():
        if code in catalogue:
            in_group[catalogue[code].group][code] = misses
    everyone = outward(pooled_widening(checked)) if checked else None
    for key, whole in list(learned.slices.items()):
        if key.scope is not Scope.SERVICE or key.scope_key in checked or key.segment_kind:
            continue
        group = catalogue[key.scope_key].group if key.scope_key in catalogue else ""
        if siblings := in_group.get(group):
            calibrated = _calibrated(whole, outward(pooled_widening(siblings)), "group")
        elif everyone is not None:
            calibrated = _calibrated(whole, everyone, "all")
        else:
            continue
        learned.slices[key] = whole._replace(calibrated=calibrated)


def _learn_groups(learned: Learned, days_by_group: Mapping[str, Mapping[str, list[float]]]) -> None:
    """Each group's quantiles, for its services without history of their own,
    calibrated the way they are used: each of its services with MIN_SERVICE
    closed requests predicted from the others' (leave one service out), their
    misses pooled; every group's pooled when a group has fewer than
    MIN_POOL_SERVICES such services; left without a range (the median only)
    when fewer than that exist at all, as nothing checked it."""
    held_out: dict[str, dict[str, list[Miss]]] = {}
    for group, by_service in days_by_group.items():
        pooled = [day for days in by_service.values() for day in days]
        if len(pooled) >= MIN_GROUP:
            learned.slices[Key(Scope.GROUP, group)] = Quantiles(len(pooled), *quantiles(pooled))
            held_out[group] = _misses_from_the_others(by_service)
    every_service = {
        f"{group}/{code}": found
        for group, found_by in held_out.items()
        for code, found in found_by.items()
    }
    everyone = pooled_widening(every_service) if len(every_service) >= MIN_POOL_SERVICES else None
    for group, found_by in held_out.items():
        key = Key(Scope.GROUP, group)
        if len(found_by) >= MIN_POOL_SERVICES:
            calibrated = _calibrated(learned.slices[key], pooled_widening(found_by), "group")
        elif everyone is not None:
            calibrated = _calibrated(learned.slices[key], everyone, "all")
        else:
            continue
        learned.slices[key] = learned.slices[key]._replace(calibrated=calibrated)


def _misses_from_the_others(by_service: Mapping[str, list[float]]) -> dict[str, list[Miss]]:
    """Per service with MIN_SERVICE closings: how the range of the group's
    other services (with MIN_GROUP closings) missed them."""
    found = {}
    for code, days in by_service.items():
        others = [day for other, d in by_service.items() if other != code for day in d]
        if len(days) >= MIN_SERVICE and len(others) >= MIN_GROUP:
            low, _median, high = quantiles(others)
            found[code] = [miss(low, high, day) for day in days]
    return found


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
