"""A report written on a phone with no connection is kept, then filed exactly once when the
connection returns, even when the reply to its first sending is lost on the way."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
import sqlalchemy as sa

from tests.browser.conftest import PHONE, jpeg_taken_at, new_page, wait_until

pytestmark = pytest.mark.slow

NUMBER = re.compile(r"SR\d\d-\d{8}")
TITLE = "Pothole in Street Complaint"
WAITING = "CHI311Outbox.waiting().then(function (r) { return r.length; })"


def filed_numbers(site: Any, description: str) -> list[str]:
    """The request numbers in the served database with this description."""
    engine = sa.create_engine(site.database_url)
    with engine.connect() as connection:
        numbers = connection.scalars(
            sa.text("SELECT number FROM service_request WHERE description = :d"),
            {"d": description},
        ).all()
    engine.dispose()
    return list(numbers)


def photos_of(site: Any, number: str) -> int:
    engine = sa.create_engine(site.database_url)
    with engine.connect() as connection:
        count = connection.scalar(
            sa.text(
                "SELECT count(*) FROM request_photo JOIN service_request"
                " ON service_request.id = request_photo.service_request_id"
                " WHERE service_request.number = :n"
            ),
            {"n": number},
        )
    engine.dispose()
    return int(count or 0)


def test_a_report_written_offline_is_filed_once_when_the_connection_returns(
    browser, site, axe, errors_on_page
):
    page = new_page(browser, errors_on_page, viewport=PHONE, service_workers="allow")
    context = page.context
    description = f"Pothole written offline {secrets.token_hex(4)}"
    page.goto(site.url("/services/PHF"))
    # The worker installs, keeps the shell and this form, then controls the page.
    wait_until(page, "navigator.serviceWorker.controller !== null", timeout=30)
    wait_until(page, "caches.match(location.href).then(function (kept) { return !!kept; })")

    context.set_offline(True)
    page.fill("#address_string", "121 N LaSalle St")
    page.locator("label", has_text="Traffic Lane").click()
    page.fill("#description", description)
    page.set_input_files(
        "#media",
        files=[
            {"name": "hole.jpg", "mimeType": "image/jpeg", "buffer": jpeg_taken_at(41.88, -87.63)}
        ],
    )
    page.click("button[type=submit]")
    message = page.locator("#outbox-message")
    message.wait_for(state="visible")
    assert "saved on this phone" in message.inner_text()
    assert TITLE in page.inner_text("#outbox-list")
    assert "Waiting for a connection" in page.inner_text("#outbox-list")
    assert page.input_value("#description") == ""  # kept on the phone, not in the form
    assert page.evaluate(WAITING) == 1
    axe.check(page)

    # Still offline: the form comes back from the worker's cache, the report still waiting.
    page.reload()
    assert TITLE in page.locator("h1").inner_text()
    page.locator("#outbox-list li").wait_for()
    assert "Waiting for a connection" in page.inner_text("#outbox-list")
    axe.check(page)
    # A page never opened before: the offline page, from the cache as well.
    page.goto(site.url("/help"))
    assert page.locator("h1").inner_text() == "You are offline"
    page.locator("#outbox-list li").wait_for()
    axe.check(page)
    assert filed_numbers(site, description) == []

    # Back online, the sendings reach the server but their replies are lost: every one
    # while the route stands (the `online` event and a page's own check may both send).
    lost: list[int] = []

    def lose_the_reply(route: Any) -> None:
        if route.request.method == "POST":
            lost.append(route.fetch(max_redirects=0).status)  # the server files it...
            route.abort("connectionreset")  # ...and the phone never hears back
        else:
            route.continue_()

    page.route("**/services/PHF", lose_the_reply)
    context.set_offline(False)
    for _ in range(600):  # the `online` event sends it; Playwright answers routes meanwhile
        if lost:
            break
        page.wait_for_timeout(50)
    assert lost, "the sendings reached the server"
    assert set(lost) == {303}
    page.wait_for_timeout(1000)  # a second sending already under way ends, its reply lost too
    assert set(lost) == {303}
    assert len(filed_numbers(site, description)) == 1  # however many arrived, with one key
    assert page.evaluate(WAITING) == 1  # no reply: still kept, to be sent again
    page.unroute("**/services/PHF", lose_the_reply)

    # Sent again on the next page load, with the same key: the same request, not a new one.
    page.reload()
    number_link = page.locator("#outbox-list .site-outbox__number")
    number_link.wait_for()
    number = number_link.inner_text()
    assert NUMBER.fullmatch(number)
    assert filed_numbers(site, description) == [number]
    assert photos_of(site, number) == 1
    assert page.evaluate(WAITING) == 0
    axe.check(page)
    number_link.click()
    page.wait_for_url(re.compile(f"/requests/{number}/done$"))
    assert page.inner_text("#request-number") == number
    # What the console saw: the requests made while offline and the lost reply, no more.
    assert all("net::ERR_" in error for error in errors_on_page), errors_on_page


def test_a_report_sent_when_the_network_fails_unannounced_is_kept_by_the_worker(
    browser, site, axe, errors_on_page
):
    """The phone says it is online, but nothing gets through: the form posts as usual, the
    worker keeps the report with the form's key and shows the offline page listing it."""
    page = new_page(browser, errors_on_page, viewport=PHONE, service_workers="allow")
    description = f"Pothole on a bad connection {secrets.token_hex(4)}"
    page.goto(site.url("/services/PHF"))
    wait_until(page, "navigator.serviceWorker.controller !== null", timeout=30)
    wait_until(page, "caches.match(location.href).then(function (kept) { return !!kept; })")
    page.context.set_offline(True)
    page.evaluate(
        "Object.defineProperty(navigator, 'onLine', { get: function () { return true; } })"
    )
    page.fill("#address_string", "121 N LaSalle St")
    page.locator("label", has_text="Traffic Lane").click()
    page.fill("#description", description)
    key = page.input_value("input[name=idempotency_key]")
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/offline$"))
    assert page.locator("h1").inner_text() == "You are offline"
    page.locator("#outbox-list li").wait_for()
    assert TITLE in page.inner_text("#outbox-list")
    assert page.evaluate("CHI311Outbox.waiting().then(function (r) { return r[0].key; })") == key
    axe.check(page)

    page.context.set_offline(False)
    number_link = page.locator("#outbox-list .site-outbox__number")
    number_link.wait_for()
    assert filed_numbers(site, description) == [number_link.inner_text()]
    assert page.evaluate(WAITING) == 0
    assert all("net::ERR_" in error for error in errors_on_page), errors_on_page
