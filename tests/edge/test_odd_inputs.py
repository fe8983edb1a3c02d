"""Every route, as each kind of caller, answers odd input with an error of its own: never a 5xx.

The route list is the app's own (url_map), so a route added later is walked too. Each
route gets the same odd values in every field a form or query of ours reads (all at
once, then two mixes by a seed of the route's own, so a run is the same each time),
as the callers it serves: anyone; a partner's key on the API; a staff token on the
staff API; a supervisor signed in to the console, whose forms carry their token. What
is asked of each answer is only that it is not a server error: the refusals' words
and formats are the other tests' business.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from open311.models.base import utcnow
from tests.builders import bearer, make_request, make_staff, pothole_form
from tests.console.conftest import CDOT, Browser, add_staff

NUMBER = "SR-ODD-1"
ODD = [
    "", " ", "-1", "0", "99999999999999999999", "1e309", "nan", "-inf", "2147483648",
    "2021-13-45", "0001-01-01", "9999-12-31T23:59:59+14:00", "' OR 1=1--", "%", "_", "\\",
    "<script>alert(1)</script>", "\u00fc" * 300, "a" * 5000, "\ufeff", "\u202e", "\u0661\u0662",
    "1_000", "\u00bd", ",", "open,,", "[]", "{}", "../../etc/passwd", "\t",
]  # fmt: skip
FIELDS = [
    "start_date", "end_date", "updated_after", "status", "service_code", "page", "page_size",
    "lat", "long", "radius", "q", "address", "address_string", "ward", "community_area",
    "from", "until", "bbox", "stage", "assignee", "overdue", "emergency", "next", "back",
    "email", "phone", "description", "service_request_id", "update_id", "updated_datetime",
    "media_url", "channel", "center_lat", "center_long", "radius_meters", "rating", "comment",
    "public_note", "internal_note", "answer", "scheduled_for", "department", "reason",
    "parent", "template_id", "party_kind", "party_name", "violation_code", "cited_on",
    "fine_amount", "name", "role", "password", "password_again", "code", "step", "number",
    "action", "idempotency_key", "attribute[WHEREIST]", "attribute[HOWMANY]", "csrf_token",
    "jurisdiction_id", "extensions", "language", "url", "events", "From", "Body", "MessageSid",
]  # fmt: skip
# Path values: ours where the route names a request, a service or a number, and odd ones.
PATH_VALUES = {"number": NUMBER, "service_request_id": NUMBER, "service_code": "PHF"}


def odd_forms(rule: Rule) -> Iterator[dict[str, Any]]:
    """Every field the same odd value, for a few values; then two mixes of the route's own."""
    for value in ("\u00fc" * 300, "99999999999999999999", "2021-13-45", "\ufeff"):
        yield dict.fromkeys(FIELDS, value)
    chooser = random.Random(rule.rule)
    for _ in range(2):
        chosen = chooser.sample(FIELDS, 12)
        yield {name: chooser.choice(ODD) for name in chosen}


def path_of(rule: Rule, odd: bool) -> str:
    values: dict[str, Any] = {}
    for name, converter in rule._converters.items():
        if type(converter).__name__ == "AnyConverter":
            values[name] = sorted(converter.items)[0]  # type: ignore[attr-defined]
        elif type(converter).__name__ == "IntegerConverter":
            values[name] = 2**40 if odd else 1
        else:
            values[name] = "x" * 300 if odd else PATH_VALUES.get(name, "x")
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def walked(app: Flask) -> list[tuple[str, Rule]]:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    return [(m, r) for r in rules for m in sorted(r.methods - {"HEAD", "OPTIONS"})]


def callers_of(rule: Rule, anyone: dict, partner: dict, staff: dict, console: dict) -> list[dict]:
    """Anyone, and the signed-in caller the route is for."""
    if rule.rule.startswith("/open311/staff"):
        return [anyone, staff]
    if rule.rule.startswith("/console"):
        return [anyone, console]
    if rule.rule.startswith("/open311"):
        return [anyone, partner]
    return [anyone]


def sent(rule: Rule) -> Iterator[tuple[bool, dict[str, Any]]]:
    """(odd path, form): every odd form on the route's own path, the first on an odd one."""
    forms = list(odd_forms(rule))
    yield from ((False, form) for form in forms)
    yield True, forms[0]


@pytest.fixture
def callers(app: Flask, client, api_key) -> tuple[dict, dict, dict]:
    form = pothole_form(api_key)
    assert client.post("/open311/v2/requests.json", data=form).status_code == 200
    make_request(app, NUMBER, utcnow(), agency_responsible=CDOT)
    token = make_staff(app, "supervisor", CDOT, email="odd.supervisor@city.example")
    console = Browser(app.test_client())
    console.sign_in(add_staff(app, "supervisor", CDOT, "odd.console@city.example"))
    return (
        {"client": app.test_client(), "fields": {"api_key": api_key}},
        {"client": app.test_client(), "headers": bearer(token)},
        {"client": console.client, "token": console.token},
    )


def test_no_route_answers_odd_input_with_a_server_error(app, callers):
    anyone = {"client": app.test_client()}
    errors = []
    for method, rule in walked(app):
        for caller in callers_of(rule, anyone, *callers):
            for odd_path, form in sent(rule):
                form = {**form, **caller.get("fields", {})}
                if caller.get("token") and not odd_path:
                    form["csrf_token"] = caller["token"]  # past the token, to the fields
                path = path_of(rule, odd_path)
                status = send(caller, method, path, form)
                if status >= 500:
                    errors.append(f"{method} {path} {status} {sorted(form)[:3]}…")
    assert errors == []


def send(caller: dict[str, Any], method: str, path: str, form: dict[str, Any]) -> int:
    client, headers = caller["client"], caller.get("headers", {})
    if method in ("GET", "DELETE"):
        response = client.open(path, method=method, query_string=form, headers=headers)
    else:
        response = client.open(path, method=method, data=form, headers=headers)
    return int(response.status_code)
