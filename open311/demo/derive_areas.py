"""Rebuild the compact Chicago area files that `flask open311 load-chicago-areas` loads.

derive_areas() reads the four boundary files of shared/chicago311 (README §3e)
and writes simplified copies to <data_dir>/areas/, with the same file names
and properties, so the server needs nothing outside the repository at run
time. It refuses to write them if simplifying changes the area of any 2021
sample request, or lowers agreement with the ward, community area or police
district the City recorded for it. Running it twice gives byte-identical files.
Usage: python -m open311.demo.derive_areas SOURCE [DATA_DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from open311.areas.loader import CHICAGO_FILES, AreaFile, AreaShape, read_areas
from open311.demo.derive import SAMPLE_2021, has_location, read_csv

BOUNDARIES = Path("boundaries")
AREAS_DIR = "areas"
# Visvalingam-Whyatt on the whole coverage at once: neighbours keep one shared
# edge, so simplifying opens no gaps and makes no overlaps between areas.
# 0.0001 degrees (about 10 m) leaves every 2021 sample point in the same area.
SIMPLIFY_DEGREES = 0.0001
PRECISION_DEGREES = 1e-6  # about 0.1 m; shorter numbers in the files
MIN_SAME_AREA = 0.999  # sample points that must keep their full-resolution area
SAMPLE_COLUMNS = frozenset({"ward", "community_area", "police_district"})


@dataclass(frozen=True)
class KindReport:
    kind: str
    areas: int
    size: int
    same_area: float  # sample points in the same area as at full resolution
    agreement_full: float | None  # share matching the City's recorded code
    agreement_simplified: float | None


def derive_areas(source: Path, data_dir: Path) -> list[KindReport]:
    """Write <data_dir>/areas/*.geojson from SOURCE (shared/chicago311)."""
    sample = [row for row in read_csv(source / SAMPLE_2021) if has_location(row)]
    points = shapely.points([(float(r["longitude"]), float(r["latitude"])) for r in sample])
    (data_dir / AREAS_DIR).mkdir(parents=True, exist_ok=True)
    return [derive_kind(source, data_dir, area_file, sample, points) for area_file in CHICAGO_FILES]


def derive_kind(
    source: Path,
    data_dir: Path,
    area_file: AreaFile,
    sample: Sequence[dict[str, str]],
    points: np.ndarray,
) -> KindReport:
    full = read_areas(
        source / BOUNDARIES / area_file.filename, area_file.code_property, area_file.name_property
    )
    simplified = simplify(full)
    report = compare(area_file.kind, full, simplified, sample, points)
    check(report)
    path = data_dir / AREAS_DIR / area_file.filename
    path.write_text(areas_geojson(area_file, simplified), encoding="utf-8")
    return replace(report, size=path.stat().st_size)


def simplify(shapes: Sequence[AreaShape]) -> list[AreaShape]:
    geometries = shapely.coverage_simplify([s.geometry for s in shapes], SIMPLIFY_DEGREES)
    geometries = shapely.set_precision(geometries, PRECISION_DEGREES)
    return [
        AreaShape(area.code, area.name, as_multipolygon(geometry))
        for area, geometry in zip(shapes, geometries, strict=True)
    ]


def as_multipolygon(geometry: BaseGeometry) -> MultiPolygon:
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    if isinstance(geometry, MultiPolygon) and geometry.is_valid:
        return geometry
    raise ValueError(f"simplifying gave an invalid or non-polygonal {geometry.geom_type}")


def compare(
    kind: str,
    full: Sequence[AreaShape],
    simplified: Sequence[AreaShape],
    sample: Sequence[dict[str, str]],
    points: np.ndarray,
) -> KindReport:
    before, after = area_codes(full, points), area_codes(simplified, points)
    same = sum(a == b for a, b in zip(before, after, strict=True)) / len(points)
    if kind not in SAMPLE_COLUMNS:
        return KindReport(kind, len(simplified), 0, same, None, None)
    recorded = [row[kind] for row in sample]
    return KindReport(
        kind, len(simplified), 0, same, agreement(before, recorded), agreement(after, recorded)
    )


def area_codes(shapes: Sequence[AreaShape], points: np.ndarray) -> list[str | None]:
    """Each point's area code; on a shared edge the lowest code, as spatial.area_codes_at does."""
    tree = shapely.STRtree([s.geometry for s in shapes])
    codes: list[str | None] = [None] * len(points)
    for point_index, shape_index in zip(*tree.query(points, predicate="intersects"), strict=True):
        code, current = shapes[shape_index].code, codes[point_index]
        codes[point_index] = code if current is None else min(code, current)
    return codes


def agreement(codes: Sequence[str | None], recorded: Sequence[str]) -> float:
    """The share of points the City placed in an area that we place in the same one."""
    pairs = [(code, city) for code, city in zip(codes, recorded, strict=True) if city]
    return sum(code == city for code, city in pairs) / len(pairs)


def check(report: KindReport) -> None:
    if report.same_area < MIN_SAME_AREA:
        raise ValueError(
            f"{report.kind}: simplifying moved {1 - report.same_area:.2%} of sample points"
        )
    full, simplified = report.agreement_full, report.agreement_simplified
    if full is not None and simplified is not None and simplified < full:
        raise ValueError(
            f"{report.kind}: simplifying lowers agreement with the City "
            f"from {full:.2%} to {simplified:.2%}"
        )


def areas_geojson(area_file: AreaFile, shapes: Sequence[AreaShape]) -> str:
    collection = {
        "type": "FeatureCollection",
        "source": (
            "City of Chicago Data Portal boundaries, "
            f"shared/chicago311/{BOUNDARIES / area_file.filename} (its README, section 3e); "
            f"simplified as a coverage by {SIMPLIFY_DEGREES} degrees and rounded to "
            f"{PRECISION_DEGREES} degrees by open311/demo/derive_areas.py"
        ),
        "features": [feature(area_file, area) for area in shapes],
    }
    return json.dumps(collection, separators=(",", ":"), ensure_ascii=False) + "\n"


def feature(area_file: AreaFile, area: AreaShape) -> dict[str, object]:
    properties = {area_file.code_property: area.code}
    if area_file.name_property:
        properties[area_file.name_property] = area.name
    # Snapped to the grid already; rounding drops the binary noise (…000001) from the text.
    geometry = shapely.transform(area.geometry, lambda xy: np.round(xy, 6))
    return {"type": "Feature", "properties": properties, "geometry": mapping(geometry)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Rebuild the Chicago area files.")
    parser.add_argument("source", type=Path, help="the shared/chicago311 folder")
    parser.add_argument("data_dir", type=Path, nargs="?", default=Path(__file__).parent / "data")
    args = parser.parse_args()
    for report in derive_areas(args.source, args.data_dir):
        sys.stdout.write(f"{report}\n")


if __name__ == "__main__":
    main()
