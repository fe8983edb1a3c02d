"""Backtest of repeat places and hotspots on the City of Chicago's real requests.

    .venv/bin/python -m bench.patterns_backtest                      # every source below
    .venv/bin/python -m bench.patterns_backtest --repeat-count 2 --seed 1

For each source in ../shared/chicago311 (the 2021 sample of the 311 dataset, the
FOIA no-heat complaints of 2020-21 and the legacy per-type samples of 2011-13) and
each service in it, requests before a split date (the middle of the source's dates
unless --split) are flagged as open311.patterns flags them: repeat places
(actions.repeat_groups: one address key, or points within --repeat-metres, at
least --repeat-count times) and hotspots (actions.hotspots_in_python: DBSCAN with
--eps metres and --min-points, on the same plane as the server). Against them, as
many random places of the same service that had a request before the split and were
not flagged (--seed). Printed per service: how many of each get another request of
the same service after the split (same address key, or within --repeat-metres for a
repeat place; within --eps of the point for a hotspot's points).
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from open311.patterns.actions import Row, Rules, hotspots_in_python, repeat_groups
from open311.patterns.places import python_address_key
from open311.patterns.plane import Plane

# ../shared/chicago311 beside the checkout (a worktree may sit one folder deeper).
SHARED = next(
    (
        folder / "shared" / "chicago311"
        for folder in Path(__file__).resolve().parents[1:]
        if (folder / "shared" / "chicago311").is_dir()
    ),
    Path("shared/chicago311"),
)
PLANE = Plane(-87.68, 41.84)  # the middle of Chicago


@dataclass(frozen=True)
class Source:
    name: str
    rows: list[Row]


def read_sample_2021(path: Path) -> list[Row]:
    rows = []
    with path.open(newline="") as file:
        for index, record in enumerate(csv.DictReader(file)):
            rows.append(
                _row(
                    index,
                    record["sr_short_code"],
                    record["street_address"],
                    record["latitude"],
                    record["longitude"],
                    datetime.fromisoformat(record["created_date"]),
                )
            )
    return rows


def read_no_heat(path: Path) -> list[Row]:
    rows = []
    with path.open(newline="") as file:
        for index, record in enumerate(csv.DictReader(file)):
            if not record["Date/Time Opened"]:
                continue
            when = datetime.strptime(record["Date/Time Opened"], "%m/%d/%Y %I:%M %p")
            rows.append(_row(index, "NOHEAT", record["Street Block"], "", "", when))
    return rows


def read_legacy(path: Path) -> list[Row]:
    rows = []
    with path.open(newline="") as file:
        for index, raw in enumerate(csv.DictReader(file)):
            record = {key.upper(): value for key, value in raw.items()}
            if not record.get("CREATION DATE"):
                continue
            rows.append(
                _row(
                    index,
                    record["TYPE OF SERVICE REQUEST"],
                    record["STREET ADDRESS"],
                    record.get("LATITUDE", ""),
                    record.get("LONGITUDE", ""),
                    datetime.fromisoformat(record["CREATION DATE"][:19]),
                )
            )
    return rows


def _row(index: int, service: str, address: str, lat: str, long: str, when: datetime) -> Row:
    try:
        y, x = float(lat), float(long)
    except ValueError:
        y = x = math.nan
    return Row(
        index, "city", service, address, python_address_key(address), y, x,
        PLANE.x(x), PLANE.y(y), when,
    )  # fmt: skip


def sources(root: Path) -> Iterator[Source]:
    sample = root / "samples" / "sr_2021-01-01_first5000_fullschema.csv"
    if sample.exists():
        yield Source(sample.name, read_sample_2021(sample))
    no_heat = root / "samples" / "no_heat_complaints_2020_foia.csv"
    if no_heat.exists():
        yield Source(no_heat.name, read_no_heat(no_heat))
    for path in sorted((root / "legacy").glob("legacy_*_sample.csv")):
        yield Source(path.name, read_legacy(path))


@dataclass
class Tally:
    flagged: int = 0
    flagged_again: int = 0
    random: int = 0
    random_again: int = 0

    def line(self) -> str:
        def share(hit: int, of: int) -> str:
            return f"{hit:>4}/{of:<4} {100 * hit / of:5.1f}%" if of else f"{'-':>4}/{0:<4}    - "

        return (
            f"{share(self.flagged_again, self.flagged)}   {share(self.random_again, self.random)}"
        )


class After:
    """The requests after the split: does a place get another one?"""

    def __init__(self, after: list[Row]) -> None:
        self.keys = {(r.service_code, r.key) for r in after}
        self.points: dict[str, list[Row]] = defaultdict(list)
        for r in after:
            if not math.isnan(r.x):
                self.points[r.service_code].append(r)

    def again(self, row: Row, metres: float, by_key: bool) -> bool:
        if by_key and (row.service_code, row.key) in self.keys:
            return True
        if math.isnan(row.x):
            return False
        return any(
            (o.x - row.x) ** 2 + (o.y - row.y) ** 2 <= metres * metres
            for o in self.points[row.service_code]
        )


def backtest(
    rows: list[Row], split: datetime, rules: Rules, rng: random.Random
) -> dict[str, dict[str, Tally]]:
    before = [r for r in rows if r.requested_at < split]
    after = After([r for r in rows if r.requested_at >= split])
    results: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    repeat_keys: dict[str, set[str]] = defaultdict(set)
    for group in repeat_groups(before, rules):
        repeat_keys[group[0].service_code].update(r.key for r in group)
        tally = results[group[0].service_code]["repeat"]
        tally.flagged += 1
        tally.flagged_again += any(after.again(r, rules.repeat_metres, True) for r in group)
    hot_ids: dict[str, set[int]] = defaultdict(set)
    for cluster in hotspots_in_python(before, rules):
        service = cluster[0].service_code
        hot_ids[service].update(r.id for r in cluster)
        tally = results[service]["hotspot"]
        tally.flagged += len(cluster)
        tally.flagged_again += sum(after.again(r, rules.hotspot_eps_m, False) for r in cluster)
    # The random places: one per address key before the split (its first request),
    # not flagged; for hotspots, single located requests outside every cluster.
    places: dict[str, dict[str, Row]] = defaultdict(dict)
    for r in before:
        places[r.service_code].setdefault(r.key, r)
    for service, kinds in results.items():
        for kind, tally in kinds.items():
            if kind == "repeat":
                pool = [r for key, r in places[service].items() if key not in repeat_keys[service]]
                metres, by_key = rules.repeat_metres, True
            else:
                pool = [
                    r for r in before
                    if r.service_code == service and r.id not in hot_ids[service]
                    and not math.isnan(r.x)
                ]  # fmt: skip
                metres, by_key = rules.hotspot_eps_m, False
            chosen = rng.sample(pool, min(tally.flagged, len(pool)))
            tally.random = len(chosen)
            tally.random_again = sum(after.again(r, metres, by_key) for r in chosen)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=SHARED)
    parser.add_argument("--split", type=datetime.fromisoformat, help="[the middle of each source]")
    parser.add_argument("--repeat-count", type=int, default=2)
    parser.add_argument("--repeat-metres", type=float, default=15.0)
    parser.add_argument("--eps", type=float, default=150.0)
    parser.add_argument("--min-points", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument(
        "--skip",
        default="311IOC,AVN",
        help="services that are no place's problem (information calls at the 311 centre, "
        "aircraft noise at the airports) [%(default)s]",
    )
    args = parser.parse_args()
    rules = Rules(args.repeat_count, 0, args.repeat_metres, 0, args.eps, args.min_points)
    rng = random.Random(args.seed)
    print(
        f"repeat: >= {rules.repeat_count} requests at one place (address key or "
        f"{rules.repeat_metres:g} m); hotspot: DBSCAN eps {rules.hotspot_eps_m:g} m, "
        f"min points {rules.hotspot_min_points}; seed {args.seed}"
    )
    print(f"{'source / service':<58} {'kind':<8} {'flagged: again after':<22} random: again after")
    totals: dict[str, Tally] = defaultdict(Tally)
    for source in sources(args.root):
        if not source.rows:
            continue
        times = sorted(r.requested_at for r in source.rows)
        split = args.split or times[0] + (times[-1] - times[0]) / 2
        print(f"{source.name}: {len(source.rows)} requests, {times[0]:%Y-%m-%d %H:%M} → "
              f"{times[-1]:%Y-%m-%d %H:%M}, split {split:%Y-%m-%d %H:%M}")  # fmt: skip
        rows = [r for r in source.rows if r.service_code not in args.skip.split(",")]
        for service, kinds in sorted(backtest(rows, split, rules, rng).items()):
            for kind, tally in sorted(kinds.items()):
                print(f"  {service[:56]:<56} {kind:<8} {tally.line()}")
                total = totals[kind]
                total.flagged += tally.flagged
                total.flagged_again += tally.flagged_again
                total.random += tally.random
                total.random_again += tally.random_again
    for kind, tally in sorted(totals.items()):
        print(f"{'all sources, all services':<58} {kind:<8} {tally.line()}")


if __name__ == "__main__":
    main()
