"""Finding the patterns again: `flask open311 find-patterns`, meant for a schedule.

Each run replaces every stored pattern in one transaction, so a reader sees the
last run's patterns or this run's, never half of each.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import Intake, Pattern, PatternKind, PatternRequest, ServiceRequest
from open311.patterns import dbscan
from open311.patterns.places import address_key
from open311.patterns.plane import Plane


@dataclass(frozen=True)
class Rules:
    """The settings of one run (config: REPEAT_PLACE_*, HOTSPOT_*)."""

    repeat_count: int
    repeat_days: float
    repeat_metres: float
    hotspot_days: float
    hotspot_eps_m: float
    hotspot_min_points: int

    @classmethod
    def from_config(cls, config: dict[str, object]) -> Rules:
        return cls(
            int(config["REPEAT_PLACE_COUNT"]),  # type: ignore[call-overload]
            float(config["REPEAT_PLACE_DAYS"]),  # type: ignore[arg-type]
            float(config["REPEAT_PLACE_METRES"]),  # type: ignore[arg-type]
            float(config["HOTSPOT_WINDOW_DAYS"]),  # type: ignore[arg-type]
            float(config["HOTSPOT_EPS_M"]),  # type: ignore[arg-type]
            int(config["HOTSPOT_MIN_POINTS"]),  # type: ignore[call-overload]
        )


@dataclass(frozen=True)
class Row:
    id: int
    department: str
    service_code: str
    address: str
    key: str
    lat: float
    long: float
    x: float
    y: float
    requested_at: datetime


Group = tuple[str, str]  # (department, service_code)


@dataclass(frozen=True)
class Found:
    kind: PatternKind
    rows: list[Row]


def find_patterns(session: Session, rules: Rules, now: datetime) -> list[Found]:
    """This run's repeat places and hotspots, not yet stored."""
    plane = _plane_of(session)
    found = [Found(PatternKind.REPEAT, rows) for rows in repeat_places(session, plane, rules, now)]
    found += [Found(PatternKind.HOTSPOT, rows) for rows in hotspots(session, plane, rules, now)]
    return found


def recompute(session: Session, rules: Rules, now: datetime) -> Counter[PatternKind]:
    """Replace the stored patterns with this run's; how many of each kind."""
    found = find_patterns(session, rules, now)
    session.execute(sa.delete(PatternRequest))
    session.execute(sa.delete(Pattern))
    counts: Counter[PatternKind] = Counter()
    for item in found:
        rows = item.rows
        addresses = Counter(row.address for row in rows)
        label = (
            max(rows, key=lambda r: (r.requested_at, r.id)).address
            if item.kind is PatternKind.REPEAT
            else addresses.most_common(1)[0][0]
        )
        pattern = Pattern(
            kind=item.kind,
            department=rows[0].department,
            service_code=rows[0].service_code,
            label=label,
            lat=sum(r.lat for r in rows) / len(rows),
            long=sum(r.long for r in rows) / len(rows),
            requests=len(rows),
            first_requested_at=min(r.requested_at for r in rows),
            last_requested_at=max(r.requested_at for r in rows),
            computed_at=now,
        )
        session.add(pattern)
        session.flush()
        session.execute(
            sa.insert(PatternRequest),
            [{"pattern_id": pattern.id, "service_request_id": r.id} for r in rows],
        )
        counts[item.kind] += 1
    return counts


def repeat_places(session: Session, plane: Plane, rules: Rules, now: datetime) -> list[list[Row]]:
    """Places with at least repeat_count requests of one service in the last repeat_days:
    one address (address_key, computed in SQL) or points within repeat_metres."""
    return repeat_groups(_rows(session, plane, now - timedelta(days=rules.repeat_days)), rules)


def repeat_groups(rows: Sequence[Row], rules: Rules) -> list[list[Row]]:
    """The rows of each repeat place, by department and service: one address key, or
    points within repeat_metres of each other (a point of NaN joins by address only)."""
    places = []
    for members in _by_group(rows).values():
        places_of = _UnionFind(len(members))
        first_of_key: dict[str, int] = {}
        for index, row in enumerate(members):
            places_of.union(index, first_of_key.setdefault(row.key, index))
        located = [i for i, row in enumerate(members) if not math.isnan(row.x)]
        near = _near_pairs([(members[i].x, members[i].y) for i in located], rules.repeat_metres)
        for i, j in near:
            places_of.union(located[i], located[j])
        components: dict[int, list[Row]] = defaultdict(list)
        for index, row in enumerate(members):
            components[places_of.find(index)].append(row)
        places += [sorted(c, key=lambda r: r.id) for c in components.values()
                   if len(c) >= rules.repeat_count]  # fmt: skip
    return places


