"""A Chicago day's load on gunicorn + nginx + PostGIS: the highest rate, then a soak.

    .venv/bin/python -m bench.load                          # bench.neighbourhoods' 10M store
    .venv/bin/python -m bench.load --step-seconds 20 --soak-minutes 2 --soak-warmup 20 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/open311_bench_load
    .venv/bin/python -m bench.load --replica-url postgresql+psycopg://…   # the same, one replica

1. Takes the store as it is (open311_bench_10m, or --database-url), or with --build
   ROWS drops it and generates ROWS requests as bench.neighbourhoods does; migrates it,
   loads the Chicago catalogue, areas and articles, adds an API key, and writes the
   plan bench/locustfile.py reads:
   real places (the 2021 sample), wards, request ids and their services sampled from
   the store, the articles' words, POST forms of real services at real points.
2. Starts gunicorn with deploy/gunicorn.conf.py (gthread workers) and nginx with
   deploy/nginx.conf in front of it (bench/nginx.py). With --replica-url gunicorn gets
   OPEN311_DATABASE_REPLICA_URLS (docs/scaling-replicas.md makes a standby).
3. The ramp: locust, headless, in its own process (gevent stays out of this one),
   offers --start-rate requests/s, then --rate-step more each step of --step-seconds,
   users pacing themselves with constant_throughput. A step passes with p99 under
   500 ms, no error, and at least 95% of the offered rate served. It stops at the
   first step that fails; the highest passing rate is printed beside the limit, with
   the server CPU per request there (gunicorn, nginx, PostgreSQL, from /proc): unlike
   the rate, it does not move with other work on the machine, so 1000 / it is what a
   core serves.
4. The soak: --soak-minutes (default 30) at 70% of that rate (or of --rate): no error
   and every process's memory flat, its latency shown but not judged. It samples
   every --sample-seconds the private resident memory (RssAnon: the heap, not the
   shared libraries or PostgreSQL's shared buffers a process touches) of the gunicorn
   master and workers, the nginx master and workers and the app's PostgreSQL backends;
   locust's own beside them, not judged. After --soak-warmup seconds, a process kind is
   flat when its memory per process, averaged over the last third of the samples, is
   within 10% of the first third's, and so is each of its processes seen throughout.
5. Prints each step and the soak beside their limits, with how busy the machine's CPUs
   were meanwhile (locust shares the machine; bench.cpu.MachineMeter), and writes
   bench/out/load-<time>.json; locust's CSVs and logs, gunicorn's and nginx's logs and
   the plan go to bench/out/load-<time>/.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench import cpu, neighbourhoods, nginx, seed, server, workload
from bench.georeport import load_average
from open311 import create_app
from open311.config import PROJECT_DIR
from open311.database import begin_write
from open311.extensions import db
from open311.knowledge.loader import load_articles, read_articles
from open311.knowledge.search import words

OUT = Path(__file__).parent / "out"
LOCUSTFILE = Path(__file__).parent / "locustfile.py"
GUNICORN_CONFIG = PROJECT_DIR / "deploy" / "gunicorn.conf.py"
ARTICLES = PROJECT_DIR / "services_catalog" / "chicago" / "articles"
P99_LIMIT_MS = 500.0
SERVED_SHARE = 0.95  # of the offered rate: below it the server is not keeping up
SOAK_SHARE = 0.70
FLAT_LIMIT = 0.10
SAMPLED_IDS = 5000
POST_FORMS = 500


@dataclass(frozen=True)
class Step:
    offered: float  # requests/s
    served: float
    requests: int
    errors: int
    p50: float
    p95: float
    p99: float
    cpu_ms: float  # server CPU per request: gunicorn, nginx, PostgreSQL
    machine: str  # how busy the machine's CPUs were over the step (bench.cpu.MachineMeter)
    failures: list[str] = field(default_factory=list)
    kinds: dict[str, dict[str, float]] = field(default_factory=dict)  # each request kind's

    @property
    def passes(self) -> bool:
        return (
            self.p99 < P99_LIMIT_MS
            and self.errors == 0
            and self.requests > 0
            and self.served >= SERVED_SHARE * self.offered
        )


@dataclass(frozen=True)
class Memory:
    kind: str
    processes: int  # seen in every sample from the first third to the last
    first_mb: float  # private memory per process of the kind, mean of the first third
    last_mb: float  # and of the last third
    worst_ratio: float  # the steady process that moved most: last-third mean / first-third
    judged: bool = True

    @property
    def kind_ratio(self) -> float:
        return self.last_mb / self.first_mb if self.first_mb else float("nan")

    @property
    def flat(self) -> bool:
        """The kind's memory per process, and each of its processes seen throughout, within
        the limit. The first alone covers the app's backends: the pool recycles each
        connection after five minutes, so none lasts a 30-minute soak, and how many are
        open varies."""
        kind = abs(self.kind_ratio - 1) <= FLAT_LIMIT
        return kind and (not self.processes or abs(self.worst_ratio - 1) <= FLAT_LIMIT)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    OUT.mkdir(exist_ok=True)
    seed.use_the_apps_session_settings()
    dsn = seed.psycopg_dsn(options.database_url)
    tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    options.folder = OUT / f"load-{tag}"  # locust's CSVs and logs, nginx's files, the plan
    options.folder.mkdir()
    facts: dict[str, Any] = {"database": options.database_url, **prepare(options, dsn)}
    plan = write_plan(options, dsn, tag)
    steps: list[Step] = []
    soak: dict[str, Any] = {}
    with served(options, dsn) as servers:
        facts["load average before"] = load_average()
        rate = options.rate or ramp(servers, plan, options, steps)
        if rate and options.soak_minutes > 0:
            soak = soak_at(servers, plan, SOAK_SHARE * rate, options)
    report(options, facts, steps, soak, tag)
    ramp_ok = bool(options.rate) or any(step.passes for step in steps)
    return 0 if ramp_ok and soak.get("passes", True) else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add(
        "--database-url",
        default=os.environ.get("OPEN311_BENCH_10M_URL", neighbourhoods.DEFAULT_URL),
    )
    add("--build", type=int, metavar="ROWS", help="drop --database-url, generate ROWS requests")
    add("--as-is", action="store_true", help="no migration, catalogue, areas or articles")
    add("--replica-url", help="streaming replicas of --database-url (commas between): read from")
    add("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    add("--threads", type=int, default=4, help="threads per worker (deploy/gunicorn.conf.py's)")
    add("--start-rate", type=float, default=10, help="the first step's requests/s")
    add("--rate-step", type=float, default=10, help="requests/s added at each step")
    add("--max-rate", type=float, default=2000, help="stop the ramp here")
    add("--step-seconds", type=int, default=60)
    add("--warmup-seconds", type=int, default=60, help="at --start-rate before the ramp")
    add("--user-rate", type=float, default=1.0, help="requests/s each locust user offers")
    add("--rate", type=float, help="skip the ramp: soak at 70%% of this rate")
    add("--soak-minutes", type=float, default=30, help="0: no soak")
    add("--soak-warmup", type=int, default=120, help="seconds of the soak not judged")
    add("--sample-seconds", type=float, default=10, help="between two memory samples")
    return parser.parse_args(argv)


def say(text: str) -> None:
    print(text, flush=True)


# --- the store and the plan ------------------------------------------------------------


def prepare(options: argparse.Namespace, dsn: str) -> dict[str, Any]:
    """Migrate, catalogue, areas (bench.seed.prepare) and the articles search reads; first,
    with --build, a new store as bench.neighbourhoods makes it."""
    if options.build:
        building = argparse.Namespace(
            reuse=False, rows=options.build, seed=311, database_url=options.database_url
        )
        neighbourhoods.build(building, dsn)
    if options.as_is:
        return neighbourhoods.facts_of(dsn)
    seed.prepare(options.database_url)
    app = create_app(seed.bench_config(options.database_url))
    with app.app_context():
        session = db.session()
        begin_write(session)
        load_articles(session, read_articles(ARTICLES, Path(app.config["SCHEMAS_DIR"])))
        db.session.commit()
        db.engine.dispose()
    return neighbourhoods.facts_of(dsn)


def write_plan(options: argparse.Namespace, dsn: str, tag: str) -> Path:
    """What the locust users ask for, from the store itself, as JSON for the locustfile."""
    key_id, key = seed.new_api_key(options.database_url)
    numbers, services, now = sample_requests(dsn)
    plan = {
        "tag": tag,
        "now": now.isoformat(),
        "points": neighbourhoods.sample_points(200),
        "wards": [str(ward) for ward in range(1, 51)],
        "numbers": numbers,
        "services": services,  # as often as the store has them
        "words": article_words(),
        "forms": post_forms(dsn, key, key_id, tag),
    }
    path: Path = options.folder / "plan.json"
    path.write_text(json.dumps(plan))
    say(f"plan: {len(numbers)} request ids, {len(set(services))} services, newest {now:%Y-%m-%d}")
    return path


def sample_requests(dsn: str) -> tuple[list[str], list[str], datetime]:
    """Ids and service codes of a random sample of accepted requests, and the newest date."""
    with psycopg.connect(dsn) as connection:
        estimate = connection.execute(
            "SELECT reltuples FROM pg_class WHERE relname = 'service_request'"
        ).fetchone()
        share = min(100.0, 200.0 * SAMPLED_IDS / max(1.0, estimate[0] if estimate else 1.0))
        rows = connection.execute(
            f"SELECT number, service_code FROM service_request TABLESAMPLE BERNOULLI ({share})"
            " WHERE intake = 'accepted' LIMIT %s",
            (SAMPLED_IDS,),
        ).fetchall()
        newest = connection.execute("SELECT max(requested_at) FROM service_request").fetchone()
    if not rows or not newest or newest[0] is None:
        raise SystemExit("the store has no requests: build one (bench.neighbourhoods)")
    return [r[0] for r in rows], [r[1] for r in rows], newest[0].astimezone(UTC)


def article_words() -> list[str]:
    """Each article title's words, one search each: what residents type."""
    found = read_articles(ARTICLES, PROJECT_DIR / "schemas")
    return sorted({word for article in found for word in words(article.title) if len(word) > 3})


