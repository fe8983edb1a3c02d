"""The supervisor's dashboard on PostGIS: each figure over HTTP beside its raw SQL.

    .venv/bin/python -m bench.dashboard --reuse              # bench.neighbourhoods' 10M store
    .venv/bin/python -m bench.dashboard --requests 1000000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/open311_bench_dashboard

1. With --reuse, measures the store bench.neighbourhoods made (open311_bench_10m,
   or --database-url); else drops and builds one of --requests generated requests
   as bench.neighbourhoods does (migrate, Chicago catalogue and areas,
   generate-history, VACUUM ANALYZE).
2. Adds an administrator and starts gunicorn (bench/server.py); then, for the
   whole city and for the department with the most open requests, GETs each
   figure of /open311/staff/dashboard/ and runs the same figure in raw SQL from
   psycopg, written as one would by hand (date_trunc for the local weeks, one
   window query for the medians, the interval's ranks by the normal
   approximation), taking turns, both without JIT. The raw answers are checked
   against the app's first (the same counts, weeks and medians).
3. Prints each figure's median latency, ours beside raw, and the ratio against
   the limit (≤ 2x); writes bench/out/dashboard-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from bench import measure, neighbourhoods, seed, server
from bench.georeport import load_average
from open311 import create_app
from open311.accounts.staff import create_staff
from open311.database import begin_write
from open311.extensions import db
from open311.models import Role
from open311.workflow import actions, dashboard

OUT = Path(__file__).parent / "out"
facts_fixed: list[float] = []  # GET /me's median: what every staff GET costs besides its figure
LIMIT = 2.0
ZONE = ZoneInfo(seed.TIME_ZONE)
OPEN = "('new', 'acknowledged', 'assigned', 'scheduled', 'in_progress'," \
    " 'awaiting_reporter', 'reopened')"  # fmt: skip

RAW_OPEN_BY_STAGE = f"""
SELECT stage, CASE WHEN requested_at > %(now)s - interval '48 hours' THEN 0
                   WHEN requested_at > %(now)s - interval '168 hours' THEN 1
                   WHEN requested_at > %(now)s - interval '720 hours' THEN 2
                   WHEN requested_at > %(now)s - interval '2160 hours' THEN 3
                   ELSE 4 END AS band, count(*)
FROM service_request
WHERE intake = 'accepted' AND stage IN {OPEN} {{department}}
GROUP BY 1, 2
"""
RAW_OVERDUE = f"""
SELECT sr.service_code, s.name, count(*), count(*) FILTER (WHERE sr.due_at < %(now)s)
FROM service_request sr JOIN service s ON s.code = sr.service_code
WHERE sr.intake = 'accepted' AND sr.stage IN {OPEN} {{department}}
GROUP BY 1, 2
"""
CLOSED_AT = """coalesce((SELECT max(e.at) FROM request_event e
  WHERE e.service_request_id = sr.id AND e.to_stage = 'closed' AND e.from_stage <> 'closed'),
  sr.updated_at)"""
RAW_FILED = """
SELECT date_trunc('week', requested_at AT TIME ZONE %(zone)s)::date, count(*)
FROM service_request sr
WHERE intake = 'accepted' AND requested_at >= %(first)s {department}
GROUP BY 1
"""
RAW_CLOSED = f"""
SELECT date_trunc('week', c.closed_at AT TIME ZONE %(zone)s)::date, count(*)
FROM service_request sr CROSS JOIN LATERAL (SELECT {CLOSED_AT} AS closed_at) c
WHERE sr.intake = 'accepted' AND sr.status = 'closed' AND sr.updated_at >= %(first)s
  AND c.closed_at >= %(first)s {{department}}
