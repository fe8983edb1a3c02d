"""Departments' response templates: managed by supervisors and administrators, used by
any action that takes a public note (template_id), rendered by a pure function."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from open311.extensions import db
from open311.models import RequestEvent, ResponseTemplate
from open311.workflow.templates import render, unknown_placeholders
from tests.builders import bearer, make_staff, pothole_form

CDOT = "CDOT - Department of Transportation"
STREETS = "Streets and Sanitation"
PATCHED = "Request {service_request_id} ({service_name}) at {address} is patched. {thanks}"


def test_render_fills_the_known_placeholders_and_keeps_other_braces() -> None:
    values = {"service_request_id": "SR26-1", "service_name": "Pothole in Street"}
    assert render("{service_request_id}: {service_name}", values) == "SR26-1: Pothole in Street"
    assert render("{address} {{ok}} {x} {", values) == " {{ok}} {x} {"
    assert render("no placeholders", {}) == "no placeholders"
    assert unknown_placeholders(PATCHED) == ["thanks"]
    assert unknown_placeholders("{service_request_id} {department} {requested_date}") == []


@pytest.fixture
def staff(app: Any) -> dict[str, str]:
    return {
        "supervisor": make_staff(app, "supervisor", CDOT),
        "agent": make_staff(app, "agent", CDOT),
        "other_supervisor": make_staff(app, "supervisor", STREETS),
        "administrator": make_staff(app, "administrator", STREETS),
        "call_taker": make_staff(app, "call_taker", CDOT),
    }


def create(client: Any, token: str, **body: Any) -> Any:
    return client.post("/open311/staff/templates", json=body, headers=bearer(token))


def listed(client: Any, token: str, department: str | None = None) -> list[dict[str, Any]]:
    query = {"department": department} if department else {}
    reply = client.get("/open311/staff/templates", query_string=query, headers=bearer(token))
    assert reply.status_code == 200, reply.json
    return list(reply.json)


def count(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(ResponseTemplate)) or 0


def test_supervisors_and_administrators_manage_templates(app, client, staff):
    made = create(client, staff["supervisor"], title="Patched", text="Fixed: {service_request_id}.")
    assert made.status_code == 201, made.json
    assert made.json["department"] == CDOT
    by_admin = create(
        client, staff["administrator"], department=CDOT, title="Not ours", text="Not ours."
    )
    assert by_admin.status_code == 201, by_admin.json
    assert [t["title"] for t in listed(client, staff["agent"])] == ["Not ours", "Patched"]
    assert listed(client, staff["other_supervisor"]) == []

    path = f"/open311/staff/templates/{made.json['id']}"
    changed = client.put(
        path,
        json={"title": "Patched", "text": "Done: {service_name}."},
        headers=bearer(staff["supervisor"]),
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["text"] == "Done: {service_name}."
    assert client.delete(path, headers=bearer(staff["supervisor"])).status_code == 204
    assert client.delete(path, headers=bearer(staff["supervisor"])).status_code == 404
    assert [t["title"] for t in listed(client, staff["agent"])] == ["Not ours"]


def test_bad_templates_and_the_wrong_people_change_nothing(app, client, staff):
    made = create(client, staff["supervisor"], title="Patched", text="Fixed.")
    before = count(app)
    assert create(client, staff["agent"], title="A", text="B").status_code == 403
    assert create(client, staff["call_taker"], title="A", text="B").status_code == 403
    assert (
        create(client, staff["other_supervisor"], department=CDOT, title="A", text="B").status_code
        == 403
    )
    unknown = create(client, staff["supervisor"], title="T", text=PATCHED)
    assert unknown.status_code == 400
    assert "{thanks}" in unknown.json[0]["description"]
    assert create(client, staff["supervisor"], title="T").status_code == 400
    assert create(client, staff["supervisor"], title="T", text="x" * 4001).status_code == 400
    assert create(client, staff["supervisor"], title="Patched", text="Again").status_code == 409
    assert (
        create(client, staff["administrator"], department="Nobody", title="A", text="B").status_code
        == 400
    )
    path = f"/open311/staff/templates/{made.json['id']}"
    other = create(client, staff["supervisor"], title="Other", text="Other.").json
    renamed = client.put(
        f"/open311/staff/templates/{other['id']}",
        json={"title": "Patched", "text": "Clash"},
        headers=bearer(staff["supervisor"]),
    )
    assert renamed.status_code == 409, renamed.json
    assert (
        client.put(
            "/open311/staff/templates/99999999999",
            json={"title": "X", "text": "Y"},
            headers=bearer(staff["supervisor"]),
        ).status_code
        == 404
    )
    before += 1
    assert (
        client.put(
            path, json={"title": "X", "text": "Y"}, headers=bearer(staff["other_supervisor"])
        ).status_code
        == 403
    )
    assert client.delete(path, headers=bearer(staff["agent"])).status_code == 403
    assert (
        client.get(
            "/open311/staff/templates",
            query_string={"department": CDOT},
            headers=bearer(staff["other_supervisor"]),
        ).status_code
        == 403
    )
    assert count(app) == before
    texts = {t["title"]: t["text"] for t in listed(client, staff["agent"])}
    assert texts == {"Other": "Other.", "Patched": "Fixed."}


def file(client: Any, api_key: str) -> str:
    reply = client.post("/open311/v2/requests.json", data=pothole_form(api_key))
    assert reply.status_code == 200, reply.json
    return str(reply.json[0]["service_request_id"])


def test_an_action_takes_a_template_instead_of_a_note(app, client, api_key, staff):
    number = file(client, api_key)
    text = "We fixed {service_request_id} ({service_name}) reported on {requested_date}."
    template = create(client, staff["supervisor"], title="Fixed", text=text).json
    closed = client.post(
        f"/open311/staff/requests/{number}/close",
        json={"reason": "completed", "template_id": template["id"]},
        headers=bearer(staff["agent"]),
    )
    assert closed.status_code == 200, closed.json
    note = closed.json["history"][-1]["public_note"]
    public = client.get(f"/open311/v2/requests/{number}.json").json[0]
    assert note == public["status_notes"]
    assert note.startswith(f"We fixed {number} (Pothole in Street")
    assert public["requested_datetime"][:10] in note
    assert "{" not in note


def test_a_template_of_another_department_or_with_a_note_is_refused(app, client, api_key, staff):
    number = file(client, api_key)
    theirs = create(client, staff["other_supervisor"], title="Ours", text="Streets' words.").json
    ours = create(client, staff["supervisor"], title="Ours", text="CDOT's words.").json
    with app.app_context():
        events = db.session.scalar(sa.select(sa.func.count()).select_from(RequestEvent))
    path = f"/open311/staff/requests/{number}/acknowledge"
    for body in (
        {"template_id": theirs["id"]},
        {"template_id": 10**6},
        {"template_id": "many"},
        {"template_id": ours["id"], "public_note": "Both"},
    ):
        reply = client.post(path, json=body, headers=bearer(staff["agent"]))
        assert reply.status_code == 400, (body, reply.json)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RequestEvent)) == events
    assert client.get(f"/open311/v2/requests/{number}.json").json[0]["status_notes"] is None
