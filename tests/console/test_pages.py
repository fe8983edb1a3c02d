"""The console's queue and request page: what each role is offered, what the server
refuses whatever is posted, and that a refusal changes nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from open311.extensions import db
from open311.models import RequestEvent, ServiceRequest, Stage
from open311.service_requests.emergency import NOTICE
from tests.builders import bearer, make_request, make_staff
from tests.console.conftest import CDOT, STREETS, add_staff

NOW = datetime.now(UTC).replace(microsecond=0)


def snapshot(app, number):
    with app.app_context():
        row = db.session.scalar(sa.select(ServiceRequest).where(ServiceRequest.number == number))
        events = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RequestEvent)
            .where(RequestEvent.service_request_id == row.id)
        )
        return (row.stage, row.assignee, row.agency_responsible, row.status_notes, events)


def seed(app):
    """Three CDOT requests (one overdue, one with emergency words) and one of Streets."""
    make_request(app, "SR-OLD", NOW - timedelta(days=9), agency_responsible=CDOT,
                 due_at=NOW - timedelta(days=2), description="=HYPERLINK(\"x\") pothole")  # fmt: skip
    make_request(app, "SR-NEW", NOW - timedelta(days=1), agency_responsible=CDOT,
                 due_at=NOW + timedelta(days=5), community_area="32")  # fmt: skip
    make_request(app, "SR-FIRE", NOW - timedelta(hours=2), agency_responsible=CDOT,
                 service_notice=NOTICE, description="house fire now")  # fmt: skip
    make_request(app, "SR-STREETS", NOW - timedelta(days=3), agency_responsible=STREETS)


def numbers_on(page):
    text = page.get_data(as_text=True)
    return [n for n in ("SR-OLD", "SR-NEW", "SR-FIRE", "SR-STREETS") if f">{n}</a>" in text]


def test_the_queue_is_the_departments_most_overdue_first(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    page = browser.get("/console/queue")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    shown = [n for n in ("SR-OLD", "SR-NEW", "SR-FIRE") if n in text]
    assert sorted(shown, key=text.index) == ["SR-OLD", "SR-NEW", "SR-FIRE"]
    assert "SR-STREETS" not in text
    assert "Overdue" in text
    assert "Emergency words" in text


def test_the_queue_filters(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    assert numbers_on(browser.get("/console/queue?overdue=true")) == ["SR-OLD"]
    assert numbers_on(browser.get("/console/queue?emergency=true")) == ["SR-FIRE"]
    assert numbers_on(browser.get("/console/queue?community_area=32")) == ["SR-NEW"]
    assert numbers_on(browser.get("/console/queue?stage=acknowledged")) == []
    bad = browser.get("/console/queue?stage=nonsense")
    assert bad.status_code == 400
    assert "stage" in bad.get_data(as_text=True)
    other = browser.get(f"/console/queue?department={STREETS}")
    assert other.status_code == 403  # an agent sees their own department's queue only


def test_the_queue_and_the_staff_api_agree(app, browser):
    seed(app)
    token = make_staff(app, "agent", CDOT, email="api@city.example")
    api = browser.client.get("/open311/staff/queue?overdue=false", headers=bearer(token))
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    page = browser.get("/console/queue")
    assert [r["service_request_id"] for r in api.get_json()] == numbers_on(page)


def test_an_administrator_sees_every_department(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "administrator", CDOT, "root@city.example"))
    assert set(numbers_on(browser.get("/console/queue"))) == {
        "SR-OLD", "SR-NEW", "SR-FIRE", "SR-STREETS"
    }  # fmt: skip
    assert numbers_on(browser.get(f"/console/queue?department={STREETS}")) == ["SR-STREETS"]
    own = browser.get(f"/console/queue?department={CDOT}").get_data(as_text=True)
    assert 'id="f-department"' in own  # the choice stays, on their own department too
    page = browser.get("/console/queue").get_data(as_text=True)
    assert 'name="number"' not in page  # no bulk actions: administrators do not work requests


def test_the_csv_is_what_is_shown_with_formulas_made_text(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    response = browser.get("/console/queue.csv?overdue=true")
    assert response.content_type == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["number"] for r in rows] == ["SR-OLD"]
    assert rows[0]["description"].startswith("'=HYPERLINK")


def test_bulk_acknowledge_and_assign_go_through_the_workflow(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "supervisor", CDOT, "sup@city.example"))
    browser.get("/console/queue")
    done = browser.post("/console/queue/bulk",
                        {"action": "acknowledge", "number": ["SR-OLD", "SR-NEW"],
                         "back": "/console/queue"})  # fmt: skip
    assert done.status_code == 303
    assert snapshot(app, "SR-OLD")[0] is Stage.ACKNOWLEDGED
    assert snapshot(app, "SR-NEW")[0] is Stage.ACKNOWLEDGED
    browser.post("/console/queue/bulk",
                 {"action": "assign", "assignee": "Crew 7", "number": ["SR-OLD", "SR-FIRE"]})  # fmt: skip
    assert snapshot(app, "SR-OLD")[:2] == (Stage.ASSIGNED, "Crew 7")
    assert snapshot(app, "SR-FIRE")[:2] == (Stage.ASSIGNED, "Crew 7")
    with app.app_context():
        actions = db.session.scalars(sa.select(RequestEvent.action).order_by(RequestEvent.id)).all()
    assert actions == ["acknowledge", "acknowledge", "assign", "assign"]


def test_bulk_is_all_or_nothing(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    browser.get("/console/queue")
    before = [snapshot(app, n) for n in ("SR-OLD", "SR-STREETS")]
    refused = browser.post("/console/queue/bulk",
                           {"action": "acknowledge", "number": ["SR-OLD", "SR-STREETS"]})  # fmt: skip
    assert refused.status_code == 403
    assert "Only Streets and Sanitation staff" in refused.get_data(as_text=True)
    assert [snapshot(app, n) for n in ("SR-OLD", "SR-STREETS")] == before


def test_the_request_page_offers_what_the_role_and_stage_allow(app, browser, other_browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    page = browser.get("/console/requests/SR-OLD").get_data(as_text=True)
    for action in ("acknowledge", "ask_reporter", "close", "mark_duplicate", "note"):
        assert f'id="form-{action}"' in page, action
    for action in ("assign", "transfer", "reopen", "schedule", "start"):
        assert f'id="form-{action}"' not in page, action  # role or stage forbids it
    other_browser.sign_in(add_staff(app, "supervisor", CDOT, "s@city.example"))
    page = other_browser.get("/console/requests/SR-OLD").get_data(as_text=True)
    assert 'id="form-assign"' in page
    assert 'id="form-transfer"' in page


def test_an_action_works_and_lands_in_the_history(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    browser.get("/console/requests/SR-OLD")
    done = browser.post("/console/requests/SR-OLD/act/acknowledge",
                        {"public_note": "We are on it."})  # fmt: skip
    assert done.status_code == 303
    browser.get("/console/requests/SR-OLD")
    browser.post("/console/requests/SR-OLD/act/note", {"internal_note": "Called them."})
    page = browser.get("/console/requests/SR-OLD").get_data(as_text=True)
    assert "We are on it." in page
    assert "Called them." in page
    assert "Agent of CDOT" in page  # who did it
    assert snapshot(app, "SR-OLD")[0] is Stage.ACKNOWLEDGED


def test_a_form_missing_what_it_needs_says_so_and_changes_nothing(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    browser.get("/console/requests/SR-OLD")
    before = snapshot(app, "SR-OLD")
    back = browser.post("/console/requests/SR-OLD/act/close", {"reason": ""})
    assert back.status_code == 303
    assert "reason" in browser.get("/console/requests/SR-OLD").get_data(as_text=True)
    assert snapshot(app, "SR-OLD") == before


def test_a_forced_forbidden_action_is_refused_and_changes_nothing(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    browser.get("/console/requests/SR-OLD")
    before = snapshot(app, "SR-OLD")
    refused = browser.post("/console/requests/SR-OLD/act/assign", {"assignee": "Me"})
    assert refused.status_code == 403
    text = refused.get_data(as_text=True)
    assert "A agent may not assign." in text
    assert "Nothing was changed." in text
    assert snapshot(app, "SR-OLD") == before


def test_another_departments_agent_is_refused(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", STREETS, "st@city.example"))
    assert browser.get("/console/requests/SR-OLD").status_code == 403
    browser.get("/console/queue")
    before = snapshot(app, "SR-OLD")
    refused = browser.post("/console/requests/SR-OLD/act/acknowledge", {})
    assert refused.status_code == 403
    assert f"Only {CDOT} staff" in refused.get_data(as_text=True)
    assert snapshot(app, "SR-OLD") == before


def test_a_stage_that_does_not_allow_it_is_a_409(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    browser.get("/console/requests/SR-OLD")
    before = snapshot(app, "SR-OLD")
    refused = browser.post("/console/requests/SR-OLD/act/start", {})
    assert refused.status_code == 409
    assert "is new; start needs it to be" in refused.get_data(as_text=True)
    assert snapshot(app, "SR-OLD") == before


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    before = snapshot(app, "SR-OLD")
    refused = browser.client.post("/console/requests/SR-OLD/act/acknowledge", data={})
    assert refused.status_code == 400
    assert "This form has expired" in refused.get_data(as_text=True)
    for guess in ("guessed", "devin\u00e9"):  # not in ASCII: was a 500
        wrong = browser.client.post(
            "/console/requests/SR-OLD/act/acknowledge", data={"csrf_token": guess}
        )
        assert wrong.status_code == 400
    assert snapshot(app, "SR-OLD") == before


def test_mark_duplicate_offers_the_likely_parents(app, browser):
    seed(app)
    make_request(app, "SR-TWIN", NOW - timedelta(hours=1), agency_responsible=CDOT)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    page = browser.get("/console/requests/SR-TWIN").get_data(as_text=True)
    assert 'id="parent-SR-OLD"' in page  # same service, same place, earlier
    browser.post("/console/requests/SR-TWIN/act/mark_duplicate", {"parent": "SR-OLD"})
    with app.app_context():
        twin = db.session.scalar(
            sa.select(ServiceRequest).where(ServiceRequest.number == "SR-TWIN")
        )
        assert (twin.stage, twin.duplicate_of) == (Stage.CLOSED, "SR-OLD")


def test_error_pages_are_the_consoles(app, browser):
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    missing = browser.get("/console/requests/SR-NONE")
    assert missing.status_code == 404
    assert "CHI 311 console" in missing.get_data(as_text=True)
    unknown = browser.get("/console/no-such-page")
    assert unknown.status_code == 404
    assert "CHI 311 console" in unknown.get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(app, client):
    response = client.get("/console/requests/SR-OLD")
    assert response.status_code == 303
    assert "/console/sign-in?next=" in response.headers["Location"]


def test_the_console_speaks_english_to_a_spanish_browser(app, browser):
    browser.client.set_cookie("lang", "es")
    page = browser.get("/console/sign-in", headers={"Accept-Language": "es"})
    text = page.get_data(as_text=True)
    assert '<html lang="en">' in text
    assert "Skip to main content" in text  # a string the resident site has in Spanish


def test_an_agent_cites_through_the_apis_form(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "agent", CDOT, "a@city.example"))
    page = browser.get("/console/requests/SR-OLD").get_data(as_text=True)
    assert 'id="form-cite"' in page
    form = {"party_kind": "business", "party_name": "Acme Paving", "licence_number": "L-42",
            "violation_code": "7-28-120", "cited_on": "2026-12-01", "fine_amount": "250"}  # fmt: skip
    assert browser.post("/console/requests/SR-OLD/citations", form).status_code == 303
    bad = browser.post("/console/requests/SR-OLD/citations", {**form, "violation_code": "=1"})
    assert bad.status_code == 303
    page = browser.get("/console/requests/SR-OLD").get_data(as_text=True)
    assert "violation_code" in page  # the API's words, shown on the page
    with app.app_context():
        actions = db.session.scalars(sa.select(RequestEvent.action)).all()
    assert actions == ["cite"]  # one citation: the bad form stored nothing


def test_a_supervisor_of_another_department_may_not_cite(app, browser):
    seed(app)
    browser.sign_in(add_staff(app, "supervisor", STREETS, "s@city.example"))
    browser.get("/console/queue")
    form = {"party_kind": "person", "party_name": "Al", "party_address": "1 Main St",
            "violation_code": "7-28-120", "cited_on": "2026-12-01", "fine_amount": "50"}  # fmt: skip
    refused = browser.post("/console/requests/SR-OLD/citations", form)
    assert refused.status_code == 403
    assert f"Only {CDOT} staff may cite" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RequestEvent)) == 0
