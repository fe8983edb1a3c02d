"""The console's pages at phone and desktop width, each checked by axe-core.

`make screenshots` sets OPEN311_SCREENSHOTS=docs/screenshots and keeps the PNGs;
in a plain test run they go to a temporary folder.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import pytest

from open311.config import PROJECT_DIR
from tests.browser.conftest import DESKTOP, PHONE, new_page, wait_until
from tests.browser.console_people import PASSWORD, seed_console, sign_in_to_queue
from tests.browser.intake_people import pothole_at, seed_call_taker

pytestmark = pytest.mark.slow


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    wanted = os.environ.get("OPEN311_SCREENSHOTS")
    folder = PROJECT_DIR / wanted if wanted else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_every_console_page(browser, site, axe, errors_on_page, shots, size, viewport):
    people = seed_console(site.database_url, "s" + secrets.token_hex(2))
    page = new_page(browser, errors_on_page, viewport=viewport)

    def shot(name: str) -> None:
        axe.check(page)
        page.screenshot(path=str(shots / f"console-{name}-{size}.png"), full_page=True)

    page.goto(site.url("/console/sign-in"))
    shot("sign-in")
    page.fill("#email", people.supervisor)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/console/queue"))
    shot("queue")
    page.goto(site.url("/console/queue?view=map"))
    page.wait_for_selector("#queue-map .leaflet-interactive")
    shot("queue-map")
    number = people.requests[2]
    page.goto(site.url(f"/console/requests/{number}"))
    page.wait_for_selector("#request-map .leaflet-interactive")
    form = page.locator("#form-note")
    form.locator("textarea[name=public_note]").fill("A crew is on the way.")
    form.locator("textarea[name=internal_note]").fill("Second report of this hole this month.")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".usa-alert--success")
    page.wait_for_selector("#request-map .leaflet-interactive")
    shot("request")
    page.goto(site.url("/console/dashboard"))
    wait_until(page, "document.querySelectorAll('canvas[data-drawn]').length === 5")
    shot("dashboard")
    page.goto(site.url("/console/requests/SR-NOT-THERE"))
    shot("error")
    assert [e for e in errors_on_page if "404" not in e] == []


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_intake(browser, site, axe, errors_on_page, shots, size, viewport):
    """The call-taker's intake once the form is checked: the open pothole already
    reported there, offered to follow, above the caller's answers."""
    tag = "k" + secrets.token_hex(2)
    call_taker = seed_call_taker(site.database_url, tag)
    pothole_at(site.base_url, site.database_url, "120 W Madison St", "Deep pothole in the bus lane")
    page = new_page(browser, errors_on_page, viewport=viewport)
    sign_in_to_queue(page, site, call_taker)
    page.goto(site.url("/console/intake/PHF"))
    page.fill("#address_string", "120 W Madison St")
    page.locator("label[for^='attr-WHEREIST']").first.click()
    page.fill("#description", "Caller says it is deep")
    page.fill("#email", "caller@example.org")
    page.click("button[name=step][value=check]")
    page.wait_for_selector("#nearby-title")
    page.wait_for_selector("#map .leaflet-interactive")  # the place and the offered request
    axe.check(page)
    page.screenshot(path=str(shots / f"console-intake-{size}.png"), full_page=True)
    assert errors_on_page == []
