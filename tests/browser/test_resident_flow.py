"""A resident files a pothole, by map pin in Spanish on a phone and by keyboard with an
address on a desktop, then tracks it; axe-core checks every page on the way."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from PIL import Image

from tests.browser.conftest import (
    CITY_HALL,
    DESKTOP,
    PHONE,
    WRIGLEY_FIELD,
    jpeg_taken_at,
    new_page,
    wait_until,
)
from tests.builders import bearer, make_staff
from tests.conftest import make_app

pytestmark = pytest.mark.slow

GARY_INDIANA = {"latitude": 41.5868, "longitude": -87.3464}
NUMBER = re.compile(r"SR\d\d-\d{8}")


def stored(site: Any, number: str) -> dict[str, Any]:
    engine = sa.create_engine(site.database_url)
    with engine.connect() as connection:
        row = (
            connection.execute(
                sa.text(
                    "SELECT channel, lat, long, address, description, attributes"
                    " FROM service_request WHERE number = :number"
                ),
                {"number": number},
            )
            .mappings()
            .one()
        )
    engine.dispose()
    return dict(row)


def test_a_pothole_filed_with_a_pin_on_a_phone_in_spanish(browser, site, axe, errors_on_page):
    page = new_page(
        browser,
        errors_on_page,
        viewport=PHONE,
        locale="es-ES",
        extra_http_headers={"Accept-Language": "es-ES,es;q=0.9"},
        geolocation=CITY_HALL,
        permissions=["geolocation"],
    )
    page.goto(site.url("/"))
    assert page.locator("h1").inner_text() == "¿Qué necesita?"
    axe.check(page)
    page.fill("#q", "bache")  # the Spanish name is searched too
    page.press("#q", "Enter")
    page.get_by_role("link", name="Queja por bache en la calle").first.click()
    assert page.locator("h1").inner_text() == "Queja por bache en la calle"
    page.wait_for_selector("#map svg path")  # the city is drawn
    axe.check(page)
    page.click("#use-location")  # "Usar mi ubicación"
    wait_until(page, "document.getElementById('lat').value !== ''")
    assert "CHICAGO" in page.input_value("#address_string")
    assert float(page.input_value("#lat")) == pytest.approx(41.8836, abs=1e-4)
    # A photo taken elsewhere: previewed, and the pin moves there only when asked.
    page.set_input_files(
        "#media",
        files=[
            {"name": "bache.jpg", "mimeType": "image/jpeg", "buffer": jpeg_taken_at(*WRIGLEY_FIELD)}
        ],
    )
    page.wait_for_selector("#media-previews img")
    offer = page.locator("#use-photo-place")
    offer.wait_for(state="visible")
    assert offer.inner_text() == "Usar el lugar donde se tomó la foto"
    assert float(page.input_value("#lat")) == pytest.approx(41.8836, abs=1e-4)  # not moved yet
    axe.check(page)
    offer.click()
    wait_until(page, "Math.abs(parseFloat(document.getElementById('lat').value) - 41.9484) < 1e-3")
    assert "se tomó la foto" in page.inner_text("#photo-offer")
    page.locator("label", has_text="Carril junto a la acera").click()  # the question in Spanish
    page.fill("#description", "Bache profundo junto a la acera")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/requests/SR\d\d-\d{8}/done$"))
    assert page.locator("h1").inner_text() == "Recibimos su solicitud"
    number = page.inner_text("#request-number")
    assert NUMBER.fullmatch(number)
    assert "días" in page.inner_text(".site-expected")  # the learned range, in words
    axe.check(page)
    row = stored(site, number)
    assert row["channel"] == "web"
    assert row["description"] == "Bache profundo junto a la acera"
    assert row["lat"] == pytest.approx(WRIGLEY_FIELD[0], abs=1e-4)
    assert row["long"] == pytest.approx(WRIGLEY_FIELD[1], abs=1e-4)
    photo_url = page.locator(".site-photos a").first.get_attribute("href")
    served = requests.get(site.url(photo_url), timeout=10)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(served.content)).getexif()  # no GPS, no maker: nothing
    assert (site.media_root / photo_url.rsplit("/", 1)[1]).read_bytes() == served.content
    assert errors_on_page == []


def test_a_pin_outside_the_city_is_refused_with_a_message(browser, site, errors_on_page):
    page = new_page(
        browser,
        errors_on_page,
        viewport=DESKTOP,
        geolocation=GARY_INDIANA,
        permissions=["geolocation"],
    )
    page.goto(site.url("/services/PHF"))
    page.wait_for_selector("#map svg path")
    page.click("#use-location")
    wait_until(page, "document.getElementById('map-status').textContent.includes('outside')")
    assert page.input_value("#lat") == ""
    assert page.locator("#map .leaflet-marker-icon").count() == 0


def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_same_by_keyboard_only_with_an_address_then_tracked(browser, site, axe, errors_on_page):
    page = new_page(browser, errors_on_page, viewport=DESKTOP)
    page.goto(site.url("/services/PHF"))
    tab_to(page, "#address_string")
    page.keyboard.type("121 N LaSalle St")
    tab_to(page, "input[name='attribute[WHEREIST]']")
    page.keyboard.press("Space")
    tab_to(page, "#description")
    page.keyboard.type("Deep pothole in the curb lane")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/done$"))
    number = page.inner_text("#request-number")
    assert page.locator("h1").inner_text() == "Your request was received"
    axe.check(page)
    row = stored(site, number)
    assert row["address"].startswith("121 N LA SALLE ST")
    assert row["lat"] == pytest.approx(41.8836, abs=0.002)
    assert row["attributes"]  # the chosen radio was sent

    # Tracking it from the home page's box, still by keyboard.
    page.goto(site.url("/"))
    tab_to(page, "#number")
    page.keyboard.type(number)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/requests/{number}$"))
    assert number in page.locator("h1").inner_text()
    assert page.text_content(".site-tag") == "Open"
    assert page.locator(".site-timeline li").count() >= 1
    axe.check(page)
    assert errors_on_page == []


def test_a_form_with_problems_shows_them_beside_the_fields_and_in_a_summary(
    browser, site, axe, errors_on_page
):
    page = new_page(browser, errors_on_page, viewport=PHONE)
    page.goto(site.url("/services/PHF"))
    page.click("button[type=submit]")
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    links = summary.locator("a")
    assert links.count() == 2  # the place and the required question
    axe.check(page)
    links.first.click()
    assert page.evaluate("document.activeElement.id") == "address_string"


def test_a_staff_close_through_the_api_then_feedback_from_the_track_page(
    browser, site, axe, errors_on_page
):
    page = new_page(browser, errors_on_page, viewport=PHONE)
    page.goto(site.url("/services/PHF"))
    page.fill("#address_string", "121 N LaSalle St")
    page.locator("#address_string-suggestions").wait_for()  # suggestions open below the box
    page.keyboard.press("Escape")  # closed: what was typed is sent
    page.locator("label", has_text="Traffic Lane").click()
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/done$"))
    number = page.inner_text("#request-number")

    staff = make_staff(make_app(site.database_url), "agent", "CDOT - Department of Transportation")
    closed = requests.post(
        site.url(f"/open311/staff/requests/{number}/close"),
        json={"reason": "completed", "public_note": "Pothole patched."},
        headers=bearer(staff),
        timeout=10,
    )
    assert closed.status_code == 200, closed.text

    page.goto(site.url(f"/requests/{number}"))
    assert page.text_content(".site-tag") == "Closed"
    assert "Pothole patched." in page.inner_text(".site-timeline")
    axe.check(page)
    page.locator("label[for=rating-4]").click()
    page.fill("#comment", "Quick work, thank you")
    page.click("#feedback button[type=submit]")
    page.wait_for_url(re.compile(f"/requests/{number}$"))
    assert "your rating was received" in page.inner_text(".usa-alert")
    axe.check(page)
    engine = sa.create_engine(site.database_url)
    with engine.connect() as connection:
        rating = connection.execute(
            sa.text(
                "SELECT rating FROM feedback JOIN service_request"
                " ON service_request.id = feedback.service_request_id WHERE number = :number"
            ),
            {"number": number},
        ).scalar_one()
    engine.dispose()
    assert rating == 4
    assert errors_on_page == []


def test_the_pages_keep_their_csp_and_a_violation_fails_the_check(browser, site, axe):
    """The tests run under the site's real Content-Security-Policy: an inline script,
    which our pages never have, is refused by the browser and fails the axe check."""
    errors: list[str] = []
    page = new_page(browser, errors, viewport=PHONE)
    page.goto(site.url("/"))
    axe.check(page)  # axe itself is no violation
    page.evaluate(
        "document.body.appendChild(Object.assign(document.createElement('script'),"
        " {textContent: 'window.injected = true'}))"
    )
    wait_until(page, "window.__cspViolations.length > 0")
    assert page.evaluate("window.injected") is None  # refused, not run
    with pytest.raises(AssertionError):
        axe.check(page)
    assert any(e.startswith("CSP violation: script-src") for e in errors), errors