def post_forms(dsn: str, key: str, key_id: int, tag: str) -> list[str]:
    """Encoded POST forms of real services at points of the store, without the description
    and email, which the locustfile makes unique for each POST."""
    forms = []
    for made in workload.reports(dsn, key, key_id, POST_FORMS, tag):
        form = {k: v for k, v in made.form.items() if k not in ("description", "email")}
        forms.append(urllib.parse.urlencode(form, doseq=True))
    return forms


# --- the servers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Servers:
    base_url: str  # nginx's
    gunicorn: int  # the masters' pids
    nginx: int
    databases: dict[str, str]  # kind of backend → its database's dsn: primary, replicas

    def processes(self) -> dict[str, list[int]]:
        """Each kind's processes now (workers and backends come and go)."""
        kinds = {
            "gunicorn master": [self.gunicorn],
            "gunicorn workers": cpu.children(self.gunicorn),
            "nginx master": [self.nginx],
            "nginx workers": cpu.children(self.nginx),
        }
        return kinds | {kind: cpu.backends(dsn) for kind, dsn in self.databases.items()}

    def pids(self) -> list[int]:
        return [pid for pids in self.processes().values() for pid in pids]


@contextmanager
def served(options: argparse.Namespace, dsn: str) -> Iterator[Servers]:
    """gunicorn behind nginx, and where their processes are."""
    env = {"OPEN311_TRUSTED_PROXIES": "1"}
    databases = {"PostgreSQL backends": dsn}
    if options.replica_url:
        env["OPEN311_DATABASE_REPLICA_URLS"] = options.replica_url
        for number, url in enumerate(replica_urls(options), 1):
            databases[f"PostgreSQL replica {number} backends"] = seed.psycopg_dsn(url)
    with (
        server.gunicorn(
            options.database_url,
            workers=options.workers,
            threads=options.threads,
            log=options.folder / "gunicorn.log",
            config=GUNICORN_CONFIG,
            env=env,
        ) as app,
        nginx.nginx(app.base_url, options.folder / "nginx") as proxy,
    ):
        yield Servers(proxy.base_url, app.pid, proxy.pid, databases)


