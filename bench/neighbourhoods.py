"""Neighbourhood queries, the CSV feed and the import on a generated Chicago history.

    .venv/bin/python -m bench.neighbourhoods --rows 1000000      # quick
    .venv/bin/python -m bench.neighbourhoods                     # 10,000,000 requests
    .venv/bin/python -m bench.neighbourhoods --reuse             # measure again

1. Drops and creates `open311_bench_10m` (or --database-url), migrates it,
   loads the Chicago catalogue and areas, and fills it with --rows requests
   from open311.opendata.history (flask open311 generate-history); VACUUM ANALYZE.
2. Starts gunicorn (bench/server.py) and measures, each beside the same query
   in raw SQL from psycopg (json_agg of the same columns, filter, order and
   limit, as bench/georeport.py does), taking turns:
   (a) GET requests.json?lat=…&long=…&radius=500 (the default 90 days) at
       --points real places from the 2021 sample; median, p95;
   (b) GET requests.json?ward=…&status=open at every ward in turn;
   (c) the CSV feed /open311/feeds/requests.csv over HTTP, rows/s against
       its limit: the same COPY (SELECT …) TO STDOUT the feed runs (the City's
       39 columns, the same joins and formatting, in SQL) from psycopg, checked
       to give the same rows byte for byte; for information a bare COPY of 16
       stored columns; and the gunicorn worker's peak RSS for a small and a
       large export ("not available" when the app has no feed yet);
   (d) import_requests of a CSV of --import-rows generated requests into an
       empty database, rows/s against COPY service_request FROM of the same rows.
3. (e) SpatiaLite with --spatialite-rows of those requests: the same
   neighbourhood GET, in process through the app's test client. Which
   requests, --spatialite-sample: `spread` (default) takes every k-th
   request, so the store has the same three years of history at a tenth of
   the density, as a city holding a million requests would; `newest` takes
   the newest ones, a store whose whole million falls in the last few months
   (every 500 m page then holds ~1,000 requests): the densest case.
4. Prints the table and writes bench/out/neighbourhoods-<time>.json; the
   SpatiaLite file, CSV files and logs also go to bench/out/.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import itertools
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests
from sqlalchemy.engine import make_url

from bench import cpu, georeport, measure, seed, server
from bench.georeport import load_average
from bench.measure import RAW_JSON_SQL, Latency
from open311 import create_app
from open311.config import PACKAGE_DIR
from open311.database import begin_write
from open311.extensions import db
from open311.spatial import Box

OUT = Path(__file__).parent / "out"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/open311_bench_10m"
SAMPLE = PACKAGE_DIR / "demo" / "data" / "chicago_requests_2021.csv.gz"
REQUESTS = "/open311/v2/requests.json"
FEED = "/open311/feeds/requests.csv"
RADIUS = 500.0
FIXED_PLACES = ("311IOC", "AVN")

WINDOW = "sr.intake = 'accepted' AND sr.requested_at >= %(start)s"
RAW_NEAR_SQL = RAW_JSON_SQL.replace(
    WINDOW,
    WINDOW + " AND sr.location && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"
    " AND ST_DistanceSphere(sr.location, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))"
    " <= %(radius)s",
)
RAW_WARD_SQL = RAW_JSON_SQL.replace(
    WINDOW, WINDOW + " AND sr.ward = %(ward)s AND sr.status = 'open'"
)


@dataclass(frozen=True)
class Line:
    metric: str
    ours: float | None
    raw: float | None
    target: str = ""
    passes: Callable[[float, float], bool] | None = None  # (ours, raw) → ok

    @property
    def ratio(self) -> float | None:
        return self.ours / self.raw if self.ours is not None and self.raw else None

    @property
    def verdict(self) -> str:
        if self.passes is None:
            return ""
        if self.ours is None:
            return "n/a"
        return "PASS" if self.passes(self.ours, self.raw or 0.0) else "FAIL"


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    OUT.mkdir(exist_ok=True)
    seed.use_the_apps_session_settings()
    dsn = seed.psycopg_dsn(options.database_url)
    facts: dict[str, Any] = {"database": options.database_url, **build(options, dsn)}
    points = sample_points(options.points)
    facts["load average before"] = load_average()
    lines: list[Line] = []
    with server.gunicorn(
        options.database_url, workers=options.workers, threads=1, log=OUT / "gunicorn.log"
    ) as running:
        lines += neighbourhood(running, dsn, points, options)
        lines += wards(running, dsn, options)
        facts["load average after GETs"] = load_average()
        lines += feed(running, dsn, options, facts)
    if not options.skip_import:
        lines += imports(dsn, options, facts)
    if options.spatialite_rows:
        lines += spatialite(dsn, points, options, facts)
    facts["load average after"] = load_average()
    report(options, facts, lines)
    return 1 if any(line.verdict == "FAIL" for line in lines) else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.neighbourhoods", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("--database-url", default=os.environ.get("OPEN311_BENCH_10M_URL", DEFAULT_URL))
    add("--rows", type=int, default=10_000_000, help="requests to generate")
    add("--reuse", action="store_true", help="keep the generated database; only measure")
    add("--seed", type=int, default=311)
    add("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    add("--points", type=int, default=60, help="distinct real places to query around")
    add("--gets", type=int, default=120, help="timed GETs of each kind")
    add("--warmup", type=int, default=20)
    add("--import-rows", type=int, default=200_000)
    add("--spatialite-rows", type=int, default=1_000_000, help="0: skip SpatiaLite")
    add("--spatialite-sample", choices=("spread", "newest"), default="spread")
    add("--skip-feed", action="store_true")
    add("--skip-import", action="store_true")
    return parser.parse_args(argv)


def say(text: str) -> None:
    print(text, flush=True)


# --- the database ------------------------------------------------------------------------


def build(options: argparse.Namespace, dsn: str) -> dict[str, Any]:
    if options.reuse:
        seed.prepare(options.database_url)
        return {"generated": "reused", **facts_of(dsn)}
    seed.recreate_database(options.database_url)
    seed.prepare(options.database_url)
    say(f"generating {options.rows:,} requests …")
    started = time.perf_counter()
    generate(options.database_url, options.rows, options.seed)
    generated = time.perf_counter() - started
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) service_request")
    total = time.perf_counter() - started
    rate = options.rows / generated * 60
    say(f"generated in {generated:.1f} s ({rate:,.0f} rows/min); with VACUUM ANALYZE {total:.1f} s")
    return {
        "generated": f"{options.rows:,} rows in {generated:.1f} s ({rate:,.0f}/min)",
        "vacuum analyze": f"{total - generated:.1f} s",
        **facts_of(dsn),
    }


def generate(url: str, rows: int, seed_value: int) -> None:
    """What `flask open311 generate-history --rows N --seed S` does."""
    from open311.opendata.history import generate_history, load_profile

    app = create_app(seed.bench_config(url))
    with app.app_context():
        session = db.session()
        zone = app.extensions["open311.jurisdiction"].time_zone
        now = datetime.now(UTC).replace(microsecond=0)
        generate_history(session, load_profile(), rows, time_zone=zone, now=now, seed=seed_value)
        db.session.commit()
        db.engine.dispose()


def facts_of(dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT (SELECT count(*) FROM service_request),"
            " (SELECT count(*) FROM service_request"
            "  WHERE requested_at >= now() - interval '90 days'),"
            " pg_size_pretty(pg_total_relation_size('service_request'))"
        ).fetchone()
    return dict(zip(("requests", "last 90 days", "table + indexes"), row or (), strict=True))


def sample_points(count: int) -> list[tuple[float, float]]:
    """`count` distinct (lon, lat) of real field requests (not the 311 centre or O'Hare)."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["sr_short_code"] not in FIXED_PLACES]
    points = sorted({(float(r["longitude"]), float(r["latitude"])) for r in rows})
    step = max(1, len(points) // count)
    return points[::step][:count]


# --- (a) and (b): GETs -----------------------------------------------------------------


def neighbourhood(
    running: server.Running,
    dsn: str,
    points: list[tuple[float, float]],
    options: argparse.Namespace,
) -> list[Line]:
    def params(point: tuple[float, float]) -> dict[str, Any]:
        lon, lat = point
        box = Box.around(lon, lat, RADIUS)
        corners = {"x0": box.min_lon, "y0": box.min_lat, "x1": box.max_lon, "y1": box.max_lat}
        return {"lon": lon, "lat": lat, "radius": RADIUS, **corners}

    def query(point: tuple[float, float]) -> str:
        return f"lat={point[1]!r}&long={point[0]!r}&radius={RADIUS:g}"

    latency, cpu_ms, rows = compare(
        running, dsn, options, points, query, RAW_NEAR_SQL, params, "radius"
    )
    say(f"  (a) rows per page: median {statistics.median(rows):.0f}, max {max(rows)}")
    return [
        Line("(a) 500 m / 90 d median (ms)", latency["ours"].median, latency["raw"].median,
             "≤2x, <20", lambda o, r: o <= 2 * r and o < 20),
        Line("(a) 500 m / 90 d p95 (ms)", latency["ours"].p95, latency["raw"].p95),
        Line("(a) server CPU per GET (ms)", cpu_ms["ours"], cpu_ms["raw"]),
    ]  # fmt: skip


def wards(running: server.Running, dsn: str, options: argparse.Namespace) -> list[Line]:
    codes = [str(n) for n in range(1, 51)]
    latency, cpu_ms, rows = compare(
        running, dsn, options, codes, lambda w: f"ward={w}&status=open", RAW_WARD_SQL,
        lambda w: {"ward": w}, "ward",
    )  # fmt: skip
    say(f"  (b) rows per page: median {statistics.median(rows):.0f}, max {max(rows)}")
    return [
        Line("(b) ward + open median (ms)", latency["ours"].median, latency["raw"].median,
             "≤2x", lambda o, r: o <= 2 * r),
        Line("(b) ward + open p95 (ms)", latency["ours"].p95, latency["raw"].p95),
        Line("(b) server CPU per GET (ms)", cpu_ms["ours"], cpu_ms["raw"]),
    ]  # fmt: skip


def compare(
    running: server.Running,
    dsn: str,
    options: argparse.Namespace,
    items: list[Any],
    query: Callable[[Any], str],
    sql: str,
    params: Callable[[Any], dict[str, Any]],
    name: str,
) -> tuple[dict[str, Latency], dict[str, float], list[int]]:
    """Ours and raw in turn, each walking the same items in the same order; CPU ms per GET."""
    http = measure.HttpGetter(running.base_url)
    with closing(http), psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"SET TIME ZONE '{measure.TIME_ZONE}'")

        def raw(item: Any) -> str:
            start = datetime.now(UTC) - timedelta(days=90)
            row = connection.execute(sql, {"start": start, **params(item)}).fetchone()
            return str(row[0]) if row else "[]"

        def ours(item: Any) -> bytes:
            return http(f"{REQUESTS}?{query(item)}")

        rows = check_pages(items, ours, raw, name)
        turns = {"ours": itertools.cycle(items), "raw": itertools.cycle(items)}
        calls: dict[str, Callable[[], object]] = {
            "ours": lambda: ours(next(turns["ours"])),
            "raw": lambda: raw(next(turns["raw"])),
        }
        say(f"GET by {name}: ours and raw SQL in turn …")
        latency = measure.timed(calls, options.warmup, options.gets)
        # Server CPU per GET (gunicorn's workers and their backends; the raw
        # query's backend): unlike latency, it does not move with other load.
        app_processes = georeport.app_processes(running, dsn)
        cpu_ms = {
            "ours": georeport.cpu_ms_per_call(app_processes, calls["ours"], len(items)),
            "raw": georeport.cpu_ms_per_call(lambda: cpu.backends(dsn), calls["raw"], len(items)),
        }
        return latency, cpu_ms, rows


def check_pages(
    items: list[Any], ours: Callable[[Any], bytes], raw: Callable[[Any], str], name: str
) -> list[int]:
    """Every item's page from the app equals PostgreSQL's; their sizes."""
    sizes = []
    for item in items:
        mine, theirs = ours(item), raw(item)
        problems = measure.same_page(mine, theirs)
        if problems:
            raise SystemExit(f"{name} {item}: the app's page differs:\n" + "\n".join(problems[:5]))
        sizes.append(len(json.loads(mine)))
    say(f"  the app's pages equal PostgreSQL's for all {len(items)} {name} queries")
    return sizes


# --- (c) the CSV feed ---------------------------------------------------------------------


def feed(
    running: server.Running, dsn: str, options: argparse.Namespace, facts: dict[str, Any]
) -> list[Line]:
    if options.skip_feed or not feed_exists(running.base_url):
        why = "--skip-feed" if options.skip_feed else f"{FEED} is not served"
        facts["CSV feed"] = f"not measured ({why})"
        return [Line("(c) CSV feed (rows/s)", None, None, "≥0.5x", lambda o, r: o >= r / 2)]
    say("CSV feed: ours over HTTP, then the same COPY from psycopg …")
    rows, seconds, peak_mb, body = download(running, FEED)
    copied, copy_seconds, copy_body = copy_out(options.database_url)
    if body != copy_body:
        raise SystemExit("the feed's rows differ from COPY's (same query, same rows expected)")
    facts["CSV feed"] = (
        f"{rows:,} rows in {seconds:.1f} s; the feed's own COPY (39 columns, same SQL)"
        f" {copied:,} rows in {copy_seconds:.1f} s; bodies identical"
    )
    bare, bare_seconds = bare_copy_out(dsn)
    facts["bare COPY"] = f"16 raw columns, no formatting: {bare:,} rows in {bare_seconds:.1f} s"
    small_rows, _, small_mb, _ = download(running, FEED + "?ward=1")
    facts["feed peak RSS"] = (
        f"{small_mb:.0f} MB for {small_rows:,} rows, {peak_mb:.0f} MB for {rows:,}"
    )
    return [
        Line("(c) CSV feed (rows/s)", rows / seconds, copied / copy_seconds, "≥0.5x",
             lambda o, r: o >= r / 2),
        Line("(c) … vs bare 16-column COPY", rows / seconds, bare / bare_seconds),
        Line(f"(c) feed peak RSS, {small_rows:,} rows (MB)", small_mb, None),
        Line(f"(c) feed peak RSS, {rows:,} rows (MB)", peak_mb, small_mb, "≤1.5x small",
             lambda o, r: o <= 1.5 * r + 10),
    ]  # fmt: skip


def feed_exists(base_url: str) -> bool:
    with requests.get(base_url + FEED + "?ward=1", stream=True, timeout=60) as response:
        return response.status_code == 200


def download(running: server.Running, path: str) -> tuple[int, float, float, Digest]:
    """(data rows, seconds, peak RSS in MB of the busiest gunicorn worker, digest) of one
    download."""
    from bench import cpu

    peak = RssWatch(cpu.children(running.pid))
    digest = Digest()
    started = time.perf_counter()
    with peak, requests.get(running.base_url + path, stream=True, timeout=3600) as response:
        response.raise_for_status()
        for chunk in response.iter_content(1 << 20):
            digest.add(chunk)
    return digest.lines - 1, time.perf_counter() - started, peak.megabytes, digest


class Digest:
    """The lines of a CSV stream, and a SHA-256 of the stream after its header line."""

    def __init__(self) -> None:
        self.lines, self.header_done, self.rows = 0, False, hashlib.sha256()

    def add(self, chunk: bytes) -> None:
        self.lines += chunk.count(b"\n")
        if not self.header_done:
            _, newline, chunk = chunk.partition(b"\n")
            self.header_done = bool(newline)
        self.rows.update(chunk)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Digest) and self.rows.digest() == other.rows.digest()

    __hash__ = None  # type: ignore[assignment]


