"""A resident answers the department's question from the emailed link, in Chromium.

Staff ask through the staff API of the running gunicorn; the real worker
(`flask open311 send-outbox --once`, as production runs it) sends the email to a
real SMTP server (aiosmtpd); the test opens the link from the message.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller

from tests import servers
from tests.browser.conftest import DESKTOP, PHONE, new_page
from tests.builders import bearer, make_staff, pothole_form
from tests.conftest import make_app, new_api_key
from tests.notifications.conftest import Mailbox, _free_port

pytestmark = pytest.mark.slow

CDOT = "CDOT - Department of Transportation"
QUESTION = "Is the pothole in the bike lane or in the traffic lane?"
ANSWER = "In the bike lane, right by the bus stop."


@pytest.fixture
def mailbox() -> Any:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


def send_outbox(site: Any, smtp_port: int) -> None:
    """One pass of the production worker, configured through its environment."""
    env = {
        **site.env,  # the server's own: its database and SECRET_KEY, which signs the link
        "OPEN311_PUBLIC_BASE_URL": site.base_url,
        "OPEN311_SMTP_HOST": "127.0.0.1",
        "OPEN311_SMTP_PORT": str(smtp_port),
    }
    done = servers.flask_command({**env, "FLASK_APP": "wsgi"}, "send-outbox", "--once")
    assert done.returncode == 0, done.stderr


def staff_view(site: Any, token: str, number: str) -> dict[str, Any]:
    reply = requests.get(
        site.url(f"/open311/staff/requests/{number}"), headers=bearer(token), timeout=10
    )
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_a_resident_answers_the_emailed_question_once(
    browser, site, axe, errors_on_page, mailbox, tmp_path
):
    box, smtp_port = mailbox
    app = make_app(site.database_url)
    key = new_api_key(app, "Answer test partner")
    email = "answer.test@example.org"
    filed = requests.post(
        site.url("/open311/v2/requests.json"),
        data=pothole_form(key, email=email, phone=None, account_id=None),
        timeout=10,
    )
    assert filed.status_code == 200, filed.text
    number = filed.json()[0]["service_request_id"]
    agent = make_staff(app, "agent", CDOT, email="answer.agent@city.example")

    for action, body in (
        ("acknowledge", {"public_note": "We have your report."}),
        ("schedule", {"scheduled_for": "2030-01-02"}),
        ("ask_reporter", {"public_note": QUESTION}),
    ):
        reply = requests.post(
            site.url(f"/open311/staff/requests/{number}/{action}"),
            json=body,
            headers=bearer(agent),
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
    assert staff_view(site, agent, number)["stage"] == "awaiting_reporter"

    send_outbox(site, smtp_port)
    [message] = [m for m in box.messages if m["To"] == email and "question" in m["Subject"]]
    link = re.search(re.escape(site.base_url) + r"/answer/\S+", message.get_content())
    assert link, message.get_content()

    desktop = new_page(browser, errors_on_page, viewport=DESKTOP)
    desktop.goto(link[0])  # reading the question uses nothing up
    assert QUESTION in desktop.inner_text("#question")
    axe.check(desktop)
    desktop.screenshot(path=str(tmp_path / "answer-desktop.png"), full_page=True)

    page = new_page(browser, errors_on_page, viewport=PHONE)
    page.goto(link[0])
    assert QUESTION in page.inner_text("#question")
    axe.check(page)
    page.screenshot(path=str(tmp_path / "answer-phone.png"), full_page=True)
    page.fill("#answer", ANSWER)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(f"/requests/{number}$"))
    assert "your answer was sent" in page.inner_text("main")
    assert "Information received from the reporter" in page.inner_text(".site-timeline")
    assert QUESTION not in page.inner_text("main").split("What has happened")[0]
    axe.check(page)
    page.screenshot(path=str(tmp_path / "answered-phone.png"), full_page=True)

    seen = staff_view(site, agent, number)
    assert seen["stage"] == "scheduled"  # where it was when the department asked
    last = seen["history"][-1]
    assert (last["action"], last["actor"], last["internal_note"]) == ("answer", "reporter", ANSWER)
    public = requests.get(site.url(f"/open311/v2/requests/{number}.json"), timeout=10).json()[0]
    assert public["status_notes"] == "We have your report."

    # The link used twice: a clear page (its 410 is the one console error), nothing stored.
    assert not errors_on_page
    page.goto(link[0])
    assert "already been answered" in page.inner_text("main")
    axe.check(page)
    page.screenshot(path=str(tmp_path / "used-phone.png"), full_page=True)
    assert len(staff_view(site, agent, number)["history"]) == len(seen["history"])
    assert [e for e in errors_on_page if "410" not in e] == []
    print("screenshots in", tmp_path)
