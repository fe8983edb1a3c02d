"""Address suggestions by keyboard on the service form, then the filed request found on the
near-me page, in its list and on its clustered map at its pin; axe-core on every page."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import CITY_HALL, DESKTOP, PHONE, new_page, wait_until

pytestmark = pytest.mark.slow

CHICAGO_TIME = ZoneInfo("America/Chicago")
TYPED = "1060 W Addis"
CHOSEN = "1060 W ADDISON ST"


def test_an_address_chosen_by_keyboard_then_found_near_me(browser, site, axe, errors_on_page):
    page = new_page(browser, errors_on_page, viewport=DESKTOP)
    page.goto(site.url("/services/PHF"))
    page.wait_for_selector("#map svg path")
    box = page.locator("#address_string")
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "false"
    box.focus()
    page.keyboard.type(TYPED)
    page.locator("#address_string-suggestions [role=option]").first.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    options = page.locator("#address_string-suggestions [role=option]")
    assert all(text.startswith("1060 W ADDIS") for text in options.all_inner_texts())
    page.keyboard.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    assert active
    assert page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    axe.check(page)  # with the list open
    chosen = page.locator(f"#{active}").inner_text()
    assert chosen.startswith(CHOSEN)
    page.keyboard.press("Escape")  # closes, keeps what was typed
    assert box.get_attribute("aria-expanded") == "false"
    assert box.input_value() == TYPED
    page.keyboard.press("ArrowDown")  # opens again on the first
    page.keyboard.press("Enter")  # takes it, and does not send the form
    assert box.input_value() == chosen
    assert page.url.endswith("/services/PHF")
    assert box.get_attribute("aria-expanded") == "false"
    # The pin moved to the address, and the map with it.
    wait_until(page, "document.getElementById('lat').value !== ''")
    lat, long = float(page.input_value("#lat")), float(page.input_value("#long"))
    assert lat == pytest.approx(41.9473, abs=0.002)
    assert long == pytest.approx(-87.6553, abs=0.003)
    pin = page.locator("#map .leaflet-marker-icon").bounding_box()
    frame = page.locator("#map").bounding_box()
    assert pin["x"] + pin["width"] / 2 == pytest.approx(frame["x"] + frame["width"] / 2, abs=3)
    assert "1060 W ADDISON ST" in page.inner_text("#map-status")

    page.locator("label", has_text="Curb Lane").click()
    page.fill("#description", "Pothole found again on the near-me map")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/done$"))
    number = page.inner_text("#request-number")

    # Near me: today's potholes around the same address, by typing it with suggestions.
    today = datetime.now(CHICAGO_TIME).date().isoformat()
    page.goto(site.url(f"/near?service_code=PHF&start_date={today}"))
    axe.check(page)
    near_box = page.locator("#address")
    near_box.focus()
    page.keyboard.type(TYPED)
    page.locator("#address-suggestions [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert near_box.input_value().startswith(CHOSEN)
    page.keyboard.press("Enter")  # the list is closed: this Enter sends the form
    page.wait_for_url(re.compile(r"/near\?.*address=1060"))
    assert page.locator(f'.site-results a[href="/requests/{number}"]').count() == 1
    page.wait_for_selector("#near-map .leaflet-marker-icon")
    axe.check(page)
    # On the map: its own marker at its pin, once any cluster holding it is opened.
    marker = page.locator(f'#near-map .leaflet-marker-icon[data-number="{number}"]')
    for _ in range(8):
        page.wait_for_load_state("networkidle")  # the view's markers have arrived
        if marker.count():
            break
        cluster = page.locator("#near-map .site-cluster").first
        assert "zoom in" in cluster.get_attribute("aria-label")
        cluster.click()
        page.wait_for_timeout(300)  # the map moves, then asks for the new view's cells
    assert marker.count() == 1
    assert float(marker.get_attribute("data-lat")) == pytest.approx(lat, abs=1e-6)
    assert float(marker.get_attribute("data-long")) == pytest.approx(long, abs=1e-6)
    assert marker.get_attribute("aria-label").endswith(number)
    axe.check(page)
    page.wait_for_load_state("networkidle")
    marker.focus()
    page.keyboard.press("Enter")  # a marker opens its request
    page.wait_for_url(re.compile(f"/requests/{number}$"))
    assert errors_on_page == []


def test_near_me_around_where_the_phone_is(browser, site, axe, errors_on_page):
    page = new_page(
        browser,
        errors_on_page,
        viewport=PHONE,
        geolocation=CITY_HALL,
        permissions=["geolocation"],
    )
    # A pothole filed where the phone is.
    page.goto(site.url("/services/PHF"))
    page.click("#use-location")
    wait_until(page, "document.getElementById('lat').value !== ''")
    page.locator("label", has_text="Bike Lane").click()
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/done$"))
    number = page.inner_text("#request-number")
    page.goto(site.url("/near?community_area=32"))
    assert page.locator("#community_area").input_value() == "32"
    page.click("#near-location")  # "Use my location": the pin wins over the area chosen
    page.wait_for_url(re.compile(r"/near\?.*lat=41\.88"))
    assert "community_area=&" in page.url or "community_area" not in page.url
    assert page.locator("input[type=hidden][name=lat]").input_value().startswith("41.88")
    assert page.locator(f'.site-results a[href="/requests/{number}"]').count() == 1
    page.wait_for_selector("#near-map .leaflet-marker-icon")
    axe.check(page)
    assert errors_on_page == []
