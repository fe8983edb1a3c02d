"""The generated Chicago-shaped history: PostgreSQL only, and shaped like the profile."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from open311.extensions import db
from open311.opendata.history import generate_history, load_profile

ROWS = 20_000
NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
SEASON_MONTHS = {"summer": (6, 7, 8), "winter": (1, 2, 12)}


def test_the_cli_refuses_sqlite_and_generates_on_postgis(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["open311", "generate-history", "--rows", "10"])
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect == "sqlite":
        assert result.exit_code == 1
        assert "PostgreSQL + PostGIS only; this database is SQLite" in result.output
    else:
        assert result.exit_code == 0, result.output
        assert result.output.startswith("10 requests generated")


def test_the_history_follows_the_profile(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            # The SpatiaLite lane checks the refusal above; this one needs PostGIS.
            assert "sqlite" in db.engine.dialect.name
            return
        _load_areas()
        session = db.session()
        profile = load_profile()
        report = generate_history(
            session, profile, ROWS, time_zone=_zone(app), now=NOW, years=3, seed=7
        )
        db.session.commit()
        rows = session.execute(sa.text(
            "SELECT number, service_code, status, requested_at, updated_at, ward,"
            " extract(month FROM requested_at AT TIME ZONE 'America/Chicago')::int"
            " FROM service_request"
        )).all()  # fmt: skip
    assert report.inserted == ROWS == len(rows)
    assert len({row[0] for row in rows}) == ROWS  # numbers are unique
    _check_type_mix(profile, Counter(row[1] for row in rows))
    _check_seasons(profile, Counter(row[6] for row in rows))
    closed = [row for row in rows if row[2] == "closed"]
    assert closed
    assert all(row[4] >= row[3] for row in closed)
    assert all(row[3] <= NOW for row in rows)
    assert sum(row[5] is not None for row in rows) > 0.95 * ROWS  # areas tagged


def _zone(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["open311.jurisdiction"].time_zone


def _load_areas() -> None:
    from open311.areas.loader import CHICAGO_FILES, load_areas, read_areas
    from open311.config import PACKAGE_DIR

    directory = PACKAGE_DIR / "demo" / "data" / "areas"
    for area_file in CHICAGO_FILES:
        shapes = read_areas(
            directory / area_file.filename, area_file.code_property, area_file.name_property
        )
        load_areas(db.session(), area_file.kind, shapes)
    db.session.commit()


def _check_type_mix(profile: dict, counts: Counter[str]) -> None:  # type: ignore[type-arg]
    """Each type's share, renormalised to the services here, within a few points."""
    shares = {t["code"]: t["share"] for t in profile["types"] if t["code"] in counts}
    total = sum(shares.values())
    for code, share in shares.items():
        expected = share / total
        assert counts[code] / ROWS == pytest.approx(expected, abs=0.02), code


def _check_seasons(profile: dict, months: Counter[int]) -> None:  # type: ignore[type-arg]
    """Summer is busier than winter, as the City's monthly counts say."""
    factors = profile["months"]
    summer = sum(months[m] for m in SEASON_MONTHS["summer"])
    winter = sum(months[m] for m in SEASON_MONTHS["winter"])
    expected = sum(factors[m - 1] for m in (6, 7, 8)) / sum(factors[m - 1] for m in (1, 2, 12))
    assert summer / winter == pytest.approx(expected, rel=0.1)
