"""My requests in a real browser: a resident asks for a sign-in link, the outbox worker
(a process of its own, as in production) emails it through a real SMTP server, the link
opened in Chromium signs in, My requests lists what a partner's app filed with that
email, and signing out asks to sign in again. axe-core checks every page."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.browser.conftest import DESKTOP, PHONE, file_by_api, new_page, send_outbox_until

pytestmark = pytest.mark.slow

SIGN_IN_LINK = re.compile(r"http://127\.0\.0\.1:\d+/sign-in/\S+")


@pytest.mark.parametrize(("viewport", "language"), [(DESKTOP, "en"), (PHONE, "es")])
def test_sign_in_by_emailed_link_then_my_requests_then_sign_out(
    browser, site, smtp_sink, axe, errors_on_page, viewport, language
):
    resident = f"resident-{secrets.token_hex(4)}@example.org"
    theirs = file_by_api(site, resident.upper(), "Pothole filed by a partner's app")
    not_theirs = file_by_api(site, f"neighbour-{secrets.token_hex(4)}@example.org", "Not theirs")
    page = new_page(
        browser,
        errors_on_page,
        viewport=viewport,
        locale=language,
        extra_http_headers={"Accept-Language": language},
    )
    words = {
        "en": ("My requests", "Email me a sign-in link", "Sign in", "Sign out", "signed out"),
        "es": (
            "Mis solicitudes",
            "Enviarme un enlace para iniciar sesión",
            "Iniciar sesión",
            "Cerrar sesión",
            "Cerró su sesión",
        ),
    }[language]
    my_requests, send_link, sign_in, sign_out, signed_out = words

    page.goto(site.url("/"))
    page.get_by_role("link", name=my_requests, exact=True).click()
    page.wait_for_url(re.compile(r"/my-requests$"))
    assert page.locator("h1").inner_text() == my_requests
    axe.check(page)
    page.fill("#email", resident)
    page.get_by_role("button", name=send_link).click()
    page.wait_for_url(re.compile(r"/sign-in/check-your-email$"))
    axe.check(page)

    send_outbox_until(
        site, lambda: any(SIGN_IN_LINK.search(m.get_content()) for m in smtp_sink.to(resident))
    )
    [message] = [m for m in smtp_sink.to(resident) if SIGN_IN_LINK.search(m.get_content())]
    assert message["Content-Language"] == language
    link = SIGN_IN_LINK.search(message.get_content())[0]

    page.goto(link)
    assert page.locator("h1").inner_text() == sign_in
    axe.check(page)
    page.get_by_role("button", name=sign_in).click()
    page.wait_for_url(re.compile(r"/my-requests$"))
    axe.check(page)
    listed = page.locator("#my-requests").inner_text()
    assert theirs in listed
    assert not_theirs not in listed
    assert resident in page.locator("main").inner_text()

    page.get_by_role("button", name=sign_out).click()
    page.wait_for_url(re.compile(r"/my-requests$"))
    axe.check(page)
    assert signed_out in page.locator("main").inner_text()
    assert page.get_by_role("button", name=send_link).is_visible()
    assert page.locator("#my-requests").count() == 0

    page.goto(link)  # the link was spent: it asks for a new one
    assert page.get_by_role("button", name=send_link).is_visible()
    axe.check(page)
    assert all("410" in error for error in errors_on_page), errors_on_page
