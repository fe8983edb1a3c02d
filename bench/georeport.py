"""GeoReport v2 on PostGIS with a million requests: our HTTP API against raw SQL.

Run from the project root (PostgreSQL + PostGIS on 127.0.0.1:5432, user postgres):

    .venv/bin/python -m bench.georeport                 # 1,000,000 requests (~1.5 min of seeding)
    .venv/bin/python -m bench.georeport --rows 100000   # a quick check
    .venv/bin/python -m bench.georeport --reuse         # measure again on the seeded database

What it does:

1. Drops and creates the database `open311_bench` (or --database-url), adds
   PostGIS, migrates it with open311.database.upgrade_schema, loads
   services_catalog/chicago (tests/fixtures/catalog when that is empty), and
   seeds --rows requests over the last three years, inside the city boundary,
   with one INSERT … SELECT (bench/seed.py); then VACUUM ANALYZE. With
   --reuse it only migrates and reloads the catalogue.
2. Starts `gunicorn wsgi:app` on that database: sync workers, --workers
   (default 2 x CPUs + 1, gunicorn's rule: 5 on a 2-core machine).
3. GET /open311/v2/requests.json and .xml with no parameters (the spec
   default: the last 90 days, newest 1,000): --gets requests each after
   --warmup, one at a time, median and p95; against one PostgreSQL query that
   builds the same JSON (json_agg of the same columns, names, datetime
   format, filter, order and limit) timed from psycopg. The three take turns,
   so a burst of other work on the machine hits them alike. The app's page
   is checked to equal PostgreSQL's first.
4. POST /open311/v2/requests.json: --posts distinct valid reports from
   --clients concurrent clients (a kept-alive http.client connection each), requests/s;
   against the same reports as raw single-row INSERTs, one COMMIT per row,
   from the same number (16) of concurrent psycopg connections, rows/s (and,
   for information, from one connection).
   The same forms then go to bench/floor.py under the same gunicorn: Flask
   and SQLAlchemy Core running only the raw INSERT and a COMMIT, the most any
   Flask app filing these reports can do here. The POST's targets are against
   it (issue 15): 40% of its rate or more, and at most 5 ms of server CPU.
   The same forms without their api_key go to our server too, refused (403)
   before any statement: what the edge's checks (limits, logs, metrics,
   parameters, the key's absence) cost of that budget whatever the filing does.
5. Server CPU per request, from /proc: gunicorn's workers plus their
   PostgreSQL backends for ours, the PostgreSQL backend alone for raw SQL.
   Unlike latency and throughput, this does not move with other load.
6. Prints the table (metric, ours, raw, ratio, target, PASS/FAIL) and writes
   bench/out/georeport-<time>.json and bench/out/gunicorn.log. Nothing else
   in the repository is written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench import cpu, floor, measure, seed, server, workload
from bench.measure import Latency, Throughput

OUT = Path(__file__).parent / "out"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/open311_bench"
REQUESTS_PATH = "/open311/v2/requests"
RAW_NUMBERS_FROM = 90_000_000  # raw INSERTs number their rows far above the app's
# The POST's targets (issue 15): its rate against the floor's (bench/floor.py) in
# the same run, and the server CPU it costs, gunicorn's workers and PostgreSQL's.
POST_RATE_OF_FLOOR = 0.40
POST_CPU_MS = 5.0


@dataclass(frozen=True)
class Results:
    setup: dict[str, Any]
    gets: dict[str, Latency]
    cpu_ms: dict[str, float]  # server CPU per request
    posts: Throughput
    floor: Throughput  # the same forms through bench.floor: the web stack and the INSERT alone
    inserts: Throughput
    serial_inserts: Throughput
    stored: dict[str, int]


@dataclass(frozen=True)
class Line:
    metric: str
    ours: float
    raw: float
    target: str = ""
    passes: Callable[[float], bool] | None = None  # None: for information
    rate: bool = False  # per second: the ratio is shown as a share
    absolute: bool = False  # passes() judges `ours` itself, not the ratio

    @property
    def judged(self) -> float:
        return self.ours if self.absolute else self.ratio

    @property
    def ratio(self) -> float:
        return self.ours / self.raw if self.raw else float("inf")

    @property
    def verdict(self) -> str:
        if self.passes is None:
            return ""
        return "PASS" if self.passes(self.judged) else "FAIL"


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    OUT.mkdir(exist_ok=True)
    seed.use_the_apps_session_settings()
    dsn = seed.psycopg_dsn(options.database_url)
    setup = build_database(options, dsn)
    key_id, key = seed.new_api_key(options.database_url)
    tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    reports = workload.reports(dsn, key, key_id, options.posts + options.post_warmup, tag)
    warmup, timed = reports[: options.post_warmup], reports[options.post_warmup :]
    setup["load average before"] = load_average()
    with server.gunicorn(
        options.database_url,
        workers=options.workers,
        threads=options.threads,
        log=OUT / "gunicorn.log",
    ) as running:
        gets, cpu_ms = measure_gets(running, dsn, options)
        posts, cpu_ms["POST"] = measure_posts(running, dsn, warmup, timed, options)
        # The same forms without their key: what the edge's checks cost before any statement.
        _refused, cpu_ms["REFUSED"] = measure_posts(
            running, dsn, keyless(warmup), keyless(timed), options, status=403
        )
    with server.gunicorn(
        options.database_url,
        workers=options.workers,
        threads=options.threads,
        log=OUT / "gunicorn.log",
        app="bench.floor:app",
    ) as running:
        floor, cpu_ms["FLOOR"] = measure_posts(running, dsn, warmup, timed, options)
    remove_floor_rows(dsn)
    setup["load average after"] = load_average()
    stored = count_stored(dsn, key_id)
    inserts, cpu_ms["INSERT"], serial = measure_inserts(dsn, [r.row for r in timed], options)
    results = Results(setup, gets, cpu_ms, posts, floor, inserts, serial, stored)
    lines = table(results)
    report(options, results, lines, tag)
    failed = any(line.verdict == "FAIL" for line in lines)
    return 1 if failed or posts.errors or inserts.errors or serial.errors else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.georeport", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("--database-url", default=os.environ.get("OPEN311_BENCH_URL", DEFAULT_URL))
    add("--rows", type=int, default=1_000_000, help="requests to seed (default 1,000,000)")
    add("--reuse", action="store_true", help="keep the seeded database; only measure")
    add("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    add("--threads", type=int, default=1, help="gunicorn threads per worker (1: sync)")
    add("--gets", type=int, default=100, help="timed GETs per format (default 100)")
    add("--warmup", type=int, default=20, help="untimed GETs per format first")
    add("--posts", type=int, default=2000, help="timed POSTs, and as many raw INSERTs")
    add("--post-warmup", type=int, default=64, help="untimed POSTs first")
    add("--clients", type=int, default=16, help="concurrent POST clients and raw connections")
    return parser.parse_args(argv)


def build_database(options: argparse.Namespace, dsn: str) -> dict[str, Any]:
    if options.reuse:  # still migrate: the schema may have moved on since the seeding
        catalog = seed.prepare(options.database_url)
        return {"seeded": "reused", "catalog": str(catalog), **database_facts(dsn)}
    seed.recreate_database(options.database_url)
    catalog = seed.prepare(options.database_url)
    say(f"seeding {options.rows:,} requests …")
    seconds = seed.seed(dsn, options.rows)
    say(f"seeded in {seconds:.1f} s")
    seeded = f"{options.rows:,} rows in {seconds:.1f} s"
    return {"seeded": seeded, "catalog": str(catalog), **database_facts(dsn)}


def database_facts(dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as connection:
        facts = connection.execute(
            "SELECT (SELECT count(*) FROM service_request),"
            " (SELECT count(*) FROM service_request"
            "   WHERE requested_at >= now() - interval '90 days'),"
            " (SELECT count(*) FROM service WHERE active),"
            " split_part(version(), ' ', 2)"
        ).fetchone()
    names = ("requests", "last 90 days", "active services", "postgresql")
    return dict(zip(names, facts or (), strict=True))


def load_average() -> str:
    """The machine's 1-minute load: other work on it skews latency and throughput."""
    return f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def measure_gets(
    running: server.Running, dsn: str, options: argparse.Namespace
) -> tuple[dict[str, Latency], dict[str, float]]:
    """Latency of each kind of GET, and the server CPU milliseconds each costs."""
    http = measure.HttpGetter(running.base_url)
    with closing(http), psycopg.connect(dsn, autocommit=True) as connection:
        raw = measure.raw_json(connection)
        json_page = measure.http_get(http, f"{REQUESTS_PATH}.json")
        xml_page = measure.http_get(http, f"{REQUESTS_PATH}.xml")
        check_same_page(json_page(), raw())
        say("GET: raw SQL, JSON and XML, in turn …")
        calls: dict[str, Callable[[], object]] = {"raw": raw, "json": json_page, "xml": xml_page}
        latency = measure.timed(calls, options.warmup, options.gets)
        ours = app_processes(running, dsn)
        finders = {"raw": lambda: [connection.info.backend_pid], "json": ours, "xml": ours}
        cpu_ms = {
            f"GET {name}": cpu_ms_per_call(finders[name], call, options.gets)
            for name, call in calls.items()
        }
    return latency, cpu_ms


