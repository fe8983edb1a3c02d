"""What one POST /requests costs in process: Python CPU, PostgreSQL backend CPU, statements.

    .venv/bin/python -m bench.post_cost --database-url postgresql+psycopg://…/open311_bench

Run it on a database bench.georeport built (it needs the catalogue, the areas and
seeded requests for its points). It files --posts distinct valid reports with a new
API key through Flask's test client, after --warmup untimed ones, in this process:
no HTTP server, so what it measures is the app's own work. It prints the CPU time of
this process per POST (time.process_time), the CPU time of the PostgreSQL backend
that served them (bench.cpu, from /proc), and the statements per POST by their first
words, counted by an engine event (BEGIN and COMMIT are not statements there).
Unlike bench.georeport's rates, these move little with other load on the machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from collections import Counter
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bench import cpu, seed, workload
from bench.georeport import DEFAULT_URL
from bench.server import UNLIMITED
from open311 import create_app
from open311.extensions import db

PATH = "/open311/v2/requests.json"


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    dsn = seed.psycopg_dsn(options.database_url)
    key_id, key = seed.new_api_key(options.database_url)
    total = options.warmup + options.posts
    reports = workload.reports(dsn, key, key_id, total, secrets.token_hex(4))
    app = served_app(options.database_url)
    statements: Counter[str] = Counter()
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", _counter(statements))
    client = app.test_client()
    for report in reports[: options.warmup]:
        _post(client, report.form)
    backends = cpu.backends(dsn)
    statements.clear()
    backend_before = sum(cpu.cpu_seconds(backends).values())
    started = time.process_time()
    for report in reports[options.warmup :]:
        _post(client, report.form)
    python = time.process_time() - started
    backend = sum(cpu.cpu_seconds(backends).values()) - backend_before
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs, {options.posts} POSTs")
    print(f"python CPU per POST   {1000 * python / options.posts:.2f} ms")
    print(f"backend CPU per POST  {1000 * backend / options.posts:.2f} ms")
    print(f"statements per POST   {sum(statements.values()) / options.posts:.2f}")
    for statement, count in statements.most_common():
        print(f"  {count / options.posts:5.2f}  {statement}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.post_cost", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("--database-url", default=os.environ.get("OPEN311_BENCH_URL", DEFAULT_URL))
    add("--posts", type=int, default=500, help="timed POSTs (default 500)")
    add("--warmup", type=int, default=50, help="untimed POSTs first")
    return parser.parse_args(argv)


def served_app(url: str) -> Flask:
    """The app as gunicorn serves it to the benchmarks: their rate limits, a throwaway key."""
    limits = {name.removeprefix("OPEN311_"): value for name, value in UNLIMITED.items()}
    secret = secrets.token_hex(32)
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret, **limits})


def _counter(statements: Counter[str]) -> Any:
    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements[statement.split("\n")[0][:100]] += 1

    return count


def _post(client: FlaskClient, form: dict[str, Any]) -> None:
    response = client.post(PATH, data=form)
    if response.status_code != 200:
        body = response.get_data(as_text=True)
        raise RuntimeError(f"POST answered {response.status_code}: {body}")


if __name__ == "__main__":
    raise SystemExit(main())
