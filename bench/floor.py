"""The floor under any POST we serve: the same HTTP stack doing nothing but the INSERT.

gunicorn and Flask parse the same forms, and SQLAlchemy Core runs the raw
benchmark's INSERT (bench.measure.RAW_INSERT_SQL) and a COMMIT; no key, no
catalogue, no validation, no request number, no areas, no notifications. What
it reaches is the most a Flask app on this machine can file, so the distance
from it to our POST is what our own work costs, and its distance from raw
INSERTs is what the web stack costs. bench.georeport runs it under gunicorn as
`bench.floor:app` with the app's settings; its rows are numbered `FL…` and
deleted after the run.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, request
from psycopg.types.json import Json

from bench.measure import RAW_INSERT_SQL

NUMBER_PREFIX = "FL"
INSERT = sa.text(RAW_INSERT_SQL.replace("%(", ":").replace(")s", ""))

app = Flask(__name__)
numbers = itertools.count(1)


@functools.cache
def engine() -> sa.Engine:  # in the worker, from the URL bench.server gives it
    return sa.create_engine(os.environ["OPEN311_DATABASE_URL"])


@app.get("/open311/v2/services.json")
def ready() -> Response:  # what bench.server waits for
    return Response("[]", mimetype="application/json")


@app.post("/open311/v2/requests.json")
def file_request() -> Response:
    form = request.form
    number = f"{NUMBER_PREFIX}{os.getpid()}-{next(numbers)}"
    with engine().begin() as connection:
        connection.execute(INSERT, _row(form, number))
    return Response(json.dumps([{"service_request_id": number}]), mimetype="application/json")


def _row(form: Any, number: str) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    answers = {
        key[len("attribute[") : -1]: value
        for key, value in form.items()
        if key.startswith("attribute[")
    }
    private = ("email", "phone", "first_name", "last_name", "device_id", "account_id")
    return {
        "number": number,
        "service_code": form["service_code"],
        "description": form.get("description"),
        "agency_responsible": None,
        "service_notice": None,
        "now": now,
        "expected_at": None,
        "address": form.get("address_string", ""),
        "lat": float(form["lat"]),
        "long": float(form["long"]),
        "attributes": Json(answers),
        "api_key_id": None,
        **{name: form.get(name) for name in private},
    }
