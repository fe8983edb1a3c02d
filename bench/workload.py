"""Distinct, valid POST forms, and the rows a raw INSERT stores for the same reports."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Json

from open311.config import DEFAULTS
from open311.spatial import Boundary

# Minimal valid answers for required questions, by datatype.
ANSWERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "number": lambda question: str(question.get("min", 1)),
    "datetime": lambda question: "2026-01-15T09:30:00-06:00",
    "string": lambda question: "Bench",
    "text": lambda question: "Bench",
}


@dataclass(frozen=True)
class Report:
    form: dict[str, Any]  # what the HTTP client sends
    row: dict[str, Any]  # what the raw INSERT stores


def load_services(dsn: str) -> list[dict[str, Any]]:
    """Active realtime services that need no review (their POST reply carries an id)."""
    with psycopg.connect(dsn) as connection:
        cursor = connection.execute(
            "SELECT code, attributes, agency_responsible, service_notice, target_days FROM service"
            " WHERE active AND type = 'realtime' AND NOT review ORDER BY code"
        )
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, values, strict=True)) for values in cursor]


def city_points(dsn: str, count: int) -> list[tuple[float, float]]:
    """(lat, long) of seeded requests that lie inside the city's boundary as the app
    draws it: a generated history places a few requests just past it (the load test's
    soak met one among its 500 points), which a POST is rightly refused."""
    boundary = Boundary.from_geojson(Path(DEFAULTS["CITY_BOUNDARY"]))
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT round(lat::numeric, 6)::float8, round(long::numeric, 6)::float8"
            " FROM service_request ORDER BY random() LIMIT %s",
            (count * 2,),
        ).fetchall()
    return [(lat, long) for lat, long in rows if boundary.contains(long, lat)][:count]


def reports(dsn: str, api_key: str, api_key_id: int, count: int, tag: str) -> list[Report]:
    services = load_services(dsn)
    points = city_points(dsn, count)
    chooser = random.Random(tag)
    return [
        _report(
            chooser.choice(services), points[i % len(points)], api_key, api_key_id, f"{tag}-{i}"
        )
        for i in range(count)
    ]


def required_answers(service: dict[str, Any]) -> dict[str, Any]:
    """{code: value} answering each required, variable question of a service."""
    answers: dict[str, Any] = {}
    for question in service["attributes"]:
        if not question["required"] or not question.get("variable", True):
            continue
        datatype = question["datatype"]
        if datatype in ("singlevaluelist", "multivaluelist"):
            key = question["values"][0]["key"]
            answers[question["code"]] = [key] if datatype == "multivaluelist" else key
        else:
            answers[question["code"]] = ANSWERS[datatype](question)
    return answers


def _report(
    service: dict[str, Any], point: tuple[float, float], api_key: str, api_key_id: int, label: str
) -> Report:
    lat, long = point
    answers = required_answers(service)
    description = f"Bench report {label}: pothole deep enough to damage a tyre"
    form = {
        "api_key": api_key,
        "service_code": service["code"],
        "lat": f"{lat:.6f}",
        "long": f"{long:.6f}",
        "description": description,
        "email": f"bench-{label}@example.org",
        **{f"attribute[{code}]": value for code, value in answers.items()},
    }
    return Report(form, _row(service, lat, long, description, answers, api_key_id, form["email"]))


def _row(
    service: dict[str, Any],
    lat: float,
    long: float,
    description: str,
    answers: dict[str, Any],
    api_key_id: int,
    email: str,
) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    target = service["target_days"]
    return {
        "service_code": service["code"],
        "description": description,
        "agency_responsible": service["agency_responsible"],
        "service_notice": service["service_notice"],
        "now": now,
        "expected_at": now + timedelta(days=target) if target else None,
        "address": grid_address(long, lat),
        "lat": lat,
        "long": long,
        "attributes": Json(answers),
        "api_key_id": api_key_id,
        "email": email,
        "phone": None,
        "first_name": None,
        "last_name": None,
        "device_id": None,
        "account_id": None,
    }


def grid_address(lon: float, lat: float) -> str:
    """'Near 4000 N 1600 W, CHICAGO, IL': Chicago's grid, as bench/seed.py writes it."""
    north = (lat - 41.882058) * 69.05 * 800
    east = (lon + 87.627778) * 69.05 * math.cos(math.radians(41.882058)) * 800
    return f"Near {_on_axis(north, 'N', 'S')} {_on_axis(east, 'E', 'W')}, CHICAGO, IL"


def _on_axis(numbers: float, positive: str, negative: str) -> str:
    block = round(abs(numbers) / 100.0) * 100
    return f"{block} {negative if numbers < 0 and block else positive}"


def number_rows(dsn: str, rows: list[dict[str, Any]], first: int) -> list[dict[str, Any]]:
    """Give raw rows numbers from `first` on, far above anything the app hands out,
    after those that earlier runs on this database took."""
    year = datetime.now(UTC).year % 100
    with psycopg.connect(dsn) as connection:
        taken = connection.execute(
            "SELECT count(*) FROM service_request WHERE number >= %s AND number LIKE %s",
            (f"SR{year:02d}-{first:08d}", f"SR{year:02d}-%"),
        ).fetchone()
    first += taken[0] if taken else 0
    return [{**row, "number": f"SR{year:02d}-{first + i:08d}"} for i, row in enumerate(rows)]
