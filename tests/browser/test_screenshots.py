"""Every page of the resident site at phone and desktop width, each checked by axe-core.

`make screenshots` sets OPEN311_SCREENSHOTS=docs/screenshots and keeps the PNGs;
in a plain test run they go to a temporary folder.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import pytest

from open311.config import PROJECT_DIR
from tests.browser.conftest import (
    CITY_HALL,
    DESKTOP,
    PHONE,
    WRIGLEY_FIELD,
    file_by_api,
    jpeg_taken_at,
    new_page,
    send_outbox_until,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    wanted = os.environ.get("OPEN311_SCREENSHOTS")
    folder = PROJECT_DIR / wanted if wanted else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_every_page(browser, site, smtp_sink, axe, errors_on_page, shots, size, viewport):
    page = new_page(
        browser,
        errors_on_page,
        viewport=viewport,
        geolocation=CITY_HALL,
        permissions=["geolocation"],
    )

    def shot(name: str) -> None:
        axe.check(page)
        page.screenshot(path=str(shots / f"{name}-{size}.png"), full_page=True)

    page.goto(site.url("/"))
    shot("home")
    page.goto(site.url("/?q=pothole"))
    shot("home-search")
    page.goto(site.url("/services"))
    shot("services")
    page.goto(site.url("/services/PHF"))
    page.wait_for_selector("#map svg path")
    shot("service")
    page.locator("#address_string").focus()
    page.keyboard.type("121 N La")
    page.locator("#address_string-suggestions [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")
    shot("service-suggest")
    page.keyboard.press("Escape")
    page.fill("#address_string", "")
    page.click("button[type=submit]")
    page.wait_for_selector("#error-summary")
    shot("service-errors")
    page.click("#use-location")
    wait_until(page, "document.getElementById('lat').value !== ''")
    page.locator("label", has_text="Traffic Lane").click()
    page.fill("#description", "Deep pothole in the right lane")
    page.set_input_files(
        "#media",
        files=[
            {"name": "hole.jpg", "mimeType": "image/jpeg", "buffer": jpeg_taken_at(*WRIGLEY_FIELD)}
        ],
    )
    page.locator("#use-photo-place").wait_for(state="visible")
    shot("service-pin")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/done$"))
    shot("done")
    page.click("text=Track this request")
    page.wait_for_url(re.compile(r"/requests/SR\d\d-\d{8}$"))
    shot("track")
    page.goto(site.url("/near?address=121+N+LaSalle+St"))
    page.wait_for_selector("#near-map .leaflet-marker-icon")
    shot("near")
    page.goto(site.url("/patterns"))
    wait_until(
        page, "document.querySelectorAll('#patterns-map path[fill-opacity=\"0.55\"]').length >= 77"
    )
    shot("patterns")
    page.goto(site.url("/help"))
    shot("help")
    page.goto(site.url("/help/potholes-in-the-alley"))
    shot("article")
    page.goto(site.url("/requests/SR00-00000000"))
    shot("not-found")
    resident = f"resident-{size}-{secrets.token_hex(4)}@example.org"
    file_by_api(site, resident, "Deep pothole in the right lane")
    page.goto(site.url("/my-requests"))
    shot("sign-in")
    page.fill("#email", resident)
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_url(re.compile(r"/check-your-email$"))
    shot("sign-in-sent")
    send_outbox_until(site, lambda: emailed_link(smtp_sink, resident) is not None)
    page.goto(emailed_link(smtp_sink, resident) or "")
    shot("sign-in-link")
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/my-requests$"))
    shot("my-requests")
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/my-requests$"))
    shot("signed-out")
    page.goto(site.url("/language/es?next=/services/PHF"))
    page.wait_for_selector("#map svg path")
    shot("service-es")
    expected_errors = ["400", "404"]  # the statuses of the form with problems and not-found
    assert all(any(e in error for e in expected_errors) for error in errors_on_page), errors_on_page


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_offline_pages(browser, site, axe, errors_on_page, shots, size, viewport):
    """A report saved with no connection, then the offline page listing it. The context is
    closed while still offline: nothing is sent to the served database."""
    page = new_page(browser, errors_on_page, viewport=viewport)

    def shot(name: str) -> None:
        axe.check(page)
        page.screenshot(path=str(shots / f"{name}-{size}.png"), full_page=True)

    page.goto(site.url("/services/PHF"))
    wait_until(page, "navigator.serviceWorker.controller !== null", timeout=30)
    page.context.set_offline(True)
    page.fill("#address_string", "121 N LaSalle St")
    page.locator("label", has_text="Traffic Lane").click()
    page.click("button[type=submit]")
    page.locator("#outbox-list li").wait_for()
    shot("service-offline")
    page.goto(site.url("/help"))
    page.locator("#outbox-list li").wait_for()
    shot("offline")
    page.context.close()
    assert all("net::ERR_" in error for error in errors_on_page), errors_on_page


def emailed_link(sink: Any, address: str) -> str | None:
    for message in sink.to(address):
        if found := re.search(r"http://\S+/sign-in/\S+", message.get_content()):
            return found[0]
    return None


def read_png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[16:24]
    return int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")


def test_screenshots_are_what_they_say(shots: Any) -> None:
    for path in sorted(shots.glob("*-phone.png")):
        assert read_png_size(path)[0] == PHONE["width"], path
