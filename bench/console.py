"""The staff console's queue page and dashboard page on PostGIS: each page beside its raw SQL.

    .venv/bin/python -m bench.console --reuse        # bench.neighbourhoods' 10M store
    .venv/bin/python -m bench.console --reuse \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/open311_bench_dashboard

1. Builds or reuses the store as bench.dashboard does (its --reuse, --requests).
2. Signs in to the console, through the Flask app's test client, as a supervisor
   of the department with the most open requests (added to the store, with a
   password, if missing).
3. For /console/queue (default filters; overdue only; one stage), checks that the
   page's request numbers, in order, equal those of a hand-written query of the
   same filters, ORDER BY and LIMIT; for /console/dashboard, checks each of its
   figures (the staff API's JSON of the same domain function) against
   bench.dashboard's raw SQL.
4. Times the whole page request through the app (session cookie, query, template)
   beside the raw SQL, taking turns; prints each page's figure beside the limit
   (≤ 2x) and the load average. Each queue variant also gets a line for the domain
   query alone (workflow.queries.queue through the ORM) beside the same raw SQL,
   which tells the query's share of the page. Writes bench/out/console-<time>.json.
   The app logs each request in JSON on stderr, as it does under gunicorn: redirect it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

import psycopg
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bench import dashboard as bench_dashboard
from bench import measure, seed, server
from bench.dashboard import OPEN, OUT, Line, say, table
from bench.georeport import load_average
from open311 import create_app
from open311.accounts import signin
from open311.accounts.staff import create_staff, issue_token
from open311.database import begin_write
from open311.extensions import db
from open311.models import Role, Staff, Stage
from open311.models.base import utcnow
from open311.workflow import actions, dashboard, queries

EMAIL = "bench.console.supervisor@city.example"
PASSWORD = "bench console supervisor passphrase"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
NUMBER_FIELD = re.compile(r'name="number" value="([^"]+)"')
# The bench signs in and reads pages far faster than a person: limits it cannot
# reach, those bench.server gives gunicorn and the console's sign-in's.
UNLIMITED = {
    **{name.removeprefix("OPEN311_"): value for name, value in server.UNLIMITED.items()},
    "RATE_LIMIT_SIGN_IN_PER_ADDRESS": "1000000 per minute",
    "RATE_LIMIT_SIGN_IN_PER_EMAIL": "1000000 per minute",
}
RAW_QUEUE = f"""
SELECT * FROM service_request
WHERE intake = 'accepted' AND stage IN {OPEN} AND agency_responsible = %(department)s
  {{filters}}
ORDER BY due_at IS NULL, due_at, requested_at, id
LIMIT %(limit)s
"""


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    OUT.mkdir(exist_ok=True)
    seed.use_the_apps_session_settings()
    dsn = seed.psycopg_dsn(options.database_url)
    facts = bench_dashboard.store(options, dsn)
    department = bench_dashboard.most_open_department(dsn)
    app = create_app({**seed.bench_config(options.database_url), **UNLIMITED})
    token = supervisor(app, department)
    client = app.test_client()
    sign_in(client)
    facts["department"] = department
    facts["load average before"] = load_average()
    with ExitStack() as stack:
        connection = stack.enter_context(psycopg.connect(dsn, autocommit=True))
        lines = measure_queue(client, connection, department, options)
        # As the app's dashboard queries run (dashboard._as_report).
        without_jit = stack.enter_context(psycopg.connect(dsn, autocommit=True))
        without_jit.execute(f"SET TIME ZONE '{seed.TIME_ZONE}'")
        without_jit.execute("SET jit = off")
        lines.append(measure_dashboard(client, without_jit, token, department, options))
    facts["load average after"] = load_average()
    say("")
    for key, value in facts.items():
        say(f"  {key:<24} {value}")
    say("")
    table(lines)
    bench_dashboard.write_out("console", options, facts, lines)
    return 1 if any(line.verdict == "FAIL" for line in lines) else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    bench_dashboard.add_store_options(parser)
    return parser.parse_args(argv)


def supervisor(app: Flask, department: str) -> str:
    """The department's bench supervisor, added if missing, with PASSWORD; a new token."""
    with app.app_context():
        session = db.session()
        begin_write(session)
        staff = session.scalar(sa.select(Staff).where(Staff.email == EMAIL))
        if staff is None:
            staff, token = create_staff(
                session, name="Benchmark supervisor", email=EMAIL, role=Role.SUPERVISOR,
                department=department, known=actions.departments(session),
            )  # fmt: skip
        else:  # another run's: the department with the most open requests may have changed
            staff.department = department
            staff.role = Role.SUPERVISOR
            token = issue_token(session, staff)
        signin.set_password(session, EMAIL, PASSWORD)
        session.commit()
    return token


def sign_in(client: FlaskClient) -> None:
    form = client.get("/console/sign-in")
    found = TOKEN_FIELD.search(form.get_data(as_text=True))
    assert found, "the sign-in page has no CSRF token"
    answer = client.post(
        "/console/sign-in",
        data={"csrf_token": found.group(1), "email": EMAIL, "password": PASSWORD},
    )
    if answer.status_code not in (302, 303) or "sign-in" in answer.headers.get("Location", ""):
        raise SystemExit(f"sign-in failed: {answer.status_code} {answer.headers}")


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code}: {response.data[:300]!r}")
    return response.get_data(as_text=True)


# --- the queue -------------------------------------------------------------------------------