GROUP BY 1
"""
K = "greatest(1, floor(n / 2.0 + 0.5 - 1.96 * sqrt(n) / 2)::int)"
RAW_DAYS = f"""
WITH closed AS (
  SELECT {{area}} AS area, extract(epoch FROM c.closed_at - sr.requested_at) / 86400 AS days, sr.id
  FROM service_request sr CROSS JOIN LATERAL (SELECT {CLOSED_AT} AS closed_at) c
  WHERE sr.intake = 'accepted' AND sr.status = 'closed' AND sr.updated_at >= %(start)s
    AND c.closed_at >= %(start)s AND c.closed_at <= %(now)s
    AND (sr.close_reason IS NULL OR sr.close_reason <> 'duplicate') {{department}}
), ranked AS (
  SELECT area, days, row_number() OVER (PARTITION BY area ORDER BY days, id) AS rn,
         count(*) OVER (PARTITION BY area) AS n
  FROM closed
)
SELECT area, n, rn, days FROM ranked
WHERE rn IN ((n + 1) / 2, n / 2 + 1, {K}, n + 1 - {K})
"""


@dataclass(frozen=True)
class Line:
    figure: str
    scope: str
    ours: float
    raw: float

    @property
    def ratio(self) -> float:
        return self.ours / self.raw

    @property
    def verdict(self) -> str:
        return "PASS" if self.ratio <= LIMIT else "FAIL"


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    OUT.mkdir(exist_ok=True)
    seed.use_the_apps_session_settings()
    dsn = seed.psycopg_dsn(options.database_url)
    facts = store(options, dsn)
    token, department = administrator(options.database_url, dsn)
    facts["department"] = department
    facts["load average before"] = load_average()
    lines: list[Line] = []
    facts_fixed.clear()
    with server.gunicorn(
        options.database_url, workers=options.workers, threads=1, log=OUT / "gunicorn.log"
    ) as running:
        for scope in (None, department):
            lines += measure_scope(running, dsn, token, scope, options)
    facts["load average after"] = load_average()
    facts["GET /me median (ms)"] = f"{facts_fixed[0]:.1f}" if facts_fixed else "n/a"
    report(options, facts, lines)
    return 1 if any(line.verdict == "FAIL" for line in lines) else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    add_store_options(parser)
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args(argv)


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """The store's and the timing's options, shared with bench.console."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add(
        "--database-url",
        default=os.environ.get("OPEN311_BENCH_10M_URL", neighbourhoods.DEFAULT_URL),
    )
    add("--requests", type=int, default=10_000_000, help="requests to generate")
    add("--reuse", action="store_true", help="measure the store as it is")
    add("--seed", type=int, default=311)
    add("--repeat", type=int, default=15, help="timed calls of each figure, each way")
    add("--warmup", type=int, default=2)


def say(text: str) -> None:
    print(text, flush=True)


def administrator(url: str, dsn: str) -> tuple[str, str]:
    """A new administrator's token, and the department with the most open requests."""
    app = create_app(seed.bench_config(url))
    with app.app_context():
        session = db.session()
        begin_write(session)
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        _, token = create_staff(
            session, name="Benchmark administrator", email=f"bench.{stamp}@city.example",
            role=Role.ADMINISTRATOR, department=sorted(actions.departments(session))[0],
            known=actions.departments(session),
        )  # fmt: skip
        db.session.commit()
        db.engine.dispose()
    return token, most_open_department(dsn)


def store(options: argparse.Namespace, dsn: str) -> dict[str, Any]:
    """Build bench.neighbourhoods' store, or reuse it with --reuse; the facts of it."""
    build = argparse.Namespace(
        reuse=options.reuse, rows=options.requests, seed=options.seed,
        database_url=options.database_url,
    )  # fmt: skip
    return {"database": options.database_url, **neighbourhoods.build(build, dsn)}


def most_open_department(dsn: str) -> str:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            f"SELECT agency_responsible FROM service_request WHERE stage IN {OPEN}"
            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    assert row is not None, "the store has no open request"
    return str(row[0])


# --- raw SQL, and what it answers in the app's terms -----------------------------------


def raw_figure(
    connection: psycopg.Connection[Any], figure: str, scope: str | None, now: datetime
) -> Any:
    where = "AND agency_responsible = %(department)s" if scope else ""
    where_sr = "AND sr.agency_responsible = %(department)s" if scope else ""
    params: dict[str, Any] = {"now": now, "department": scope, "zone": seed.TIME_ZONE}
    if figure == "open-by-stage":
        rows = connection.execute(RAW_OPEN_BY_STAGE.format(department=where), params).fetchall()
        return sorted((stage, band, count) for stage, band, count in rows)
    if figure == "overdue-by-service":
        rows = connection.execute(RAW_OVERDUE.format(department=where_sr), params).fetchall()
        return sorted((code, count, late) for code, _, count, late in rows)
    if figure == "weekly":
        params["first"] = dashboard.week_starts(now, dashboard.DEFAULT_WEEKS, ZONE)[0]
        filed = connection.execute(RAW_FILED.format(department=where_sr), params).fetchall()
        closed = connection.execute(RAW_CLOSED.format(department=where_sr), params).fetchall()
        return (dict(filed), dict(closed))
    kind = "ward" if figure.endswith("ward") else "community_area"
    params["start"] = now - timedelta(days=dashboard.DEFAULT_DAYS)
    found = {}
    for area in (f"sr.{kind}", "NULL::text"):
        sql = RAW_DAYS.format(area=area, department=where_sr)
        picked: dict[Any, dict[int, float]] = {}
        counts: dict[Any, int] = {}
        for code, n, rank, days in connection.execute(sql, params):
            picked.setdefault(code, {})[rank] = float(days)
            counts[code] = n
        city = area.startswith("NULL")
        for code, n in counts.items():
            if n >= 10 and (city or code is not None):  # no area: in the city's only
                low, high = (n + 1) // 2, n // 2 + 1
                found["city" if city else code] = round(
                    (picked[code][low] + picked[code][high]) / 2, 2
                )
    return found


def raw_now(connection: psycopg.Connection[Any], figure: str, scope: str | None) -> Any:
    return raw_figure(connection, figure, scope, datetime.now(UTC))