def replica_urls(options: argparse.Namespace) -> list[str]:
    """--replica-url: one URL, or several joined by commas as the setting takes them."""
    return [url.strip() for url in (options.replica_url or "").split(",") if url.strip()]


# --- locust --------------------------------------------------------------------------------


def locust(
    base_url: str,
    plan: Path,
    rate: float,
    seconds: float,
    options: argparse.Namespace,
    prefix: Path,
) -> subprocess.Popen[bytes]:
    """Start locust headless offering `rate` requests/s for `seconds`; stats to prefix_*.csv."""
    users = max(1, math.ceil(rate / options.user_rate))
    user_rate = rate / users
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", base_url, "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{math.ceil(seconds)}s", "--stop-timeout", "10",
        "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {
        **os.environ,
        "OPEN311_LOAD_PLAN": str(plan),
        "OPEN311_LOAD_USER_RATE": repr(user_rate),
    }
    log = prefix.with_suffix(".log").open("ab")
    return subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=log)


def read_stats(prefix: Path, offered: float, cpu_seconds: float, machine: str) -> Step:
    """The Aggregated line of locust's stats CSV, each kind's, its failures, and the
    servers' CPU time."""
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    total = rows.pop("Aggregated")
    with Path(f"{prefix}_failures.csv").open(newline="") as handle:
        failures = [
            f"{row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error']}"
            for row in csv.DictReader(handle)
        ]
    count = int(total["Request Count"])
    return Step(
        offered=offered,
        served=float(total["Requests/s"]),
        requests=count,
        errors=int(total["Failure Count"]),
        p50=float(total["50%"] or 0),
        p95=float(total["95%"] or 0),
        p99=float(total["99%"] or 0),
        cpu_ms=cpu_seconds * 1000 / max(1, count),
        machine=machine,
        failures=failures,
        kinds={name: kind_figures(row) for name, row in rows.items()},
    )


