"""The call-taker's intake in Chromium: search "pothole", answer the questions, type the
address, be offered the open pothole already reported there and add the caller as its
follower; then file another at a different address and land on its page. axe-core checks
every page visited."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.browser.conftest import DESKTOP, new_page
from tests.browser.console_people import sign_in_to_queue
from tests.browser.intake_people import (
    followers_of,
    numbers_described,
    pothole_at,
    request_channel,
    seed_call_taker,
)

pytestmark = pytest.mark.slow

NEAR = "100 W Madison St"
ELSEWHERE = "1600 W Division St"


def answer(
    page, address: str, caller_email: str, description: str = "Caller says the hole is deep"
) -> None:
    page.fill("#address_string", address)
    # USWDS draws the radio on its label; the input itself is off screen.
    page.locator("label[for^='attr-WHEREIST']").first.click()
    page.fill("#description", description)
    page.fill("#email", caller_email)
    page.fill("#first_name", "Ana")


def test_a_call_taker_follows_one_and_files_another(browser, site, axe, errors_on_page):
    tag = "i" + secrets.token_hex(2)
    call_taker = seed_call_taker(site.database_url, tag)
    reported = pothole_at(site.base_url, site.database_url, NEAR, f"Pothole {tag}")
    caller = f"caller.{tag}@example.org"
    page = new_page(browser, errors_on_page, viewport=DESKTOP)

    sign_in_to_queue(page, site, call_taker)
    page.click("nav >> text=New call")
    page.wait_for_url(re.compile(r"/console/intake"))
    axe.check(page)
    page.fill("#intake-q", "pothole")
    page.click("main form[role=search] button")
    page.wait_for_url(re.compile(r"q=pothole"))
    axe.check(page)
    page.click("main a[href='/console/intake/PHF']")
    page.wait_for_url(re.compile(r"/console/intake/PHF$"))
    axe.check(page)

    answer(page, NEAR, caller)
    page.click("button[name=step][value=check]")
    page.wait_for_selector("#nearby-title")
    axe.check(page)
    follow = page.locator(f"form[action='/console/intake/follow/{reported}'] button")
    assert follow.count() == 1, page.inner_text("main")
    follow.click()
    page.wait_for_selector(".usa-alert--success")
    assert reported in page.inner_text(".usa-alert--success")
    axe.check(page)
    assert followers_of(site.database_url, reported) == [caller]

    page.goto(site.url("/console/intake/PHF"))
    answer(page, ELSEWHERE, caller)
    page.click("button[name=step][value=check]")
    page.wait_for_selector("#nearby-title")
    assert page.locator(f"form[action='/console/intake/follow/{reported}']").count() == 0
    page.click("button[name=step][value=file]")
    page.wait_for_url(re.compile(r"/console/requests/"))
    axe.check(page)
    number = page.url.rsplit("/", 1)[-1]
    assert number != reported
    assert request_channel(site.database_url, number) == (
        "phone",
        "1600 W DIVISION ST, CHICAGO, IL, 60622",
    )
    assert errors_on_page == []


def test_a_double_click_on_file_files_once(browser, site, errors_on_page):
    """The call-taker double-clicks "File a new request": Chromium sends the form twice
    (the second submission replaces the first navigation); one request is filed, and the
    page shown is its own."""
    tag = "d" + secrets.token_hex(2)
    call_taker = seed_call_taker(site.database_url, tag)
    described = f"Caller double-clicked {tag}"
    page = new_page(browser, errors_on_page, viewport=DESKTOP)
    sign_in_to_queue(page, site, call_taker)
    page.goto(site.url("/console/intake/PHF"))
    answer(page, ELSEWHERE, f"caller.{tag}@example.org", described)
    page.click("button[name=step][value=check]")
    page.wait_for_selector("#nearby-title")
    page.dblclick("button[name=step][value=file]")
    page.wait_for_url(re.compile(r"/console/requests/"))
    page.wait_for_load_state("networkidle")
    [number] = numbers_described(site.database_url, described)
    assert page.url.endswith(f"/console/requests/{number}")
    assert errors_on_page == []
