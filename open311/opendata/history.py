"""Generate a Chicago-shaped history of requests in PostgreSQL, for benchmarks and demos.

generate_history(session, profile, rows, …) fills service_request with `rows`
requests over the last `years`, shaped by open311/demo/data/chicago_profile.json
(see open311/demo/derive_profile.py): the City's type mix, its monthly
seasonality, its places, and per type the lognormal days to close.

It is set-based: a few small temporary tables, then one INSERT … SELECT over
generate_series, so PostgreSQL makes the rows without a round trip each.

- Time: each month of the span gets rows in proportion to its seasonal factor
  and its length; within the month the rows are evenly spread in number order,
  so request numbers (SRyy-nnnnnnnn, restarting each year above the year's
  counter) grow with time, as the City's do.
- Places: a pool of points (one per 20 rows, 5,000-400,000), each a profile
  place moved up to ~170 m at random, keeping that place's real address and
  ZIP. The pool is tagged with its ward, community area, … once, so each
  request gets its codes by a join instead of a polygon lookup. Information
  calls and aircraft-noise complaints go where the City files them (the 311
  centre, O'Hare) as often as the profile says.
- Status: a request closes after its lognormal days, unless that is still in
  the future or it is among the type's share that never closes; a closed one
  is Completed, or Canceled at the sample's rate; updated_at is its close.
  Descriptions stay empty, as the City's public data has none.

PostgreSQL only (the caller checks); the caller owns the transaction.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.errors import Open311Error
from open311.service_requests.numbers import raise_counter

PROFILE = Path(__file__).parents[1] / "demo" / "data" / "chicago_profile.json"
TYPE_SLOTS = 100_000  # a type with share s gets about s x TYPE_SLOTS slots
CHANNEL_SLOTS = 10_000
ROWS_PER_PLACE = 20
POOL_MIN, POOL_MAX = 5_000, 400_000
JITTER_METRES = 170.0


class HistoryError(Open311Error):
    """The history cannot be generated here (no matching services, wrong database)."""


@dataclass(frozen=True)
class HistoryReport:
    inserted: int
    places: int
    types: int
    first: datetime
    last: datetime


def load_profile(path: Path = PROFILE) -> dict[str, Any]:
    profile: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return profile


def generate_history(
    session: Session,
    profile: dict[str, Any],
    rows: int,
    *,
    time_zone: ZoneInfo,
    now: datetime,
    years: float = 3,
    seed: int | None = None,
) -> HistoryReport:
    """Insert `rows` generated requests requested in the `years` before `now`."""
    if session.get_bind().dialect.name != "postgresql":
        raise HistoryError("generate-history needs PostgreSQL + PostGIS; this is SQLite.")
    rng = np.random.default_rng(seed)
    if seed is not None:  # PostgreSQL's random() too
        session.execute(sa.text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
    types = _create_types(session, profile)
    places = _create_places(session, profile, types, rows, rng)
    start = now - timedelta(days=365 * years)
    months = _months(profile["months"], start, now, time_zone, rows)
    bases = _number_bases(session, months)
    inserted = _insert(session, profile, months, bases, rng, now)
    for year, count in _rows_per_year(months).items():
        raise_counter(session, year, bases[year] + count)
    return HistoryReport(inserted, places, len(types), start, now)


# --- types ------------------------------------------------------------------------------


def _create_types(session: Session, profile: dict[str, Any]) -> list[dict[str, Any]]:
    """The profile's types that are active services here, in a temporary table."""
    active = set(session.scalars(sa.text("SELECT code FROM service WHERE active")))
    types = [t for t in profile["types"] if t["code"] in active]
    if not types:
        raise HistoryError("None of the profile's request types is an active service here.")
    session.execute(sa.text(TYPES_SQL), {
        "code": [t["code"] for t in types],
        "mu": [t["mu"] for t in types],
        "sigma": [t["sigma"] for t in types],
        "closed_share": [t["closed_share"] for t in types],
        "fixed_share": [t.get("fixed_share", 0.0) for t in types],
    })  # fmt: skip
    return types


TYPES_SQL = """
CREATE TEMPORARY TABLE history_type ON COMMIT DROP AS
SELECT t.n::int AS n, t.code, t.mu, t.sigma, t.closed_share, t.fixed_share,
       s.agency_responsible, s.service_notice, s.target_days
FROM unnest(:code ::text[], :mu ::float8[], :sigma ::float8[],
            :closed_share ::float8[], :fixed_share ::float8[])
     WITH ORDINALITY AS t(code, mu, sigma, closed_share, fixed_share, n)
JOIN service AS s ON s.code = t.code
"""