def app_processes(running: server.Running, dsn: str) -> Callable[[], list[int]]:
    """gunicorn's workers and every PostgreSQL backend serving this database."""
    return lambda: cpu.children(running.pid) + cpu.backends(dsn)


def cpu_ms_per_call(find: Callable[[], list[int]], call: Callable[[], object], count: int) -> float:
    with cpu.CpuMeter(find) as meter:
        for _ in range(count):
            call()
    return meter.seconds * 1000 / count


def check_same_page(ours: bytes, raw: str) -> None:
    problems = measure.same_page(ours, raw)
    if problems:
        raise SystemExit("the app's page differs from PostgreSQL's:\n" + "\n".join(problems[:5]))
    say(f"the app's default page equals PostgreSQL's ({len(json.loads(ours))} rows)")


def measure_posts(
    running: server.Running,
    dsn: str,
    warmup: list[workload.Report],
    timed: list[workload.Report],
    options: argparse.Namespace,
    status: int = 200,
) -> tuple[Throughput, float]:
    """POSTs per second from concurrent clients, and the server CPU ms per POST; each
    answered `status`."""
    url = f"{running.base_url}{REQUESTS_PATH}.json"
    posters = [measure.HttpPoster(url, status) for _ in range(options.clients)]
    with measure.opened(posters):
        warm = measure.run_concurrently([r.form for r in warmup], posters)
        if warm.errors:
            raise SystemExit(f"POST warm-up failed: {warm.errors[:3]}")
        say(f"POST: {len(timed)} from {options.clients} clients …")
        with cpu.CpuMeter(app_processes(running, dsn)) as meter:
            posts = measure.run_concurrently([r.form for r in timed], posters)
    return posts, meter.seconds * 1000 / len(timed)


