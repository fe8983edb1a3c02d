"""Derive chicago_profile.json: the shape of Chicago's 311 history, for the generator.

derive_profile(source, catalog_dir, data_dir) reads shared/chicago311 and the
demo's sample requests, and writes <data_dir>/chicago_profile.json:

- types: each request type of our catalogue that the City's totals count,
  with its share of all requests (aggregates/sr_type_totals via the compiled
  catalogue), the lognormal (mu, sigma) of its days to close, the share that
  ever closes, and for information calls and aircraft noise the one place the
  City files almost all of them at (the 311 centre, O'Hare);
- months: seasonality, each calendar month's volume over the average month,
  from aggregates/monthly_request_counts (whole years only);
- statuses and channels: the 2021 sample's share of Canceled and of each ORIGIN;
- places: the sample's field requests (lat, long, address, ZIP, how many),
  plus points spread evenly inside the community areas, weighted by the
  sample's requests there, each with the address of the street nearest it.

Days to close: the 2024 median and p90 where the City's data has them
(sigma = ln(p90 / median) / 1.2816), else the 2019-20 mean (sigma 1), else
the 2021 sample's median (sigma 1); types closed at once get five minutes.
Running it twice gives the same file (the area points use a fixed seed).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from open311.geocoding.chicago import ChicagoGeocoder

PROFILE_FILE = "chicago_profile.json"
COMPILED = Path("reference/sr_type_catalog_compiled.csv")
MONTHLY = Path("aggregates/monthly_request_counts_2018-12_to_2025-08.csv")
TOP5 = Path("aggregates/top5_types_yearly_resolution_days_2019-2026.csv")
COMMUNITY_AREAS = Path("boundaries/community_areas_77_2025.geojson")
SAMPLE = "chicago_requests_2021.csv.gz"
STREETS = "chicago_streets.csv.gz"
Z90 = 1.2816  # the standard normal's 90th percentile
DEFAULT_SIGMA = 1.0
INSTANT_DAYS = 5 / (24 * 60)  # "closed at once": five minutes
FIXED_PLACE_TYPES = ("311IOC", "AVN")  # filed at one address, not where the caller is
AREA_POINTS = 3000
AREA_POINT_FLOOR = 5  # every community area gets some points
SEED = 311


def derive_profile(source: Path, catalog_dir: Path, data_dir: Path) -> dict[str, int]:
    """Write data_dir/chicago_profile.json; count what it holds."""
    catalogue = {path.stem for path in catalog_dir.glob("*.toml")}
    sample = _read_sample(data_dir / SAMPLE)
    profile: dict[str, Any] = {
        "source": "shared/chicago311 (City of Chicago 311 data); open311/demo/derive_profile.py",
        "types": type_profiles(source, catalogue, sample),
        "months": seasonality(_read_csv(source / MONTHLY)),
        "canceled_share": _share(sample, "status", "Canceled"),
        "channels": channel_shares(sample),
        "places": sample_places(sample) + area_places(source, data_dir, sample),
    }
    text = json.dumps(profile, separators=(",", ":"), ensure_ascii=False)
    (data_dir / PROFILE_FILE).write_text(text + "\n", encoding="utf-8")
    return {"types": len(profile["types"]), "places": len(profile["places"])}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _read_sample(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _share(rows: list[dict[str, str]], column: str, value: str) -> float:
    return round(sum(row[column] == value for row in rows) / len(rows), 5)


# --- types ----------------------------------------------------------------------------


def type_profiles(
    source: Path, catalogue: set[str], sample: list[dict[str, str]]
) -> list[dict[str, Any]]:
    counted = [
        row for row in _read_csv(source / COMPILED)
        if row["sr_short_code"] in catalogue and _number(row["total_requests_to_2026_08"])
    ]  # fmt: skip
    total = sum(_number(row["total_requests_to_2026_08"]) or 0 for row in counted)
    closing = closed_shares(_read_csv(source / TOP5))
    return [
        _type_profile(row, total, closing.get(row["sr_type"]), sample)
        for row in sorted(counted, key=lambda r: r["sr_short_code"])
    ]


def _type_profile(
    row: Mapping[str, str], total: float, closed: float | None, sample: list[dict[str, str]]
) -> dict[str, Any]:
    code = row["sr_short_code"]
    mu, sigma = lognormal_days(row)
    profile: dict[str, Any] = {
        "code": code,
        "share": round((_number(row["total_requests_to_2026_08"]) or 0) / total, 7),
        "mu": round(mu, 4),
        "sigma": round(sigma, 4),
        "closed_share": closed if closed is not None else 1 - _share(sample, "status", "Open"),
    }
    if code in FIXED_PLACE_TYPES:
        profile["fixed_place"], profile["fixed_share"] = fixed_place(code, sample)
    return profile


def lognormal_days(row: Mapping[str, str]) -> tuple[float, float]:
    """(mu, sigma) of ln(days to close) from the best figures the City's data has."""
    median = _number(row["median_days_2024_excl_dups"])
    p90 = _number(row["p90_days_2024_excl_dups"])
    if median and p90 and p90 > median:
        return math.log(median), math.log(p90 / median) / Z90
    mean = _number(row["mean_wait_days_2019_2020"])
    if mean:  # a lognormal's mean is exp(mu + sigma² / 2)
        return math.log(mean) - DEFAULT_SIGMA**2 / 2, DEFAULT_SIGMA
    median = _number(row["sample2021_median_days"])
    return math.log(max(median or 0.0, INSTANT_DAYS)), DEFAULT_SIGMA / 2


