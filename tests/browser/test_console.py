"""The staff console in Chromium: an agent (who must give a TOTP code) works three
requests through every action an agent may take and is offered no other; a
supervisor assigns and reopens; an agent of another department is refused and
nothing changes; the tenth wrong password in a minute is throttled. axe-core
checks every page visited."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pyotp
import pytest

from tests.browser.conftest import DESKTOP, PHONE, new_page
from tests.browser.console_people import (
    PASSWORD,
    People,
    forget_failed_sign_ins,
    request_row,
    seed_console,
)

pytestmark = pytest.mark.slow

AGENT_ONLY_NOT = ("assign", "transfer", "reopen")  # supervisors' actions


@pytest.fixture(scope="module")
def people(site: Any) -> People:
    return seed_console(site.database_url, "c" + secrets.token_hex(2))


def sign_in(page: Any, site: Any, axe: Any, email: str, password: str = PASSWORD) -> None:
    page.goto(site.url("/console/"))
    page.wait_for_url(re.compile(r"/console/sign-in"))
    axe.check(page)
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main button[type=submit]")


def give_code(page: Any, axe: Any) -> None:
    page.wait_for_url(re.compile(r"/console/sign-in/code"))
    axe.check(page)
    secret = page.inner_text("#totp-secret").strip()
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")


def offered(page: Any) -> set[str]:
    ids = page.eval_on_selector_all("form.console-action", "forms => forms.map(f => f.id)")
    return {form_id.removeprefix("form-") for form_id in ids}


def act(page: Any, axe: Any, action: str, fill: dict[str, str] | None = None) -> None:
    form = page.locator(f"#form-{action}")
    for selector, value in (fill or {}).items():
        if selector.startswith("select:"):
            form.locator(selector.removeprefix("select:")).select_option(value)
        elif selector.startswith("radio:"):
            # USWDS draws the radio on its label; the input itself is off screen.
            form.locator(f"label[for='{selector.removeprefix('radio:#')}']").click()
        else:
            form.locator(selector).fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".usa-alert--success, .usa-alert--error")
    assert page.locator(".usa-alert--error").count() == 0, page.inner_text("main")
    axe.check(page)


@pytest.fixture
def agent_page(
    browser: Any, site: Any, axe: Any, people: People, errors_on_page: list[str]
) -> Iterator[Any]:
    page = new_page(browser, errors_on_page, viewport=DESKTOP)
    sign_in(page, site, axe, people.agent)
    give_code(page, axe)
    page.wait_for_url(re.compile(r"/console/queue"))
    yield page
    page.context.close()


def test_an_agent_works_three_requests_through_every_action_an_agent_may_take(
    agent_page, site, axe, people, errors_on_page
):
    page = agent_page
    first, second, third = people.requests
    axe.check(page)
    assert page.locator(f"a:text('{first}')").count() == 1
    page.goto(site.url(f"/console/requests/{first}"))
    axe.check(page)
    assert offered(page) == {"acknowledge", "ask_reporter", "close", "mark_duplicate", "note",
                             "cite"}  # fmt: skip
    act(page, axe, "acknowledge", {"textarea": "We will look at it this week."})
    assert not offered(page) & set(AGENT_ONLY_NOT)
    assert offered(page) == {"schedule", "start", "ask_reporter", "close", "mark_duplicate",
                             "note", "cite"}  # fmt: skip
    soon = (date.today() + timedelta(days=3)).isoformat()
    act(page, axe, "schedule", {"input[name=scheduled_for]": soon})
    act(page, axe, "start")
    act(page, axe, "note", {"textarea[name=internal_note]": "Crew found it deeper than said."})
    act(page, axe, "close", {"select:select[name=reason]": "completed",
                             "textarea": "Filled today."})  # fmt: skip
    assert offered(page) == {"note", "cite"}  # closed: reopening is a supervisor's
    page.locator("#form-cite select[name=party_kind]").select_option("business")
    act(page, axe, "cite", {"input[name=party_name]": "Acme Paving",
                            "input[name=licence_number]": "L-42",
                            "input[name=violation_code]": "7-28-120",
                            "input[name=cited_on]": date.today().isoformat(),
                            "input[name=fine_amount]": "250"})  # fmt: skip
    history = page.inner_text(".console-timeline")
    for seen in ("Request acknowledged", "Work scheduled", "Work in progress", "Note added",
                 "Request closed", "Crew found it deeper than said."):  # fmt: skip
        assert seen in history
    assert request_row(site.database_url, first)["stage"] == "closed"

    page.goto(site.url(f"/console/requests/{second}"))
    act(page, axe, "ask_reporter", {"textarea": "Is it in the bike lane?"})
    assert offered(page) == {"answer", "close", "mark_duplicate", "note", "cite"}
    act(page, axe, "answer", {"textarea": "Yes, the bike lane."})
    assert request_row(site.database_url, second)["stage"] == "new"  # back where it was
    # The third request is filed after the second, at the same corner: its likely parent.
    page.goto(site.url(f"/console/requests/{third}"))
    axe.check(page)
    assert page.locator(f"#parent-{second}").count() == 1
    page.wait_for_selector("#request-map .leaflet-interactive")  # the map shows them
    act(page, axe, "mark_duplicate", {f"radio:#parent-{second}": ""})
    row = request_row(site.database_url, third)
    assert (row["stage"], row["duplicate_of"]) == ("closed", second)
    assert errors_on_page == []


def test_a_supervisor_assigns_and_reopens(browser, site, axe, people, errors_on_page):
    page = new_page(browser, errors_on_page, viewport=PHONE)
    sign_in(page, site, axe, people.supervisor)  # supervisors give no code here
    page.wait_for_url(re.compile(r"/console/queue"))
    axe.check(page)
    second = people.requests[1]
    page.goto(site.url(f"/console/requests/{second}"))
    assert {"assign", "transfer"} <= offered(page)
    act(page, axe, "assign", {"input[name=assignee]": "Pothole crew 5"})
    assert request_row(site.database_url, second)["assignee"] == "Pothole crew 5"
    act(page, axe, "close", {"select:select[name=reason]": "completed"})
    assert "reopen" in offered(page)
    act(page, axe, "reopen", {"textarea": "Sunk again."})
    assert request_row(site.database_url, second)["stage"] == "acknowledged"
    # Bulk: tick two of the queue and assign them.
    page.goto(site.url("/console/queue"))
    page.locator(f"label[for='tick-{second}']").click()
    page.fill("#bulk-assignee", "Night crew")
    page.click("button[value=assign]")
    page.wait_for_selector(".usa-alert--success")
    axe.check(page)
    assert request_row(site.database_url, second)["assignee"] == "Night crew"
    assert errors_on_page == []


def test_an_agent_of_another_department_is_refused_and_nothing_changes(
    browser, site, axe, people, errors_on_page
):
    page = new_page(browser, errors_on_page, viewport=DESKTOP)
    sign_in(page, site, axe, people.stranger)
    give_code(page, axe)
    page.wait_for_url(re.compile(r"/console/queue"))
    number = people.requests[1]
    assert page.locator(f"a:text('{number}')").count() == 0  # not in their queue
    before = request_row(site.database_url, number)
    response = page.goto(site.url(f"/console/requests/{number}"))
    assert response.status == 403
    assert "Only CDOT - Department of Transportation staff" in page.inner_text("main")
    axe.check(page)
    # A form forged on their own page, with their own valid token, posted anyway.
    token = page.get_attribute("input[name=csrf_token]", "value")
    page.evaluate(
        """([action, token]) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = action;
            for (const [name, value] of [["csrf_token", token], ["assignee", "Me"]]) {
              const input = document.createElement("input");
              input.type = "hidden"; input.name = name; input.value = value; form.append(input);
            }
            document.body.append(form); form.submit();
        }""",
        [f"/console/requests/{number}/act/acknowledge", token],
    )
    page.wait_for_selector("text=Nothing was changed.")
    assert "You may not do that" in page.inner_text("h1")
    axe.check(page)
    assert request_row(site.database_url, number) == before
    # The two refusals are the only errors the browser saw.
    assert [e for e in errors_on_page if "403" not in e] == []
    assert len(errors_on_page) == 2


def test_the_tenth_wrong_password_in_a_minute_is_throttled(
    browser, site, axe, people, errors_on_page
):
    page = new_page(browser, errors_on_page, viewport=PHONE)
    try:
        for n in range(9):
            sign_in(page, site, axe, people.admin, f"not my password {n}")
            page.wait_for_selector("text=The email or the password is wrong.")
        sign_in(page, site, axe, people.admin, PASSWORD)
        page.wait_for_selector("h1:text('Too many attempts: wait a moment')")
        assert "Too many failed sign-ins" in page.inner_text("main")
        axe.check(page)
        assert "/console/sign-in" in page.url
    finally:
        forget_failed_sign_ins(site.database_url)
    # Once the failures are past, the right password opens the console.
    sign_in(page, site, axe, people.admin, PASSWORD)
    page.wait_for_url(re.compile(r"/console/queue"))
    assert [e for e in errors_on_page if "429" not in e and "401" not in e] == []