class RssWatch:
    """Samples the workers' resident memory every 20 ms; .megabytes is the highest seen."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.megabytes, self.done = pids, 0.0, threading.Event()

    def __enter__(self) -> RssWatch:
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def _watch(self) -> None:
        while not self.done.wait(0.02):
            for pid in self.pids:
                self.megabytes = max(self.megabytes, rss_mb(pid))


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def copy_out(url: str) -> tuple[int, float, Digest]:
    """The feed's limit: its own COPY … TO STDOUT (the City's 39 columns, formatted in SQL),
    run from psycopg with nothing around it: rows, seconds, digest of the rows."""
    from open311.opendata.feeds import copy_statement
    from open311.service_requests.queries import RequestFilter

    app = create_app(seed.bench_config(url))
    time_zone = app.extensions["open311.jurisdiction"].time_zone
    with app.app_context():
        statement, params = copy_statement(db.engine.dialect, RequestFilter(), time_zone)
        db.engine.dispose()
    digest = Digest()
    digest.header_done = True  # COPY writes no header; the feed's is left out of its digest
    started = time.perf_counter()
    with (
        psycopg.connect(seed.psycopg_dsn(url)) as connection,
        connection.cursor() as cursor,
        cursor.copy(statement, params) as copy,
    ):
        for block in copy:
            digest.add(bytes(block))
    return digest.lines, time.perf_counter() - started, digest


def bare_copy_out(dsn: str) -> tuple[int, float]:
    """For information: COPY of 16 public columns as stored, with the service name."""
    sql = (
        "COPY (SELECT sr.number, s.name, sr.service_code, sr.status, sr.status_notes,"
        " sr.agency_responsible, sr.requested_at, sr.updated_at, sr.address, sr.zipcode,"
        " sr.lat, sr.long, sr.ward, sr.community_area, sr.police_district, sr.channel"
        " FROM service_request AS sr JOIN service AS s ON s.code = sr.service_code"
        " WHERE sr.intake = 'accepted') TO STDOUT (FORMAT CSV, HEADER)"
    )
    rows = 0
    started = time.perf_counter()
    with psycopg.connect(dsn) as connection, connection.cursor().copy(sql) as copy:
        for block in copy:
            rows += bytes(block).count(b"\n")
    return rows - 1, time.perf_counter() - started


# --- (d) the import ---------------------------------------------------------------------

# The demo file's layout (the City's API columns): what import_requests reads.
EXPORT_SQL = """
COPY (
    SELECT sr.number AS sr_number, sr.service_code AS sr_short_code, s.name AS sr_type,
           sr.agency_responsible AS owner_department,
           CASE WHEN sr.status = 'open' THEN 'Open' ELSE coalesce(sr.status_notes, 'Completed') END
               AS status,
           sr.channel AS origin,
           to_char(sr.requested_at, 'YYYY-MM-DD"T"HH24:MI:SS.000') AS created_date,
           to_char(sr.updated_at, 'YYYY-MM-DD"T"HH24:MI:SS.000') AS last_modified_date,
           CASE WHEN sr.status = 'closed'
                THEN to_char(sr.updated_at, 'YYYY-MM-DD"T"HH24:MI:SS.000') END AS closed_date,
           split_part(sr.address, ', ', 1) AS street_address, sr.zipcode AS zip_code,
           sr.lat AS latitude, sr.long AS longitude, 'False' AS duplicate,
           NULL AS parent_sr_number, sr.ward, sr.community_area, sr.police_district
    FROM service_request AS sr JOIN service AS s ON s.code = sr.service_code
    WHERE sr.id %% %(step)s = 0 ORDER BY sr.id LIMIT %(rows)s
) TO STDOUT (FORMAT CSV, HEADER)
"""
RAW_COLUMNS = (
    "number, intake, service_code, status, status_notes, agency_responsible, service_notice,"
    " requested_at, updated_at, expected_at, address, zipcode, lat, long, location, attributes,"
    " channel, ward, community_area, police_district, neighborhood"
)


def imports(dsn: str, options: argparse.Namespace, facts: dict[str, Any]) -> list[Line]:
    from open311.opendata.imports import import_requests

    rows = options.import_rows
    url = make_url(options.database_url).set(database="open311_bench_import")
    target_url = url.render_as_string(hide_password=False)
    target = seed.psycopg_dsn(target_url)
    export, raw_file = OUT / "import-city.csv", OUT / "import-raw.bin"
    step = max(1, int(facts.get("requests", rows)) // rows)
    with psycopg.connect(dsn) as connection:
        connection.execute("SET TIME ZONE 'America/Chicago'")
        write_copy(connection, EXPORT_SQL, {"step": step, "rows": rows}, export)
        raw_sql = (f"COPY (SELECT {RAW_COLUMNS} FROM service_request WHERE id %% %(step)s = 0"
                   " ORDER BY id LIMIT %(rows)s) TO STDOUT (FORMAT BINARY)")  # fmt: skip
        write_copy(connection, raw_sql, {"step": step, "rows": rows}, raw_file)
    seed.recreate_database(target_url)
    seed.prepare(target_url)
    say(f"import: {rows:,} rows with import_requests, then COPY FROM …")
    app = create_app(seed.bench_config(target_url))
    with app.app_context():
        session = db.session()
        started = time.perf_counter()
        result = import_requests(
            session, export, time_zone=app.extensions["open311.jurisdiction"].time_zone
        )
        db.session.commit()
        ours = time.perf_counter() - started
        db.engine.dispose()
    with psycopg.connect(target) as connection:
        connection.execute("TRUNCATE service_request CASCADE")
        connection.commit()
        started = time.perf_counter()
        copy_sql = f"COPY service_request ({RAW_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        with connection.cursor().copy(copy_sql) as copy, raw_file.open("rb") as handle:
            while block := handle.read(1 << 20):
                copy.write(block)
        connection.commit()
        raw = time.perf_counter() - started
    facts["import"] = (f"{result.inserted:,} of {result.rows_read:,} inserted ({result.bad} bad)"
                       f" in {ours:.1f} s; COPY FROM {raw:.1f} s")  # fmt: skip
    return [
        Line("(d) import (rows/s)", result.inserted / ours, rows / raw, "≥0.33x",
             lambda o, r: o >= r / 3),
    ]  # fmt: skip


def write_copy(
    connection: psycopg.Connection[Any], sql: str, params: dict[str, Any], path: Path
) -> None:
    with connection.cursor() as cursor, cursor.copy(sql, params) as copy, path.open("wb") as out:
        for block in copy:
            out.write(bytes(block))


# --- (e) SpatiaLite ---------------------------------------------------------------------


def spatialite(
    dsn: str, points: list[tuple[float, float]], options: argparse.Namespace, facts: dict[str, Any]
) -> list[Line]:
    from open311.spatial import IMPORTED_COLUMNS, insert_new_requests

    path = OUT / f"neighbourhoods-spatialite-{options.spatialite_sample}.sqlite"
    url = f"sqlite:///{path}"
    if not (options.reuse and path.exists()):
        path.unlink(missing_ok=True)
        seed.prepare(url)  # migrated, with the catalogue and areas, as the PostGIS store
        app = create_app(seed.bench_config(url))
        say(f"SpatiaLite: copying {options.spatialite_rows:,} requests …")
        started = time.perf_counter()
        with app.app_context(), psycopg.connect(dsn) as connection:
            session = db.session()
            begin_write(session)
            rows, sample = options.spatialite_rows, options.spatialite_sample
            for batch in pg_batches(connection, rows, sample, list(IMPORTED_COLUMNS)):
                insert_new_requests(session, batch)
            db.session.commit()
            db.engine.dispose()
        facts["SpatiaLite copy"] = (
            f"{options.spatialite_rows:,} rows ({options.spatialite_sample})"
            f" in {time.perf_counter() - started:.0f} s"
        )
    app = create_app(seed.bench_config(url))
    client = app.test_client()
    turn = itertools.cycle(points)

    def call() -> bytes:
        lon, lat = next(turn)
        response = client.get(f"{REQUESTS}?lat={lat!r}&long={lon!r}&radius={RADIUS:g}")
        assert response.status_code == 200, response.data[:300]
        return bytes(response.data)

    say("SpatiaLite: neighbourhood GETs in process …")
    latency = measure.timed({"ours": call}, options.warmup, options.gets)["ours"]
    label = f"(e) SpatiaLite 500 m median, {options.spatialite_sample} (ms)"
    return [
        Line(label, latency.median, None, "<50", lambda o, r: o < 50),
        Line("(e) SpatiaLite 500 m p95 (ms)", latency.p95, None),
    ]


def pg_batches(
    connection: psycopg.Connection[Any],
    rows: int,
    sample: str,
    columns: list[str],
    size: int = 50_000,
) -> Iterator[list[dict[str, Any]]]:
    """`rows` requests, as insert_new_requests takes them: the newest, or every
    k-th of the whole history (`spread`, module docstring)."""
    names = ", ".join(f'"{c}"' for c in columns)
    if sample == "newest":
        query = f"SELECT {names} FROM service_request ORDER BY requested_at DESC LIMIT %(rows)s"
    else:
        query = (
            f"SELECT {names} FROM service_request"
            " WHERE id %% greatest((SELECT count(*) FROM service_request) / %(rows)s, 1) = 0"
            " ORDER BY id LIMIT %(rows)s"
        )
    with connection.cursor(name="spatialite_copy") as cursor:
        cursor.itersize = size
        cursor.execute(query, {"rows": rows})
        while batch := cursor.fetchmany(size):
            yield [dict(zip(columns, row, strict=True)) for row in batch]


# --- the report -------------------------------------------------------------------------


def report(options: argparse.Namespace, facts: dict[str, Any], lines: list[Line]) -> None:
    say("")
    for key, value in facts.items():
        say(f"  {key:<24} {value}")
    say("")
    say(f"{'metric':<40}{'ours':>11}{'raw':>11}{'ratio':>8}  {'target':<12}result")
    for line in lines:
        ours = f"{line.ours:>11.1f}" if line.ours is not None else f"{'n/a':>11}"
        raw = f"{line.raw:>11.1f}" if line.raw is not None else f"{'':>11}"
        ratio = f"{line.ratio:>7.2f}x" if line.ratio is not None else f"{'':>8}"
        say(f"{line.metric:<40}{ours}{raw}{ratio}  {line.target:<12}{line.verdict}")
    tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    document = {
        "options": vars(options),
        "facts": facts,
        "table": [
            {**{k: v for k, v in asdict(line).items() if k != "passes"},
             "ratio": line.ratio, "verdict": line.verdict}
            for line in lines
        ],
    }  # fmt: skip
    (OUT / f"neighbourhoods-{tag}.json").write_text(json.dumps(document, indent=1, default=str))


if __name__ == "__main__":
    sys.exit(main())