def keyless(reports: list[workload.Report]) -> list[workload.Report]:
    return [replace(r, form={k: v for k, v in r.form.items() if k != "api_key"}) for r in reports]


def measure_inserts(
    dsn: str, rows: list[dict[str, Any]], options: argparse.Namespace
) -> tuple[Throughput, float, Throughput]:
    """Rows per second and server CPU ms per row from --clients connections; then from one."""
    say(f"raw INSERTs: {len(rows)} from {options.clients} connections, then from 1 …")
    numbered = workload.number_rows(dsn, rows, RAW_NUMBERS_FROM)
    inserters = [measure.RawInserter(dsn) for _ in range(options.clients)]
    with measure.opened(inserters), cpu.CpuMeter(lambda: cpu.backends(dsn)) as meter:
        inserts = measure.run_concurrently(numbered, inserters)
    half = workload.number_rows(dsn, rows[: len(rows) // 2], RAW_NUMBERS_FROM)
    with measure.opened([measure.RawInserter(dsn)]) as inserter:
        serial = measure.run_concurrently(half, inserter)
    return inserts, meter.seconds * 1000 / len(rows), serial


def remove_floor_rows(dsn: str) -> None:
    with psycopg.connect(dsn) as connection:
        connection.execute(
            "DELETE FROM service_request WHERE number LIKE %s", (f"{floor.NUMBER_PREFIX}%",)
        )


def count_stored(dsn: str, key_id: int) -> dict[str, int]:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT count(*), count(DISTINCT number) FROM service_request WHERE api_key_id = %s",
            (key_id,),
        ).fetchone()
    return {"rows": row[0], "distinct numbers": row[1]} if row else {}


def table(results: Results) -> list[Line]:
    gets, cpu_ms = results.gets, results.cpu_ms
    raw = gets["raw"]
    posts, inserts = results.posts.per_second, results.inserts.per_second
    floor_rate = results.floor.per_second
    return [
        Line("GET .json median (ms)", gets["json"].median, raw.median, "≤ 2x", lambda r: r <= 2),
        Line("GET .json p95 (ms)", gets["json"].p95, raw.p95),
        Line("GET .xml median (ms)", gets["xml"].median, raw.median, "≤ 3x", lambda r: r <= 3),
        Line("GET .xml p95 (ms)", gets["xml"].p95, raw.p95),
        Line("POST, 16 clients (per s)", posts, inserts, rate=True),
        Line("  vs INSERTs, 1 connection", posts, results.serial_inserts.per_second, rate=True),
        Line(
            "  vs Flask + the INSERT alone",
            posts,
            floor_rate,
            f"≥ {POST_RATE_OF_FLOOR:.0%}",
            lambda r: r >= POST_RATE_OF_FLOOR,
            rate=True,
        ),
        Line("Flask + the INSERT alone (per s)", floor_rate, inserts, rate=True),
        Line("server CPU per GET .json (ms)", cpu_ms["GET json"], cpu_ms["GET raw"]),
        Line("server CPU per GET .xml (ms)", cpu_ms["GET xml"], cpu_ms["GET raw"]),
        Line(
            "server CPU per POST (ms)",
            cpu_ms["POST"],
            cpu_ms["INSERT"],
            f"≤ {POST_CPU_MS:g} ms",
            lambda ms: ms <= POST_CPU_MS,
            absolute=True,
        ),
        Line("  Flask + the INSERT alone (ms)", cpu_ms["FLOOR"], cpu_ms["INSERT"]),
        Line("  refused (403), no statement (ms)", cpu_ms["REFUSED"], cpu_ms["INSERT"]),
    ]


def report(options: argparse.Namespace, results: Results, lines: list[Line], tag: str) -> None:
    print_setup(options, results)
    print_table(lines)
    for name, run in (
        ("POST", results.posts),
        ("FLOOR", results.floor),
        ("INSERT", results.inserts),
    ):
        for error in run.errors[:5]:
            say(f"{name} error: {error}")
    document = {
        "options": vars(options),
        **asdict(results),
        "table": [{**asdict(line), "ratio": line.ratio, "verdict": line.verdict} for line in lines],
    }
    text = json.dumps(document, indent=1, default=str)
    (OUT / f"georeport-{tag}.json").write_text(text, encoding="utf-8")


def print_setup(options: argparse.Namespace, results: Results) -> None:
    facts = {
        **results.setup,
        "gunicorn": f"{options.workers} sync workers x {options.threads} threads",
        "POSTs": describe(results.posts, f"{options.clients} clients"),
        "stored by the app": f"{results.stored} (the warm-up included)",
        "Flask + INSERT alone": describe(results.floor, f"{options.clients} clients"),
        "raw INSERTs": describe(results.inserts, f"{options.clients} connections"),
        "raw INSERTs, serial": describe(results.serial_inserts, "1 connection"),
    }
    say("")
    for key, value in facts.items():
        say(f"  {key:<21} {value}")
    say("")


def describe(run: Throughput, clients: str) -> str:
    return f"{run.count} in {run.seconds:.2f} s from {clients}, {len(run.errors)} errors"


def print_table(lines: list[Line]) -> None:
    say(f"{'metric':<32}{'ours':>10}{'raw':>10}{'ratio':>9}  {'target':<8}result")
    for line in lines:
        ratio = f"{line.ratio:.0%}" if line.rate else f"{line.ratio:.2f}x"
        figures = f"{line.ours:>10.1f}{line.raw:>10.1f}{ratio:>9}"
        say(f"{line.metric:<32}{figures}  {line.target:<8}{line.verdict}")


def say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
