"""Check the estimates against what happened: learn before a date, predict after it.

Every request filed before `split` is history: the quantiles are learned
from those of them that closed (whenever they closed, as the issue asks).
Every request filed on or after `split` that has closed is predicted as if
at its filing: with the backlog of its service at that moment (requests
filed before it and not closed by then) and no knowledge of later ones.

Beside ours, the naive estimate a static table gives: the service's own
median, and its 10th-90th percentile as the range, with no segments and no
fallback. Per service and overall: how many were predicted, the share whose
actual closing fell inside the range (coverage: near 80% when the range is
honest), and the median absolute error of the median, in days.

And a yardstick no estimator can have: hindsight, each service's 10th-90th
percentile of its tested requests' own closings. Where many close at the same
moment (311 information calls: the instant they are logged) even that range
holds far more than eight in ten, so an overall coverage is read beside it.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from zoneinfo import ZoneInfo

from open311.estimates.history import Backlog, PastRequest, ServiceFacts
from open311.estimates.model import Circumstances, Prediction, learn, predict, quantiles

OVERALL = "overall"
# The requests both estimators predicted (services with history of their own):
# ours and the naive median compared on the very same requests.
SAME_REQUESTS = "same reqs"
# Services whose requests closed within the hour at the median before the
# split (311 information calls, aircraft noise: logged and closed at once).
# Their range is a point at zero that always holds, and they are many, so
# they flatter any overall coverage: each total is also given without them.
INSTANT_DAYS = 1 / 24
NOT_INSTANT = ", not instant"
TOTALS = (SAME_REQUESTS, SAME_REQUESTS + NOT_INSTANT, OVERALL, OVERALL + NOT_INSTANT)


@dataclass
class Scores:
    """How one estimator did on some requests."""

    covered: list[bool] = field(default_factory=list)  # inside the range, for those with one
    errors: list[float] = field(default_factory=list)  # |actual - median| in days

    def add(self, prediction: Prediction | None, actual: float) -> None:
        if prediction is None:
            return
        self.errors.append(abs(actual - prediction.p50))
        if prediction.p10 is not None and prediction.p90 is not None:
            self.covered.append(prediction.p10 <= actual <= prediction.p90)

    @property
    def n(self) -> int:
        return len(self.errors)

    @property
    def coverage(self) -> float | None:
        return sum(self.covered) / len(self.covered) if self.covered else None

    @property
    def median_error(self) -> float | None:
        return statistics.median(self.errors) if self.errors else None


@dataclass
class Line:
    """One service (or the overall line) of the report."""

    tested: int = 0  # closed requests filed on or after the split
    ours: Scores = field(default_factory=Scores)
    naive: Scores = field(default_factory=Scores)
    hindsight: Scores = field(default_factory=Scores)  # the tested requests' own range
    bases: Counter[str] = field(default_factory=Counter)


@dataclass
class BacktestReport:
    split: datetime
    trained_on: int  # closed requests filed before the split
    lines: dict[str, Line]  # by service_code, and the TOTALS
    instant: list[str]  # the services left out of the totals "not instant"


def backtest(
    history: Iterable[PastRequest],
    catalogue: Mapping[str, ServiceFacts],
    split: datetime,
    time_zone: ZoneInfo,
) -> BacktestReport:
    """Run the backtest over `history`, sorted by service_code (resolution_history's order)."""
    everything = list(history)
    before = [r for r in everything if r.requested_at < split]
    learned = learn(before, catalogue, time_zone)
    lines: dict[str, Line] = defaultdict(Line)
    instant = []
    for code, rows in groupby(everything, key=lambda r: r.service_code):
        requests = list(rows)
        naive = learned.service(code)
        if naive is not None and naive.p50 < INSTANT_DAYS:
            instant.append(code)
        totals = _totals(naive is not None, code in instant)
        tested = list(_tested(requests, split))
        if not tested:
            continue
        hindsight = Prediction(*quantiles([actual for _, actual in tested]), "hindsight")
        for at_filing, actual in tested:
            ours = predict(learned, at_filing, catalogue.get(code), time_zone)
            plain = Prediction(naive.p10, naive.p50, naive.p90, "service") if naive else None
            for line in (lines[code], *(lines[total] for total in totals)):
                line.tested += 1
                line.ours.add(ours, actual)
                line.naive.add(plain, actual)
                line.hindsight.add(hindsight, actual)
                line.bases[ours.basis if ours else "none"] += 1
    trained_on = sum(1 for r in before if r.closed_at is not None)
    return BacktestReport(split, trained_on, dict(lines), instant)


def _tested(requests: list[PastRequest], split: datetime) -> Iterator[tuple[Circumstances, float]]:
    """One service's closed requests filed on or after the split, each as it
    stood when filed (the backlog of its service then), with its actual days."""
    backlog = Backlog(requests)
    for request in requests:
        actual = request.days_to_close
        if request.requested_at >= split and actual is not None:
            open_then = backlog.open_at(request.requested_at)
            circumstances = Circumstances(
                request.service_code, request.requested_at, request.community_area, open_then
            )
            yield circumstances, actual


def _totals(naive: bool, instant: bool) -> list[str]:
    """The total lines a service's requests count in."""
    totals = [OVERALL] + ([SAME_REQUESTS] if naive else [])
    return totals + ([] if instant else [total + NOT_INSTANT for total in totals])


def report_lines(report: BacktestReport) -> list[str]:
    """The report as a fixed-width table: ours beside the naive per-type median."""
    header = (
        f"{'service':<22} {'tested':>6} | {'ours n':>6} {'cover':>6} {'MdAE d':>7} | "
        f"{'naive n':>7} {'cover':>6} {'MdAE d':>7} | {'hindsight':>9} | bases"
    )
    out = [header, "-" * len(header)]
    codes = sorted(code for code in report.lines if code not in TOTALS)
    for code in [*codes, *TOTALS]:
        line = report.lines.get(code)
        if line is not None:
            out.append(_row(code, line))
    instant = ", ".join(report.instant) or "none"
    out.append(f"instant (median under an hour before the split): {instant}")
    return out


def _row(code: str, line: Line) -> str:
    bases = ", ".join(f"{basis} {count}" for basis, count in line.bases.most_common())
    return (
        f"{code:<22} {line.tested:>6} | {line.ours.n:>6} {_share(line.ours.coverage):>6} "
        f"{_days(line.ours.median_error):>7} | {line.naive.n:>7} {_share(line.naive.coverage):>6} "
        f"{_days(line.naive.median_error):>7} | {_share(line.hindsight.coverage):>9} | {bases}"
    )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