def variants(connection: psycopg.Connection[Any], department: str) -> dict[str, dict[str, Any]]:
    """The filters timed: the default, overdue only, and the department's commonest
    open stage (asked for by name: the filter a supervisor would pick)."""
    row = connection.execute(
        f"SELECT stage FROM service_request WHERE intake = 'accepted' AND stage IN {OPEN}"
        " AND agency_responsible = %s GROUP BY 1 ORDER BY count(*) DESC"
        " LIMIT 1",
        (department,),
    ).fetchone()
    found: dict[str, dict[str, Any]] = {"queue": {}, "queue, overdue": {"overdue": "true"}}
    if row is not None:
        found[f"queue, stage {row[0]}"] = {"stage": row[0]}
    return found


def raw_queue(
    connection: psycopg.Connection[Any], department: str, asked: dict[str, Any], limit: int
) -> list[str]:
    """The rows the page's query reads, hand-written; their numbers in order."""
    filters = ""
    params: dict[str, Any] = {"department": department, "limit": limit}
    if asked.get("overdue"):
        filters += " AND due_at < %(now)s"
        params["now"] = datetime.now(UTC)
    if "stage" in asked:
        filters += " AND stage = %(stage)s"
        params["stage"] = asked["stage"]
    cursor = connection.execute(RAW_QUEUE.format(filters=filters), params)
    assert cursor.description is not None
    at = [column.name for column in cursor.description].index("number")
    return [row[at] for row in cursor.fetchall()]


def domain_queue(session: Session, where: queries.QueueFilter) -> object:
    return queries.queue(session, where, utcnow())


def measure_queue(
    client: FlaskClient,
    connection: psycopg.Connection[Any],
    department: str,
    options: argparse.Namespace,
) -> list[Line]:
    page_size = client.application.config["CONSOLE_PAGE_SIZE"]
    lines = []
    for name, asked in variants(connection, department).items():
        path = "/console/queue" + (f"?{urlencode(asked)}" if asked else "")
        shown = NUMBER_FIELD.findall(page(client, path))
        # The page's query reads one row past the page, to know if another follows.
        expected = raw_queue(connection, department, asked, page_size + 1)[:page_size]
        if shown != expected:
            raise SystemExit(
                f"{name}: the page's requests differ from raw SQL's:\n"
                f"  page {shown[:10]} … ({len(shown)})\n  raw  {expected[:10]} … ({len(expected)})"
            )
        say(f"{name}: the page's {len(shown)} requests equal raw SQL's, in order; timing …")
        raw = partial(raw_queue, connection, department, asked, page_size + 1)
        calls: dict[str, Callable[[], object]] = {"ours": partial(page, client, path), "raw": raw}
        latency = measure.timed(calls, options.warmup, options.repeat)
        lines.append(Line(name, department, latency["ours"].median, latency["raw"].median))
        # The domain query alone, through the ORM, beside the same raw SQL: tells the
        # query's share of the page's time from the rest (other reads, the template).
        where = queries.QueueFilter(
            department=department,
            stages=(Stage(asked["stage"]),) if "stage" in asked else (),
            overdue_only=bool(asked.get("overdue")),
            page_size=page_size + 1,
        )
        with client.application.app_context():
            session = db.session()
            ours = [r.number for r in queries.queue(session, where, utcnow())][:page_size]
            assert ours == expected, f"{name}: the domain query's rows differ from raw SQL's"
            calls = {"ours": partial(domain_queue, session, where), "raw": raw}
            latency = measure.timed(calls, options.warmup, options.repeat)
            session.rollback()
        query = Line(
            f"{name} (query only)", department, latency["ours"].median, latency["raw"].median
        )
        lines.append(query)
    return lines


# --- the dashboard ---------------------------------------------------------------------------


def measure_dashboard(
    client: FlaskClient,
    connection: psycopg.Connection[Any],
    token: str,
    department: str,
    options: argparse.Namespace,
) -> Line:
    """The whole dashboard page beside every figure's raw SQL, one after the other."""
    html = page(client, "/console/dashboard")
    assert department in html, "the dashboard page does not name the supervisor's department"
    # The page renders dashboard.compute's figures; the staff API answers the same
    # function's in JSON, which bench.dashboard already reads in raw SQL's terms.
    api = client.application.test_client()
    for figure in dashboard.FIGURES:
        response = api.get(
            f"/open311/staff/dashboard/{figure}", headers={"Authorization": f"Bearer {token}"}
        )
        body = response.get_json()
        now = datetime.fromisoformat(body["as_of"]).astimezone(UTC)
        mine = bench_dashboard.ours_in_raw_terms(figure, body)
        expected = bench_dashboard.raw_figure(connection, figure, department, now)
        if mine != expected:
            raise SystemExit(f"{figure}: the app's figure differs from raw SQL's")
    say("dashboard: each figure equals raw SQL's; timing …")

    def raw() -> None:
        now = datetime.now(UTC)
        for figure in dashboard.FIGURES:
            bench_dashboard.raw_figure(connection, figure, department, now)

    calls: dict[str, Callable[[], object]] = {
        "ours": lambda: page(client, "/console/dashboard"),
        "raw": raw,
    }
    latency = measure.timed(calls, options.warmup, options.repeat)
    ours, raw_ms = latency["ours"].median, latency["raw"].median
    return Line("dashboard (every figure)", department, ours, raw_ms)


if __name__ == "__main__":
    sys.exit(main())