def kind_figures(row: dict[str, str]) -> dict[str, float]:
    names = {"requests": "Request Count", "errors": "Failure Count", "p50": "50%", "p99": "99%"}
    return {name: float(row[column] or 0) for name, column in names.items()}


def run_for(
    servers: Servers,
    plan: Path,
    rate: float,
    seconds: float,
    options: argparse.Namespace,
    name: str,
) -> Step:
    prefix = options.folder / f"locust-{name}"
    with cpu.CpuMeter(servers.pids) as meter, cpu.MachineMeter() as machine:
        locust(servers.base_url, plan, rate, seconds, options, prefix).wait()
    return read_stats(prefix, rate, meter.seconds, str(machine))


# --- (1) the ramp ----------------------------------------------------------------------------


def ramp(servers: Servers, plan: Path, options: argparse.Namespace, steps: list[Step]) -> float:
    """Step the offered rate up until a step fails; the highest passing rate (0: none)."""
    say(f"ramp: {options.step_seconds} s a step; a step passes with p99 < {P99_LIMIT_MS:g} ms,"
        f" no error and ≥ {SERVED_SHARE:.0%} of the offered rate served")  # fmt: skip
    warm = run_for(servers, plan, options.start_rate, options.warmup_seconds, options, "warmup")
    say(f"warm-up, not judged: {options.warmup_seconds} s at {options.start_rate:g}/s,"
        f" p99 {warm.p99:.0f} ms, {warm.errors} errors")  # fmt: skip
    say(STEP_HEADER)
    rate, best = options.start_rate, 0.0
    while rate <= options.max_rate:
        step = run_for(servers, plan, rate, options.step_seconds, options, f"step-{rate:g}")
        steps.append(step)
        say(step_line(step))
        if not step.passes:
            print_kinds(step)
            break
        best = rate
        rate += options.rate_step
    say(f"highest rate passing: {best:g} requests/s (limit: p99 < {P99_LIMIT_MS:g} ms, no error)")
    passed = [step for step in steps if step.passes]
    if passed:  # what a core would serve with nothing else on it: load-independent
        cpu_ms = passed[-1].cpu_ms
        say(f"server CPU per request at that rate: {cpu_ms:.1f} ms, {1000 / cpu_ms:.0f}/s per core")
    return best


STEP_HEADER = (
    f"{'offered/s':>10}{'served/s':>10}{'requests':>10}{'errors':>8}"
    f"{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'CPU ms':>8}  {'result':<7}machine"
)


def step_line(step: Step, passes: bool | None = None) -> str:
    """One step's figures; `passes`: the verdict when it is not the ramp's."""
    passes = step.passes if passes is None else passes
    return (
        f"{step.offered:>10g}{step.served:>10.1f}{step.requests:>10}{step.errors:>8}"
        f"{step.p50:>8.0f}{step.p95:>8.0f}{step.p99:>8.0f}{step.cpu_ms:>8.1f}"
        f"  {'PASS' if passes else 'FAIL':<7}{step.machine}"
    )


def print_kinds(step: Step) -> None:
    """Which kinds of request were slow or failed."""
    for name, figures in sorted(step.kinds.items(), key=lambda item: -item[1]["p99"]):
        say(f"    {name:<30} {figures['requests']:>6.0f} requests, {figures['errors']:.0f} errors,"
            f" p50 {figures['p50']:.0f} ms, p99 {figures['p99']:.0f} ms")  # fmt: skip
    for failure in step.failures[:5]:
        say(f"    {failure}")


# --- (2) the soak ----------------------------------------------------------------------------