def closed_shares(top5: list[dict[str, str]]) -> dict[str, float]:
    """Share of each type's requests closed, over the years that have had time to close."""
    counts: dict[str, list[int]] = {}
    for row in top5:
        if int(row["year"]) <= 2024:
            pair = counts.setdefault(row["sr_type"], [0, 0])
            pair[0] += int(row["closed"])
            pair[1] += int(row["requests"])
    return {name: round(closed / requests, 5) for name, (closed, requests) in counts.items()}


def fixed_place(code: str, sample: list[dict[str, str]]) -> tuple[list[Any], float]:
    """The address most of the type's sample requests are filed at, and their share."""
    rows = [row for row in sample if row["sr_short_code"] == code]
    (address, _), count = Counter(
        (row["street_address"], row["zip_code"]) for row in rows
    ).most_common(1)[0]
    at = next(row for row in rows if row["street_address"] == address)
    return _place(at, 1), round(count / len(rows), 5)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# --- time and channels -----------------------------------------------------------------


def seasonality(monthly: list[dict[str, str]]) -> list[float]:
    """Each calendar month's volume over the mean month, averaged over whole years."""
    by_year: dict[str, dict[int, int]] = {}
    for row in monthly:
        year, month = row["month"].split("-")
        by_year.setdefault(year, {})[int(month)] = int(row["cnt"])
    whole = [months for months in by_year.values() if len(months) == 12]
    factors = np.zeros(12)
    for months in whole:
        mean = sum(months.values()) / 12
        factors += np.array([months[m] / mean for m in range(1, 13)])
    return [round(float(f), 4) for f in factors / len(whole)]


def channel_shares(sample: list[dict[str, str]]) -> dict[str, float]:
    counts = Counter(row["origin"] for row in sample if row["origin"])
    total = sum(counts.values())
    return {origin: round(n / total, 5) for origin, n in sorted(counts.items())}


# --- places -----------------------------------------------------------------------------


def _place(row: Mapping[str, str], weight: int) -> list[Any]:
    lat, lon = round(float(row["latitude"]), 6), round(float(row["longitude"]), 6)
    return [lat, lon, row["street_address"], row["zip_code"] or None, weight]


def _field_rows(sample: list[dict[str, str]]) -> list[dict[str, str]]:
    return [row for row in sample if row["sr_short_code"] not in FIXED_PLACE_TYPES]


def sample_places(sample: list[dict[str, str]]) -> list[list[Any]]:
    """[lat, long, address, zip, requests there] of each sample field request's point."""
    rows = _field_rows(sample)
    counts = Counter((row["latitude"], row["longitude"]) for row in rows)
    first = {(row["latitude"], row["longitude"]): row for row in reversed(rows)}
    return [_place(first[key], counts[key]) for key in sorted(counts)]


def area_places(source: Path, data_dir: Path, sample: list[dict[str, str]]) -> list[list[Any]]:
    """Points spread evenly inside each community area, as many as its share of the
    sample's field requests (at least AREA_POINT_FLOOR), with the nearest street address."""
    document = json.loads((source / COMMUNITY_AREAS).read_text(encoding="utf-8"))
    areas = {f["properties"]["area_numbe"]: shape(f["geometry"]) for f in document["features"]}
    counts = Counter(row["community_area"] for row in _field_rows(sample))
    total = sum(counts[code] for code in areas) or 1
    geocoder = ChicagoGeocoder.from_file(data_dir / STREETS)
    rng = np.random.default_rng(SEED)
    places: list[list[Any]] = []
    for code in sorted(areas, key=int):
        share = round(AREA_POINTS * counts[code] / total)
        for lon, lat in _points_inside(areas[code], max(share, AREA_POINT_FLOOR), rng):
            found = geocoder.reverse(lon, lat)
            street = found.address.split(",")[0]
            places.append([round(lat, 6), round(lon, 6), street, found.zipcode, 1])
    return places


def _points_inside(area: Any, count: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    shapely.prepare(area)
    min_x, min_y, max_x, max_y = area.bounds
    points: list[tuple[float, float]] = []
    while len(points) < count:
        xs, ys = rng.uniform(min_x, max_x, count * 4), rng.uniform(min_y, max_y, count * 4)
        inside = shapely.contains_xy(area, xs, ys)
        points += list(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
    return points[:count]
