"""A supervisor in real Chromium: reads the dashboard (its tables hold the domain's
numbers), redacts a description, and answers with a response template; axe-core on
every page."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from open311.extensions import db
from open311.models import ServiceRequest
from open311.workflow import dashboard
from tests.browser.conftest import DESKTOP, new_page, wait_until
from tests.browser.console_people import CDOT, People, seed_console
from tests.browser.test_console import act, sign_in
from tests.conftest import make_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def people(site: Any) -> People:
    return seed_console(site.database_url, "v" + secrets.token_hex(2))


def stored(database_url: str, number: str) -> tuple[str, str]:
    """The request's description and address, as stored."""
    app = make_app(database_url)
    with app.app_context():
        row = db.session.scalar(sa.select(ServiceRequest).where(ServiceRequest.number == number))
        assert row is not None
        found = (row.description or "", row.address or "")
        db.engine.dispose()
    return found


def open_total(database_url: str) -> int:
    app = make_app(database_url)
    with app.app_context():
        figure = dashboard.open_by_stage(db.session(), CDOT, datetime.now(UTC))
        db.engine.dispose()
    return figure.total


def test_a_supervisor_reads_the_dashboard_redacts_and_uses_a_template(
    browser, site, axe, errors_on_page, people
):
    page = new_page(browser, errors_on_page, viewport=DESKTOP)
    sign_in(page, site, axe, people.supervisor)
    page.wait_for_url(re.compile(r"/console/queue"))

    # The dashboard: reached from the navigation, its charts drawn, its tables the numbers.
    page.click("nav.console-nav >> text=Dashboard")
    page.wait_for_url(re.compile(r"/console/dashboard"))
    wait_until(page, "document.querySelectorAll('canvas[data-drawn]').length === 5")
    axe.check(page)
    caption = page.inner_text("#open-by-stage-caption")
    assert f"{open_total(site.database_url):,} open" in caption
    assert CDOT in caption
    assert page.locator("table.usa-table").count() == 5
    links = page.eval_on_selector_all(
        "a[download]", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(links) == 5
    assert all(link.startswith("/console/dashboard/") for link in links)
    csv_reply = page.request.get(site.url(links[0]))
    assert csv_reply.status == 200
    assert csv_reply.text().startswith("stage,")

    # A response template for the department.
    page.click("nav.console-nav >> text=Templates")
    page.wait_for_url(re.compile(r"/console/templates"))
    axe.check(page)
    title = f"Crew booked {secrets.token_hex(2)}"
    form = page.locator("#form-add-template")
    form.locator("input[name=title]").fill(title)
    form.locator("textarea[name=text]").fill("A crew will fill the hole at {address}.")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".usa-alert--success")
    axe.check(page)

    # Redact the description of a request.
    number = people.requests[0]
    page.goto(site.url(f"/console/requests/{number}"))
    axe.check(page)
    original, address = stored(site.database_url, number)
    act(page, axe, "redact", {"#redact-description": "Deep pothole", "#redact-reason": "A name"})
    assert stored(site.database_url, number)[0] == "Deep pothole"
    assert original in page.inner_text("main")  # the original, for the supervisor only

    # A public note from the template.
    act(page, axe, "note", {"select:#note-template": title})
    assert f"A crew will fill the hole at {address}." in page.inner_text("main")
    assert errors_on_page == []
