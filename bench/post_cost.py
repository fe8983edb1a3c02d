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

Then the budget, measured the same way in this process:
- the same forms refused before any statement (no api_key: 403), and with a key
  but an unknown service (404: the key's and the service's reads, then the error):
  what the edge's checks cost whatever the filing does;
- with --breakdown, where a filing's CPU goes: the process CPU spent inside each
  step of the filing (wrapped for the run; steps nest: submit_request holds the
  others, and a flush inside a step counts in both).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
# The filing's steps --breakdown times: (module, attribute), each replaced for the run
# where its callers look it up.
STEPS = (
    ("open311.georeport.views", "caller_key"),
    ("open311.service_requests.submissions", "submission"),
    ("open311.service_requests.actions", "submit_request"),
    ("open311.catalog.queries", "active_service"),
    ("open311.service_requests.actions", "_place"),
    ("open311.service_requests.actions", "_fingerprint"),
    ("open311.service_requests.actions", "_earlier_copy"),
    ("open311.service_requests.numbers", "next_number"),
    ("open311.service_requests.actions", "area_codes_at"),
    ("open311.service_requests.actions", "refresh_expected"),
    ("open311.service_requests.actions", "_add_guards"),
    ("open311.notifications.subscriptions", "follow_as_filer"),
    ("open311.notifications.outbox", "_fan_out"),
    ("sqlalchemy.orm", "Session.flush"),
    ("sqlalchemy.orm", "Session.commit"),
    ("open311.formats.render", "document"),
)


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
    forms = [report.form for report in reports[options.warmup :]]
    print("the budget: the same forms refused early, python CPU per POST")
    no_key = [{k: v for k, v in form.items() if k != "api_key"} for form in forms]
    print(f"  {_cpu_per_post(client, no_key, 403):6.2f} ms  no api_key: 403, no statement")
    unknown = [{**form, "service_code": "no-such-service"} for form in forms]
    print(f"  {_cpu_per_post(client, unknown, 404):6.2f} ms  a key, an unknown service: 404")
    if options.breakdown:
        spent: Counter[str] = Counter()
        with _timed_steps(spent):
            total = _cpu_per_post(client, _fresh(reports, options.posts), 200)
        print(f"where a filing's python CPU goes ({total:.2f} ms per POST in all)")
        for step, seconds in spent.most_common():
            print(f"  {1000 * seconds / options.posts:6.2f} ms  {step}")
    return 0


def _fresh(reports: list[workload.Report], count: int) -> list[dict[str, Any]]:
    """The timed forms again, each a new report (another description): not a replay."""
    return [
        {**report.form, "description": f"{report.form.get('description', '')} again"}
        for report in reports[-count:]
    ]


def _cpu_per_post(client: FlaskClient, forms: list[dict[str, Any]], status: int) -> float:
    started = time.process_time()
    for form in forms:
        _post(client, form, status)
    return 1000 * (time.process_time() - started) / len(forms)


@contextmanager
def _timed_steps(spent: Counter[str]) -> Iterator[None]:
    """Each of STEPS replaced by a wrapper adding its process CPU to `spent`; put back after."""
    replaced: list[tuple[Any, str, Any]] = []
    for module_name, path in STEPS:
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        original = getattr(owner, name)
        for holder in _holders(module_name, owner, name, original):
            replaced.append((holder, name, original))
            setattr(holder, name, _timing(original, path, spent))
    try:
        yield
    finally:
        for holder, name, original in reversed(replaced):
            setattr(holder, name, original)


def _holders(module_name: str, owner: Any, name: str, original: Any) -> list[Any]:
    """`owner` and every open311 module that imported `original` under `name`."""
    found = [owner]
    for module in list(sys.modules.values()):
        if module is owner or not getattr(module, "__name__", "").startswith("open311"):
            continue
        if getattr(module, name, None) is original:
            found.append(module)
    return found


def _timing(function: Callable[..., Any], label: str, spent: Counter[str]) -> Any:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started

    return timed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.post_cost", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("--database-url", default=os.environ.get("OPEN311_BENCH_URL", DEFAULT_URL))
    add("--posts", type=int, default=500, help="timed POSTs (default 500)")
    add("--warmup", type=int, default=50, help="untimed POSTs first")
    add("--breakdown", action="store_true", help="time each step of the filing too")
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


def _post(client: FlaskClient, form: dict[str, Any], status: int = 200) -> None:
    response = client.post(PATH, data=form)
    if response.status_code != status:
        body = response.get_data(as_text=True)
        raise RuntimeError(f"POST answered {response.status_code}: {body}")


if __name__ == "__main__":
    raise SystemExit(main())
