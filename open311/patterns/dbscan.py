"""DBSCAN over points in metres, as PostGIS's ST_ClusterDBSCAN defines it.

A point with at least `min_points` points (itself included) within `eps`
(distance <= eps) is a core point; cores within eps of each other share a
cluster; a non-core point within eps of a core joins that core's cluster (the
nearest core's, then the lowest id's, when several could take it); the rest is
noise. A grid of eps-sized cells finds the neighbours without comparing every pair.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence

Point = tuple[Hashable, float, float]  # (id, x, y)


def clusters(points: Sequence[Point], eps: float, min_points: int) -> list[set[Hashable]]:
    """The clusters of (id, x, y) points: sets of ids, noise left out."""
    near = neighbours(points, eps)
    core = [len(found) >= min_points for found in near]
    label, count = _label_cores(near, core)
    for index, is_core in enumerate(core):
        if not is_core:
            label[index] = _border_label(points, near[index], core, label, index)
    found: list[set[Hashable]] = [set() for _ in range(count)]
    for index, cluster in enumerate(label):
        if cluster is not None:
            found[cluster].add(points[index][0])
    return found


def neighbours(points: Sequence[Point], eps: float) -> list[list[int]]:
    """For each point, the indexes of the points within eps of it, itself included."""
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index, (_id, x, y) in enumerate(points):
        grid[(math.floor(x / eps), math.floor(y / eps))].append(index)
    found: list[list[int]] = []
    for _id, x, y in points:
        cx, cy = math.floor(x / eps), math.floor(y / eps)
        cells = [(cx + dx, cy + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        found.append(
            [
                other
                for cell in cells
                for other in grid.get(cell, ())
                if (points[other][1] - x) ** 2 + (points[other][2] - y) ** 2 <= eps * eps
            ]
        )
    return found


def _label_cores(near: list[list[int]], core: list[bool]) -> tuple[list[int | None], int]:
    """Cores numbered by connected cluster; everything else None."""
    label: list[int | None] = [None] * len(near)
    count = 0
    for start, is_core in enumerate(core):
        if not is_core or label[start] is not None:
            continue
        label[start] = count
        stack = [start]
        while stack:
            for other in near[stack.pop()]:
                if core[other] and label[other] is None:
                    label[other] = count
                    stack.append(other)
        count += 1
    return label, count


def _border_label(
    points: Sequence[Point],
    near: list[int],
    core: list[bool],
    label: list[int | None],
    index: int,
) -> int | None:
    """The cluster of the nearest core within eps (ties: the lowest id), or None: noise."""
    cores = [other for other in near if core[other]]
    if not cores:
        return None
    _id, x, y = points[index]
    nearest = min(
        cores,
        key=lambda o: ((points[o][1] - x) ** 2 + (points[o][2] - y) ** 2, str(points[o][0])),
    )
    return label[nearest]