def hotspots(session: Session, plane: Plane, rules: Rules, now: datetime) -> list[list[Row]]:
    """DBSCAN clusters of each service's requests of the last hotspot_days: PostGIS's
    ST_ClusterDBSCAN; on SpatiaLite dbscan.py over the same rows on the same plane."""
    since = now - timedelta(days=rules.hotspot_days)
    if session.get_bind().dialect.name == "postgresql":
        return _hotspots_in_postgis(session, plane, rules, since)
    return hotspots_in_python(_rows(session, plane, since), rules)


def hotspots_in_python(rows: Sequence[Row], rules: Rules) -> list[list[Row]]:
    by_id = {row.id: row for row in rows}
    found = []
    for members in _by_group(rows).values():
        points: list[tuple[Hashable, float, float]] = [
            (r.id, r.x, r.y) for r in members if not math.isnan(r.x)
        ]
        for cluster in dbscan.clusters(points, rules.hotspot_eps_m, rules.hotspot_min_points):
            found.append(sorted((by_id[i] for i in cluster), key=lambda r: r.id))  # type: ignore[index]
    return found


def _hotspots_in_postgis(
    session: Session, plane: Plane, rules: Rules, since: datetime
) -> list[list[Row]]:
    request = ServiceRequest
    cluster = (
        sa.func.ST_ClusterDBSCAN(
            plane.sql_point(request.long, request.lat),
            sa.literal(rules.hotspot_eps_m, sa.Float),
            sa.literal(rules.hotspot_min_points, sa.Integer),
        )
        .over(partition_by=(request.agency_responsible, request.service_code))
        .label("cluster")
    )
    stmt = _select_rows(session, plane, since).add_columns(cluster)
    grouped: dict[tuple[str, str, int], list[Row]] = defaultdict(list)
    for result in session.execute(stmt):
        if result.cluster is not None:
            row = _row(result, plane)
            grouped[(row.department, row.service_code, result.cluster)].append(row)
    return [sorted(rows, key=lambda r: r.id) for rows in grouped.values()]


def _plane_of(session: Session) -> Plane:
    """A plane about the middle of the requests' box: the same on both backends."""
    request = ServiceRequest
    box: Any = session.execute(
        sa.select(
            sa.func.min(request.long), sa.func.max(request.long),
            sa.func.min(request.lat), sa.func.max(request.lat),
        )
    ).one()  # fmt: skip
    if box[0] is None:
        return Plane(0.0, 0.0)
    return Plane((box[0] + box[1]) / 2, (box[2] + box[3]) / 2)


def _select_rows(session: Session, plane: Plane, since: datetime) -> sa.Select:  # type: ignore[type-arg]
    request = ServiceRequest
    dialect = session.get_bind().dialect.name
    return sa.select(
        request.id,
        request.agency_responsible,
        request.service_code,
        request.address,
        address_key(dialect, request.address).label("key"),
        request.lat,
        request.long,
        request.requested_at,
    ).where(
        request.requested_at >= since,
        request.intake == Intake.ACCEPTED,
        request.agency_responsible.is_not(None),
    )


def _rows(session: Session, plane: Plane, since: datetime) -> list[Row]:
    return [_row(result, plane) for result in session.execute(_select_rows(session, plane, since))]


def _row(result: sa.Row, plane: Plane | None = None) -> Row:  # type: ignore[type-arg]
    requested_at = result.requested_at
    if isinstance(requested_at, str):  # a raw column of a window query on SQLite
        requested_at = datetime.fromisoformat(requested_at)
    lat, long = float(result.lat), float(result.long)
    return Row(
        result.id, result.agency_responsible, result.service_code, result.address,
        result.key, lat, long,
        plane.x(long) if plane else 0.0, plane.y(lat) if plane else 0.0,
        requested_at,
    )  # fmt: skip


class _UnionFind:
    """Which of n items were joined, directly or through others."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, one: int, other: int) -> None:
        self.parent[self.find(one)] = self.find(other)


def _by_group(rows: Iterable[Row]) -> dict[Group, list[Row]]:
    groups: dict[Group, list[Row]] = defaultdict(list)
    for row in rows:
        groups[(row.department, row.service_code)].append(row)
    return groups


def _near_pairs(points: Sequence[tuple[float, float]], metres: float) -> list[tuple[int, int]]:
    """Index pairs of points at most `metres` apart (a grid of metre-sized cells)."""
    if metres <= 0:
        return []
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index, (x, y) in enumerate(points):
        grid[(math.floor(x / metres), math.floor(y / metres))].append(index)
    pairs = []
    for index, (x, y) in enumerate(points):
        cx, cy = math.floor(x / metres), math.floor(y / metres)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for other in grid.get((cx + dx, cy + dy), ()):
                    if other > index:
                        ox, oy = points[other]
                        if (ox - x) ** 2 + (oy - y) ** 2 <= metres * metres:
                            pairs.append((index, other))
    return pairs
