"""The public patterns page in real Chromium: the community areas shaded from the
figure's JSON under the site's CSP, the same figures without JavaScript, axe-clean
at phone and desktop width, in English and Spanish."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, PHONE, new_page, wait_until

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_map_is_shaded_and_the_page_passes_axe(
    browser, site, axe, errors_on_page, size, viewport
):
    page = new_page(browser, errors_on_page, viewport=viewport)
    page.goto(site.url("/patterns"))
    assert page.locator("#patterns-map").is_visible()
    assert page.locator("#patterns-legend").is_visible()
    # The outlines arrive, then the figure: every community area gets a fill.
    wait_until(
        page, "document.querySelectorAll('#patterns-map path[fill-opacity=\"0.55\"]').length >= 77"
    )
    axe.check(page)
    page.select_option("#service_code", "PHF")
    page.click("form button[type=submit]")
    page.wait_for_url("**/patterns?service_code=PHF*")
    assert page.locator("table caption").first.inner_text().startswith("Pothole")
    axe.check(page)
    page.goto(site.url("/language/es?next=/patterns"))
    assert page.locator("h1").inner_text() == "Tendencias de las solicitudes"
    axe.check(page)
    page.goto(site.url("/patterns?service_code=NOPE"))
    page.locator("#error-summary").wait_for()
    axe.check(page)
    assert all("400" in error for error in errors_on_page), errors_on_page


def test_without_javascript_the_tables_hold_the_figures(browser, site, axe, errors_on_page):
    page = new_page(browser, errors_on_page, viewport=DESKTOP, java_script_enabled=False)
    page.goto(site.url("/patterns"))
    assert not page.locator("#patterns-map").is_visible()
    assert page.locator("table").count() == 2
    assert page.locator("a[href='/patterns/weekly.csv']").count() == 1
    page.select_option("#community_area", label="Loop")
    page.click("form button[type=submit]")
    assert "Loop" in page.locator("table caption").first.inner_text()
    assert errors_on_page == []