def soak_at(
    servers: Servers, plan: Path, rate: float, options: argparse.Namespace
) -> dict[str, Any]:
    """Run locust at `rate` for --soak-minutes, sampling every process's private memory."""
    seconds = options.soak_minutes * 60
    say(f"soak: {rate:g} requests/s for {options.soak_minutes:g} min, memory every"
        f" {options.sample_seconds:g} s, judged after {options.soak_warmup} s")  # fmt: skip
    prefix = options.folder / "locust-soak"
    started = time.monotonic()
    samples: list[tuple[float, dict[str, dict[int, float]]]] = []
    with cpu.CpuMeter(servers.pids) as meter, cpu.MachineMeter() as machine:
        process = locust(servers.base_url, plan, rate, seconds, options, prefix)
        # Until the run time is up: then locust stops its users and exits.
        while process.poll() is None and time.monotonic() - started < seconds:
            kinds = {**servers.processes(), "locust": [process.pid]}
            samples.append((time.monotonic() - started, sample(kinds)))
            time.sleep(options.sample_seconds)
        process.wait()
    step = read_stats(prefix, rate, meter.seconds, str(machine))
    memory = flatness(samples, options.soak_warmup)
    # The soak's limits: no error, memory flat; its latency is shown, judged by the ramp.
    passes = step.errors == 0 and step.requests > 0 and all(m.flat for m in memory if m.judged)
    print_soak(step, step.errors == 0, memory)
    return {"step": asdict(step), "memory": [asdict(m) for m in memory], "passes": passes,
            "samples": [[at, kinds] for at, kinds in samples]}  # fmt: skip


def sample(kinds: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    return {kind: {pid: private_mb(pid) for pid in pids} for kind, pids in kinds.items()}


def private_mb(pid: int) -> float:
    """RssAnon: the process's own resident memory (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def flatness(
    samples: list[tuple[float, dict[str, dict[int, float]]]], warmup: float
) -> list[Memory]:
    judged = [kinds for at, kinds in samples if at >= warmup]
    third = len(judged) // 3
    if third == 0:
        raise SystemExit("the soak is too short after its warm-up for three thirds of samples")
    first, last = judged[:third], judged[-third:]
    return [
        kind_memory(kind, [s.get(kind, {}) for s in first], [s.get(kind, {}) for s in last])
        for kind in judged[0]
    ]


def kind_memory(kind: str, first: list[dict[int, float]], last: list[dict[int, float]]) -> Memory:
    """A kind's memory per process in each third, and its processes seen in every sample."""
    steady = set.intersection(*(set(pid for pid, mb in s.items() if mb) for s in first + last))
    before = {pid: statistics.mean(s[pid] for s in first) for pid in steady}
    after = {pid: statistics.mean(s[pid] for s in last) for pid in steady}
    ratios = [after[pid] / before[pid] for pid in steady if before[pid]]
    return Memory(
        kind,
        len(steady),
        per_process(first),
        per_process(last),
        max(ratios, key=lambda r: abs(r - 1), default=float("nan")),
        judged=kind != "locust" and any(first + last),  # a replica the app never read: none
    )


def per_process(samples: list[dict[int, float]]) -> float:
    seen = [statistics.mean(mb for mb in s.values() if mb) for s in samples if any(s.values())]
    return statistics.mean(seen) if seen else 0.0


def print_soak(step: Step, no_error: bool, memory: list[Memory]) -> None:
    say(STEP_HEADER)
    say(step_line(step, no_error) + "  (judged: no error)")
    print_kinds(step)
    say(f"{'process kind':<30}{'steady':>7}{'MB each, first':>15}{'last':>7}{'ratio':>7}"
        f"{'worst':>7}  limit  result")  # fmt: skip
    for m in memory:
        verdict = ("PASS" if m.flat else "FAIL") if m.judged else "(not judged)"
        verdict = verdict if m.first_mb or m.last_mb else "(none seen)"
        figures = f"{m.first_mb:>15.1f}{m.last_mb:>7.1f}{m.kind_ratio:>7.3f}{m.worst_ratio:>7.3f}"
        say(f"{m.kind:<30}{m.processes:>7}{figures}  ±{FLAT_LIMIT:.0%}   {verdict}")


def report(
    options: argparse.Namespace,
    facts: dict[str, Any],
    steps: list[Step],
    soak: dict[str, Any],
    tag: str,
) -> None:
    facts["load average after"] = load_average()
    facts["gunicorn"] = (
        f"{options.workers} gthread workers x {options.threads} threads, behind nginx"
    )
    facts["replica"] = options.replica_url or "none"
    say("")
    for key, value in facts.items():
        say(f"  {key:<21} {value}")
    document = {
        "options": {**vars(options), "folder": str(options.folder)},
        "facts": facts,
        "steps": [{**asdict(step), "passes": step.passes} for step in steps],
        "soak": soak,
    }
    (OUT / f"load-{tag}.json").write_text(json.dumps(document, indent=1, default=str))


if __name__ == "__main__":
    sys.exit(main())