def _slots(shares: list[float], count: int) -> list[int]:
    """`count` 1-based indexes into `shares`, each as often as its share: a lookup
    table that turns one random() into a weighted choice."""
    cumulative = np.cumsum(shares) / sum(shares)
    picks = np.searchsorted(cumulative, (np.arange(count) + 0.5) / count)
    return [int(p) + 1 for p in picks]


# --- places -----------------------------------------------------------------------------


def _create_places(
    session: Session,
    profile: dict[str, Any],
    types: list[dict[str, Any]],
    rows: int,
    rng: np.random.Generator,
) -> int:
    """The pool of places, tagged with their areas: fixed places first (j = type n)."""
    places = profile["places"]
    count = min(max(rows // ROWS_PER_PLACE, POOL_MIN), POOL_MAX)
    weights = np.array([p[4] for p in places], dtype=float)
    picked = rng.choice(len(places), size=count, p=weights / weights.sum())
    lat = np.array([places[i][0] for i in picked])
    long = np.array([places[i][1] for i in picked])
    dlat = JITTER_METRES / 111_320
    dlong = dlat / math.cos(math.radians(41.85))
    lat += rng.uniform(-dlat, dlat, count)
    long += rng.uniform(-dlong, dlong, count)
    fixed = [t.get("fixed_place") for t in types]
    columns = {
        "j": [-(n + 1) for n, f in enumerate(fixed) if f] + list(range(1, count + 1)),
        "lat": [f[0] for f in fixed if f] + lat.round(6).tolist(),
        "long": [f[1] for f in fixed if f] + long.round(6).tolist(),
        "address": [f[2] for f in fixed if f] + [places[i][2] for i in picked],
        "zipcode": [f[3] for f in fixed if f] + [places[i][3] for i in picked],
    }
    session.execute(sa.text(PLACES_SQL), columns)
    session.execute(sa.text("ANALYZE history_place"))
    return count


# j > 0: the pool; j = -n: the fixed place of type n.
PLACES_SQL = """
CREATE TEMPORARY TABLE history_place ON COMMIT DROP AS
SELECT p.j::int AS j, p.lat, p.long, p.address || ', CHICAGO, IL' AS address, p.zipcode,
       ST_SetSRID(ST_MakePoint(p.long, p.lat), 4326) AS geom, c.*
FROM unnest(:j ::int[], :lat ::float8[], :long ::float8[], :address ::text[], :zipcode ::text[])
     AS p(j, lat, long, address, zipcode)
CROSS JOIN LATERAL (
    SELECT min(a.code) FILTER (WHERE a.kind = 'ward') AS ward,
           min(a.code) FILTER (WHERE a.kind = 'community_area') AS community_area,
           min(a.code) FILTER (WHERE a.kind = 'police_district') AS police_district,
           min(a.code) FILTER (WHERE a.kind = 'neighborhood') AS neighborhood
    FROM area AS a
    WHERE ST_Intersects(a.geometry, ST_SetSRID(ST_MakePoint(p.long, p.lat), 4326))
) AS c
"""


# --- time -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    start: datetime
    stop: datetime
    year: int
    first: int  # the first and last row numbers (1-based) requested in it
    last: int


def _months(
    factors: list[float], start: datetime, now: datetime, zone: ZoneInfo, rows: int
) -> list[Month]:
    """The span cut at local month boundaries, with rows shared by factor x length."""
    pieces: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < now:
        local = cursor.astimezone(zone)
        month_after = (local.replace(day=28) + timedelta(days=4)).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        stop = min(month_after.astimezone(start.tzinfo), now)
        pieces.append((cursor, stop))
        cursor = stop
    weights = [factors[a.astimezone(zone).month - 1] * (b - a).total_seconds() for a, b in pieces]
    bounds = np.rint(np.cumsum(weights) / sum(weights) * rows).astype(int).tolist()
    firsts = [0, *bounds[:-1]]
    return [
        Month(a, b, a.astimezone(zone).year, first + 1, last)
        for (a, b), first, last in zip(pieces, firsts, bounds, strict=True)
        if last > first
    ]


def _rows_per_year(months: list[Month]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for month in months:
        counts[month.year] = counts.get(month.year, 0) + month.last - month.first + 1
    return counts


def _number_bases(session: Session, months: list[Month]) -> dict[int, int]:
    """Each year's numbers start above its counter: nothing filed or imported is reused."""
    years = sorted({m.year for m in months})
    stored: dict[int, int] = dict(
        session.execute(
            sa.text("SELECT year, last_value FROM request_number_counter WHERE year = ANY(:y)"),
            {"y": years},
        ).all()
    )
    return {year: int(stored.get(year, 0)) for year in years}


# --- the insert -------------------------------------------------------------------------


def _insert(
    session: Session,
    profile: dict[str, Any],
    months: list[Month],
    bases: dict[int, int],
    rng: np.random.Generator,
    now: datetime,
) -> int:
    first_of_year: dict[int, int] = {}
    for month in months:
        first_of_year.setdefault(month.year, month.first)
    types = session.execute(sa.text("SELECT n, code FROM history_type ORDER BY n")).all()
    shares = {t["code"]: t["share"] for t in profile["types"]}
    channels = profile["channels"]
    params = {
        "m_start": [m.start for m in months],
        "m_stop": [m.stop for m in months],
        "m_first": [m.first for m in months],
        "m_last": [m.last for m in months],
        "m_yy": [f"{m.year % 100:02d}" for m in months],
        # number = base + i: the year's first row gets counter + 1
        "m_base": [bases[m.year] - first_of_year[m.year] + 1 for m in months],
        "type_slots": _slots([shares[code] for _, code in types], TYPE_SLOTS),
        "channel_names": list(channels),
        "channel_slots": _slots(list(channels.values()), CHANNEL_SLOTS),
        "canceled": profile["canceled_share"],
        "now": now,
        "pool": session.execute(sa.text("SELECT count(*) FROM history_place WHERE j > 0")).scalar(),
    }
    result = session.execute(sa.text(INSERT_SQL), params)
    return int(getattr(result, "rowcount", 0))


INSERT_SQL = """
WITH month AS (
    SELECT * FROM unnest(:m_start ::timestamptz[], :m_stop ::timestamptz[], :m_first ::int[],
                         :m_last ::int[], :m_yy ::text[], :m_base ::int[])
         AS m(start, stop, first, last, yy, base)
), drawn AS (
    SELECT g.i, m.yy, m.base,
           date_trunc('second', m.start + (g.i - m.first + random()) / (m.last - m.first + 1)
               * (m.stop - m.start)) AS requested_at,
           (:type_slots ::int[])[1 + floor(random() * cardinality(:type_slots ::int[]))::int] AS n,
           (:channel_slots ::int[])[1 + floor(random() * cardinality(:channel_slots ::int[]))::int]
               AS channel,
           1 + floor(random() * :pool)::int AS pool_j,
           random() AS u1, random() AS u2, random() AS r_closes, random() AS r_fixed,
           random() AS r_cancel, random() AS r_open
    FROM month AS m CROSS JOIN LATERAL generate_series(m.first, m.last) AS g(i)
), timed AS (
    SELECT d.*, t.code, t.agency_responsible, t.service_notice, t.target_days,
           CASE WHEN d.r_fixed < t.fixed_share THEN -t.n ELSE d.pool_j END AS j,
           date_trunc('second', d.requested_at + interval '1 day' * exp(t.mu + t.sigma
               * sqrt(-2 * ln(1 - d.u1)) * cos(2 * pi() * d.u2))) AS closes_at,
           d.r_closes < t.closed_share AS closes
    FROM drawn AS d JOIN history_type AS t USING (n)
), decided AS (
    SELECT t.*, t.closes AND t.closes_at <= :now AS closed FROM timed AS t
)
INSERT INTO service_request (
    number, intake, service_code, status, stage, status_notes, agency_responsible, service_notice,
    requested_at, updated_at, expected_at, due_at, address, zipcode, lat, long, location,
    attributes, channel, ward, community_area, police_district, neighborhood
)
SELECT
    'SR' || d.yy || '-' || lpad((d.base + d.i)::text, 8, '0'),
    'accepted', d.code,
    CASE WHEN d.closed THEN 'closed' ELSE 'open' END,
    CASE WHEN d.closed THEN 'closed' ELSE 'new' END,
    CASE WHEN NOT d.closed THEN NULL WHEN d.r_cancel < :canceled THEN 'Canceled'
         ELSE 'Completed' END,
    d.agency_responsible, d.service_notice, d.requested_at,
    CASE WHEN d.closed THEN d.closes_at
         ELSE date_trunc('second', d.requested_at
             + least(:now - d.requested_at, d.closes_at - d.requested_at) * d.r_open / 2) END,
    d.requested_at + d.target_days * interval '1 day',
    d.requested_at + d.target_days * interval '1 day',
    p.address, p.zipcode, p.lat, p.long, p.geom, '{}'::json,
    (:channel_names ::text[])[d.channel],
    p.ward, p.community_area, p.police_district, p.neighborhood
FROM decided AS d JOIN history_place AS p USING (j)
"""