def ours_in_raw_terms(figure: str, body: dict[str, Any]) -> Any:
    if figure == "open-by-stage":
        return sorted(
            (row["stage"], band, count)
            for row in body["stages"]
            for band, count in enumerate(row["by_age"])
            if count
        )
    if figure == "overdue-by-service":
        return sorted((s["service_code"], s["open"], s["overdue"]) for s in body["services"])
    if figure == "weekly":
        filed = {date.fromisoformat(w["week_of"]): w["filed"] for w in body["weeks"] if w["filed"]}
        closed = {
            date.fromisoformat(w["week_of"]): w["closed"] for w in body["weeks"] if w["closed"]
        }
        return (filed, closed)
    found = {a["code"]: a["median_days"] for a in body["areas"] if a["median_days"] is not None}
    if body["city"]["median_days"] is not None:
        found["city"] = body["city"]["median_days"]
    return found


# --- measuring ----------------------------------------------------------------------------


def measure_scope(
    running: server.Running,
    dsn: str,
    token: str,
    scope: str | None,
    options: argparse.Namespace,
) -> list[Line]:
    label = scope or "city"
    http = measure.HttpGetter(running.base_url)
    lines = []
    with closing(http), psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"SET TIME ZONE '{seed.TIME_ZONE}'")
        # As the app's dashboard queries run (dashboard._as_report): the comparison is
        # of the queries, not of PostgreSQL's JIT compiling them.
        connection.execute("SET jit = off")
        query = f"?department={scope}" if scope else ""

        def ours(figure: str) -> bytes:
            path = f"/open311/staff/dashboard/{figure}{query}".replace(" ", "%20")
            path = path.replace("dashboard/../", "")
            http.connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = http.connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status}: {body[:300]!r}")
            return body

        if scope is None:  # what any staff GET costs: HTTP, the token, JSON; no figure
            me = measure.timed({"me": lambda: ours("../me")}, options.warmup, options.repeat)
            say(f"GET /open311/staff/me (the fixed cost of a staff GET): {me['me'].median:.1f} ms")
            facts_fixed.append(me["me"].median)
        for figure in dashboard.FIGURES:
            body = json.loads(ours(figure))
            now = datetime.fromisoformat(body["as_of"]).astimezone(UTC)
            expected = raw_figure(connection, figure, scope, now)
            mine = ours_in_raw_terms(figure, body)
            if mine != expected:
                raise SystemExit(
                    f"{figure} ({label}): the app's figure differs from raw SQL:\n"
                    f"  app {str(mine)[:600]}\n  raw {str(expected)[:600]}"
                )
            say(f"{figure} ({label}): the app's figure equals raw SQL's; timing …")
            calls: dict[str, Callable[[], object]] = {
                "ours": partial(ours, figure),
                "raw": partial(raw_now, connection, figure, scope),
            }
            latency = measure.timed(calls, options.warmup, options.repeat)
            lines.append(Line(figure, label, latency["ours"].median, latency["raw"].median))
    return lines


def table(lines: list[Line]) -> None:
    """One line per figure: ours beside raw, the ratio, the limit, PASS or FAIL."""
    say(f"{'figure':<34}{'scope':<14}{'ours ms':>10}{'raw ms':>10}{'ratio':>8}  limit  result")
    for line in lines:
        scope = line.scope if len(line.scope) <= 13 else line.scope[:12] + "…"
        say(
            f"{line.figure:<34}{scope:<14}{line.ours:>10.1f}{line.raw:>10.1f}"
            f"{line.ratio:>7.2f}x  ≤{LIMIT:g}x   {line.verdict}"
        )


def report(options: argparse.Namespace, facts: dict[str, Any], lines: list[Line]) -> None:
    say("")
    for key, value in facts.items():
        say(f"  {key:<24} {value}")
    say("")
    table(lines)
    total_ours = sum(line.ours for line in lines)
    total_raw = sum(line.raw for line in lines)
    say(f"{'every figure, both scopes':<48}{total_ours:>10.1f}{total_raw:>10.1f}"
        f"{total_ours / total_raw:>7.2f}x")  # fmt: skip
    median = statistics.median(line.ours for line in lines) if lines else None
    write_out("dashboard", options, facts, lines, median_ms=median)


def write_out(
    name: str, options: argparse.Namespace, facts: dict[str, Any], lines: list[Line], **more: Any
) -> None:
    """bench/out/<name>-<time>.json: the options, the facts and the table."""
    tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    document = {
        "options": vars(options),
        "facts": facts,
        **more,
        "table": [
            {"figure": line.figure, "scope": line.scope, "ours_ms": line.ours,
             "raw_ms": line.raw, "ratio": line.ratio, "verdict": line.verdict}
            for line in lines
        ],
    }  # fmt: skip
    (OUT / f"{name}-{tag}.json").write_text(json.dumps(document, indent=1, default=str))


if __name__ == "__main__":
    sys.exit(main())
