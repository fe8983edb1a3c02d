"""The console's supervisor pieces: the dashboard and its CSVs, redacting a description,
response templates, pattern flags, and asking the reporter (its outbox rows)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from open311.database import begin_write
from open311.extensions import db
from open311.models import (
    DescriptionRedaction,
    Notification,
    NotificationKind,
    ResponseTemplate,
    ServiceRequest,
    Stage,
)
from open311.patterns import actions as pattern_actions
from open311.patterns import queries as pattern_queries
from open311.workflow import dashboard
from tests.builders import make_request, pothole_form
from tests.console.conftest import CDOT, STREETS, Browser, add_staff

NOW = datetime.now(UTC).replace(microsecond=0)


def seed(app):
    make_request(app, "SR-A", NOW - timedelta(days=9), agency_responsible=CDOT,
                 due_at=NOW - timedelta(days=2), description="Call me at 312-555-0101")  # fmt: skip
    make_request(app, "SR-B", NOW - timedelta(days=1), agency_responsible=CDOT,
                 due_at=NOW + timedelta(days=5))  # fmt: skip
    make_request(app, "SR-S", NOW - timedelta(days=3), agency_responsible=STREETS)


def request_row(app, number):
    with app.app_context():
        row = db.session.scalar(sa.select(ServiceRequest).where(ServiceRequest.number == number))
        db.session.expunge_all()
        return row


def rows_of(csv_text):
    return list(csv.reader(io.StringIO(csv_text)))


# --- the dashboard ------------------------------------------------------------------------


def test_a_supervisor_reads_the_departments_dashboard(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "supervisor", CDOT, "s@city.example"))
    page = browser.get("/console/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'href="/console/dashboard"' in text  # in the navigation
    assert "Open requests by stage and age" in text
    assert f"{CDOT} · 2 open" in text  # the department's two, not Streets'
    assert 'id="dashboard-department"' not in text  # no chooser: their department only
    assert "/open311/staff/" not in text  # CSVs from the console, not the bearer API


def test_each_figures_csv_is_the_domains_table(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "supervisor", CDOT, "s@city.example"))
    for name in dashboard.FIGURES:
        reply = browser.get(f"/console/dashboard/{name}.csv")
        assert reply.status_code == 200, name
        assert reply.mimetype == "text/csv"
        assert "attachment" in reply.headers["Content-Disposition"]
        with app.app_context():
            figure = dashboard.compute(
                db.session(),
                name,
                CDOT,
                datetime.now(UTC),
                app.extensions["open311.jurisdiction"].time_zone,
            )
            expected = dashboard.to_csv(dashboard.table(figure))
        assert rows_of(reply.get_data(as_text=True)) == rows_of(expected)
    totals = rows_of(browser.get("/console/dashboard/open-by-stage.csv").get_data(as_text=True))
    assert sum(int(row[-1]) for row in totals[1:]) == 2


def test_an_administrator_chooses_a_department_or_the_city(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "administrator", "DOB - Buildings", "ad@city.example"))
    city = browser.get("/console/dashboard").get_data(as_text=True)
    assert 'id="dashboard-department"' in city
    assert "All departments · 3 open" in city
    streets = browser.get("/console/dashboard", query_string={"department": STREETS})
    assert f"{STREETS} · 1 open" in streets.get_data(as_text=True)
    csv_rows = rows_of(
        browser.get("/console/dashboard/open-by-stage.csv",
                    query_string={"department": STREETS}).get_data(as_text=True)
    )  # fmt: skip
    assert sum(int(row[-1]) for row in csv_rows[1:]) == 1
    assert browser.get("/console/dashboard", query_string={"department": "Nope"}).status_code == 400


def test_agents_and_other_departments_are_refused_the_dashboard(app, browser, other_browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    refused = browser.get("/console/dashboard")
    assert refused.status_code == 403
    assert 'href="/console/dashboard"' not in browser.get("/console/queue").get_data(as_text=True)
    assert browser.get("/console/dashboard/weekly.csv").status_code == 403
    other_browser.sign_in(add_staff(app, "supervisor", CDOT, "s@city.example"))
    other = other_browser.get("/console/dashboard", query_string={"department": STREETS})
    assert other.status_code == 403
    assert "You may not do that" in other.get_data(as_text=True)


# --- moderation ---------------------------------------------------------------------------


def test_an_agent_redacts_a_description_with_a_reason(app, browser, other_browser, client):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    page = browser.get("/console/requests/SR-A").get_data(as_text=True)
    assert 'id="form-redact"' in page
    done = browser.post("/console/requests/SR-A/redact",
                        {"description": "Call me at [phone removed]", "reason": "A phone number"})  # fmt: skip
    assert done.status_code == 303
    assert request_row(app, "SR-A").description == "Call me at [phone removed]"
    public = client.get("/open311/v2/requests/SR-A.json").json[0]
    assert "312-555" not in str(public)
    page = browser.get("/console/requests/SR-A").get_data(as_text=True)
    assert "Past redactions" in page
    assert "Call me at 312-555-0101" in page  # the original, for who may moderate
    assert "A phone number" in page

    # An administrator may view the request but not moderate: no original, no form.
    other_browser.sign_in(add_staff(app, "administrator", "DOB - Buildings", "ad@city.example"))
    admin_page = other_browser.get("/console/requests/SR-A").get_data(as_text=True)
    assert "312-555-0101" not in admin_page
    assert 'id="form-redact"' not in admin_page
    refused = other_browser.post("/console/requests/SR-A/redact", {"reason": "x"})
    assert refused.status_code == 403
    assert request_row(app, "SR-A").description == "Call me at [phone removed]"


def test_a_redaction_without_a_reason_changes_nothing(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    browser.get("/console/requests/SR-A")
    reply = browser.post("/console/requests/SR-A/redact", {"description": "gone"})
    assert reply.status_code == 303
    assert "reason" in browser.get("/console/requests/SR-A").get_data(as_text=True)
    assert request_row(app, "SR-A").description == "Call me at 312-555-0101"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DescriptionRedaction)) == 0


def test_another_departments_agent_may_not_redact(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", STREETS, "st@city.example"))
    browser.get("/console/queue")
    assert browser.post("/console/requests/SR-A/redact", {"reason": "x"}).status_code == 403
    assert request_row(app, "SR-A").description == "Call me at 312-555-0101"


# --- response templates -------------------------------------------------------------------


def templates_of(app, department):
    with app.app_context():
        return [
            (t.title, t.text)
            for t in db.session.scalars(
                sa.select(ResponseTemplate)
                .where(ResponseTemplate.department == department)
                .order_by(ResponseTemplate.title)
            )
        ]


def test_a_supervisor_manages_templates_and_an_agent_uses_one(app, browser, other_browser):
    seed(app)
    browser.sign_in(add_staff(app, "supervisor", CDOT, "s@city.example"))
    assert browser.get("/console/templates").status_code == 200
    added = browser.post("/console/templates",
                         {"title": "On the list", "text": "{service_request_id} at {address}: on our list."})  # fmt: skip
    assert added.status_code == 303
    browser.post("/console/templates", {"title": "Done", "text": "Fixed."})
    assert templates_of(app, CDOT) == [
        ("Done", "Fixed."),
        ("On the list", "{service_request_id} at {address}: on our list."),
    ]
    with app.app_context():
        ids = {t.title: t.id for t in db.session.scalars(sa.select(ResponseTemplate))}
    browser.get("/console/templates")
    browser.post(f"/console/templates/{ids['Done']}", {"title": "Done", "text": "Fixed today."})
    browser.post(f"/console/templates/{ids['Done']}/delete")
    assert templates_of(app, CDOT) == [
        ("On the list", "{service_request_id} at {address}: on our list.")
    ]
    # A placeholder the domain does not know: refused, nothing stored.
    browser.post("/console/templates", {"title": "Bad", "text": "Hi {name}"})
    assert "unknown placeholder" in browser.get("/console/templates").get_data(as_text=True)
    assert len(templates_of(app, CDOT)) == 1
    # A title the department already uses: a 409 page.
    assert (
        browser.post("/console/templates", {"title": "On the list", "text": "x"}).status_code == 409
    )

    other_browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    page = other_browser.get("/console/requests/SR-A").get_data(as_text=True)
    assert 'id="acknowledge-template"' in page
    assert "On the list" in page
    assert other_browser.get("/console/templates").status_code == 403
    done = other_browser.post("/console/requests/SR-A/act/acknowledge",
                              {"public_note": "", "template_id": str(ids["On the list"])})  # fmt: skip
    assert done.status_code == 303
    row = request_row(app, "SR-A")
    assert row.stage is Stage.ACKNOWLEDGED
    note = f"SR-A at {row.address}: on our list."
    assert note in other_browser.get("/console/requests/SR-A").get_data(as_text=True)


def test_another_departments_template_is_refused(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "supervisor", STREETS, "st@city.example"))
    browser.get("/console/templates")
    browser.post("/console/templates", {"title": "Streets", "text": "Ours."})
    assert (
        browser.post(
            "/console/templates", {"department": CDOT, "title": "x", "text": "y"}
        ).status_code
        == 403
    )
    with app.app_context():
        streets_id = db.session.scalar(sa.select(ResponseTemplate.id))
    agent = add_staff(app, "agent", CDOT, "a@city.example")
    cdot = Browser(app.test_client())
    cdot.sign_in(agent)
    cdot.get("/console/requests/SR-A")
    cdot.post("/console/requests/SR-A/act/acknowledge", {"template_id": str(streets_id)})
    assert "is not a template of" in cdot.get("/console/requests/SR-A").get_data(as_text=True)
    assert request_row(app, "SR-A").stage is Stage.NEW
    # Another department's supervisor may not edit or delete it either.
    sup = Browser(app.test_client())
    sup.sign_in(add_staff(app, "supervisor", CDOT, "s@city.example"))
    sup.get("/console/templates")
    assert (
        sup.post(f"/console/templates/{streets_id}", {"title": "x", "text": "y"}).status_code == 403
    )
    assert sup.post(f"/console/templates/{streets_id}/delete").status_code == 403
    assert templates_of(app, STREETS) == [("Streets", "Ours.")]


# --- patterns -----------------------------------------------------------------------------

RULES = pattern_actions.Rules(
    repeat_count=3, repeat_days=90, repeat_metres=15,
    hotspot_days=30, hotspot_eps_m=150, hotspot_min_points=4,
)  # fmt: skip


def test_repeat_place_flags_show_on_the_request_page_and_in_the_queue(app, browser):
    for n, days in (("SR-P1", 20), ("SR-P2", 10), ("SR-P3", 2)):
        make_request(app, n, NOW - timedelta(days=days), agency_responsible=CDOT,
                     address="1234 W ELM ST, CHICAGO, IL", lat=41.9031, long=-87.6602)  # fmt: skip
    make_request(app, "SR-ALONE", NOW - timedelta(days=1), agency_responsible=CDOT,
                 lat=41.8, long=-87.6, address="1 E MAIN ST")  # fmt: skip
    with app.app_context():
        begin_write(db.session())
        pattern_actions.recompute(db.session(), RULES, NOW)
        db.session.commit()
        many = pattern_queries.flags_for_requests(
            db.session(), ["SR-P1", "SR-P3", "SR-ALONE", "SR-404"]
        )
        assert sorted(many) == ["SR-P1", "SR-P3"]
        assert [f.requests for f in many["SR-P1"]] == [3]
        assert many["SR-P1"] == pattern_queries.patterns_for_request(db.session(), "SR-P1")
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    page = browser.get("/console/requests/SR-P2").get_data(as_text=True)
    assert "Repeat place" in page
    assert "3 requests" in page
    assert "Repeat place" not in browser.get("/console/requests/SR-ALONE").get_data(as_text=True)
    queue = browser.get("/console/queue").get_data(as_text=True)
    assert queue.count("console-tag--pattern") == 3


# --- asking the reporter ------------------------------------------------------------------


def test_asking_the_reporter_from_the_console_emails_them_and_the_answer_shows(
    app, browser, client, api_key
):
    reply = client.post("/open311/v2/requests.json", data=pothole_form(api_key))
    assert reply.status_code == 200, reply.json
    number = reply.json[0]["service_request_id"]
    department = request_row(app, number).agency_responsible
    browser.sign_in(add_staff(app, "agent", department, "a@city.example"))
    browser.get(f"/console/requests/{number}")
    assert browser.post(f"/console/requests/{number}/act/acknowledge", {}).status_code == 303
    question = "Is it in the bike lane?"
    assert browser.post(f"/console/requests/{number}/act/ask_reporter",
                        {"public_note": question}).status_code == 303  # fmt: skip
    with app.app_context():
        asked = db.session.scalars(
            sa.select(Notification).where(Notification.kind == NotificationKind.QUESTION)
        ).all()
        assert [(n.address, n.payload["action"]) for n in asked] == [
            ("resident@example.org", "ask_reporter")
        ]
    assert request_row(app, number).stage is Stage.AWAITING_REPORTER
    page = browser.get(f"/console/requests/{number}").get_data(as_text=True)
    assert question in page
    assert 'id="form-answer"' in page
    browser.post(f"/console/requests/{number}/act/answer", {"answer": "The bike lane."})
    page = browser.get(f"/console/requests/{number}").get_data(as_text=True)
    assert question in page
    assert "The bike lane." in page
    assert request_row(app, number).stage is Stage.ACKNOWLEDGED


def test_an_administrator_manages_any_departments_templates(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "administrator", "DOB - Buildings", "ad@city.example"))
    page = browser.get("/console/templates", query_string={"department": STREETS})
    assert page.status_code == 200
    assert 'id="templates-department"' in page.get_data(as_text=True)
    added = browser.post(
        "/console/templates", {"department": STREETS, "title": "Swept", "text": "Swept {address}."}
    )
    assert added.status_code == 303
    assert added.headers["Location"].endswith(
        "/console/templates?department=Streets+and+Sanitation"
    )
    assert templates_of(app, STREETS) == [("Swept", "Swept {address}.")]
    assert browser.get("/console/templates", query_string={"department": "Nope"}).status_code == 400
