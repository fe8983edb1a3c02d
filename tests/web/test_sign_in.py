"""My requests: sign-in by a one-time emailed link, the resident's requests from any key,
sign-out, and the site's emails in the resident's language. Real SMTP (aiosmtpd) and
the real outbox worker; on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient

from open311.accounts.residents import sign_in_token
from open311.extensions import db
from open311.models import DeliveryState, Notification, ResidentSession, SignInLink
from open311.models.base import utcnow
from open311.notifications.subscriptions import LinkKeys
from tests.builders import pothole_form
from tests.notifications.conftest import Mailbox, send_outbox
from tests.servers import free_port
from tests.web.test_pages import file_pothole, token_of

RESIDENT = "resident@example.org"
SIGN_IN_LINK = re.compile(r"http://localhost/sign-in/\S+")
SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}


@pytest.fixture(autouse=True)
def _links_to_localhost(app: Flask) -> None:
    app.config.update(PUBLIC_BASE_URL="http://localhost", SMTP_TIMEOUT_SECONDS=2)


@pytest.fixture
def mailbox(app: Flask) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), and the app sending through it."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    yield box
    controller.stop()


def file_by_api(client: FlaskClient, api_key: str, email: str, description: str) -> str:
    response = client.post(
        "/open311/v2/requests.json",
        data=pothole_form(api_key, email=email, description=description, device_id=description),
    )
    assert response.status_code == 200, response.json
    return str(response.json[0]["service_request_id"])


def ask_for_link(client: FlaskClient, email: str, **headers: str) -> FlaskClient:
    form = {"csrf_token": token_of(client, "/my-requests"), "email": email}
    response = client.post("/sign-in", data=form, headers=headers)
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/sign-in/check-your-email"
    return client


def emailed_link(app: Flask, mailbox: Mailbox, to: str = RESIDENT) -> str:
    """The path of the sign-in link in the last email sent to `to`, after the worker ran."""
    send_outbox(app)
    links = [
        link
        for m in mailbox.messages
        if m["To"] == to
        for link in SIGN_IN_LINK.findall(m.get_content())
    ]
    assert links, [m["Subject"] for m in mailbox.messages]
    return urlsplit(links[-1]).path


def sign_in(client: FlaskClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200, page.text
    form = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]}
    response = client.post(path, data=form)
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/my-requests"


def post_with_token(client: FlaskClient, path: str, page: str = "/my-requests") -> int:
    return client.post(path, data={"csrf_token": token_of_any(client, page)}).status_code


def token_of_any(client: FlaskClient, path: str) -> str:
    """The CSRF token of a page, whatever its status (a dead link's page has the form)."""
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]


def test_my_requests_lists_what_was_filed_with_the_email_from_any_key(
    app, client, api_key, mailbox
):
    by_api = file_by_api(client, api_key, "Resident@Example.org", "first, by a partner's app")
    someone_else = file_by_api(client, api_key, "neighbour@example.org", "not theirs")
    by_site = file_pothole(client, email=RESIDENT, description="second, on the site")
    assert client.get("/my-requests").text.count('name="email"') == 1  # the sign-in form

    ask_for_link(client, "  RESIDENT@example.org ")
    sign_in(client, emailed_link(app, mailbox))
    page = client.get("/my-requests")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    listed = re.findall(r'href="/requests/(SR\d\d-\d{8})"', page.text)
    assert listed == [by_site, by_api]  # newest first
    assert someone_else not in page.text
    assert RESIDENT in page.text


def test_my_requests_is_paged(app, client, api_key, mailbox):
    numbers = [file_by_api(client, api_key, RESIDENT, f"pothole {i}") for i in range(22)]
    ask_for_link(client, RESIDENT)
    sign_in(client, emailed_link(app, mailbox))
    first = re.findall(r'href="/requests/(SR\d\d-\d{8})"', client.get("/my-requests").text)
    second_page = client.get("/my-requests?page=2").text
    second = re.findall(r'href="/requests/(SR\d\d-\d{8})"', second_page)
    assert first + second == numbers[::-1]
    assert len(first) == 20
    assert 'href="/my-requests?page=1"' in second_page


def test_the_link_works_once_and_opening_it_spends_nothing(app, client, mailbox):
    ask_for_link(client, RESIDENT)
    path = emailed_link(app, mailbox)
    for _scanner in range(2):  # a mail scanner fetching the link, twice
        assert client.get(path).status_code == 200
    sign_in(client, path)
    again = client.application.test_client()
    assert again.get(path).status_code == 410
    assert post_with_token(again, path) == 410
    assert "used already or has expired" in again.get(path).text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResidentSession)) == 1


def test_an_expired_link_is_refused(app, client, mailbox):
    ask_for_link(client, RESIDENT)
    path = emailed_link(app, mailbox)
    with app.app_context():
        db.session.execute(sa.update(SignInLink).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.get(path).status_code == 410
    assert post_with_token(client, path) == 410
    assert "Sign out" not in client.get("/my-requests").text


def test_the_link_lasts_as_configured(app, client, mailbox):
    ask_for_link(client, RESIDENT)
    with app.app_context():
        link = db.session.scalars(sa.select(SignInLink)).one()
        assert link.expires_at - link.created_at == timedelta(minutes=30)


def test_a_tampered_link_or_another_key_is_not_found(app, client, mailbox):
    ask_for_link(client, RESIDENT)
    path = emailed_link(app, mailbox)
    token = path.rsplit("/", 1)[1]
    link_id, signature = token.split(".", 1)
    tampered = f"/sign-in/{link_id}.{signature[::-1]}"
    forged = "/sign-in/" + sign_in_token(LinkKeys("another key, never ours" * 2), 1)
    for wrong in (tampered, forged, "/sign-in/1", "/sign-in/" + "x" * 300):
        assert client.get(wrong).status_code == 404, wrong
        assert post_with_token(client, wrong) == 404, wrong
    assert "Sign out" not in client.get("/my-requests").text
    sign_in(client, path)  # the real one still works


def test_a_link_signed_with_an_old_key_still_works(app, client, mailbox):
    old = LinkKeys(app.config["SECRET_KEY"])
    ask_for_link(client, RESIDENT)
    with app.app_context():
        link_id = db.session.scalars(sa.select(SignInLink.id)).one()
    app.config.update(
        SECRET_KEY="the new key, at least thirty-two characters long",
        SECRET_KEY_FALLBACKS=[old.current],
    )
    fresh = app.test_client()  # the old session cookie is signed with the old key too
    sign_in(fresh, f"/sign-in/{sign_in_token(old, link_id)}")
    assert "Sign out" in fresh.get("/my-requests").text


def test_signing_out_ends_the_session_on_the_server(app, client, mailbox):
    ask_for_link(client, RESIDENT)
    sign_in(client, emailed_link(app, mailbox))
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    copy = app.test_client()
    copy.set_cookie("session", cookie.value)
    assert "Sign out" in copy.get("/my-requests").text

    response = client.post("/sign-out", data={"csrf_token": token_of(client, "/my-requests")})
    assert response.status_code == 303
    assert "You are signed out." in client.get("/my-requests").text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResidentSession)) == 0
    page = copy.get("/my-requests").text  # the cookie as it was before signing out
    assert "Sign out" not in page
    assert "Email me a sign-in link" in page


def test_the_cookie_is_secure_when_configured(app, client, mailbox):
    app.config["SESSION_COOKIE_SECURE"] = True
    client = app.test_client()
    ask_for_link(client, RESIDENT)
    path = emailed_link(app, mailbox)
    page = client.get(path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    response = client.post(path, data={"csrf_token": token})
    [set_cookie] = response.headers.getlist("Set-Cookie")
    assert "Secure" in set_cookie
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie


def test_the_answer_is_the_same_for_an_unknown_address(app, client, api_key, mailbox):
    file_by_api(client, api_key, RESIDENT, "a known address")

    def answer(email: str) -> tuple[int, str, str]:
        visitor = app.test_client()
        form = {"csrf_token": token_of(visitor, "/my-requests"), "email": email}
        response = visitor.post("/sign-in", data=form)
        follow = visitor.get(response.headers["Location"])
        return response.status_code, response.headers["Location"], follow.text

    assert answer(RESIDENT) == answer("nobody-here@example.org")
    send_outbox(app)
    assert sorted(m["To"] for m in mailbox.messages if "Sign in" in m["Subject"]) == [
        "nobody-here@example.org",
        RESIDENT,
    ]


def test_a_bad_address_is_told_and_nothing_is_queued(app, client):
    form = {"csrf_token": token_of(client, "/my-requests"), "email": "not an email"}
    page = client.post("/sign-in", data=form)
    assert page.status_code == 400
    assert "Enter an email address" in page.text
    assert 'value="not an email"' in page.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_every_form_needs_the_csrf_token(app, client):
    assert client.post("/sign-in", data={"email": RESIDENT}).status_code == 400
    assert client.post("/sign-out").status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SignInLink)) == 0


def test_sign_in_links_are_limited_per_email_and_per_address(app, client):
    app.config.update(
        RATE_LIMIT_SIGN_IN_PER_EMAIL="2 per hour", RATE_LIMIT_SIGN_IN_PER_ADDRESS="4 per hour"
    )
    ask_for_link(client, RESIDENT)
    ask_for_link(client, RESIDENT)
    form = {"csrf_token": token_of(client, "/my-requests"), "email": RESIDENT}
    refused = client.post("/sign-in", data=form)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many sign-in links" in refused.text
    ask_for_link(client, "other@example.org")  # another email: its own count
    form["email"] = "third@example.org"
    # Every attempt counts against the address, the refused one too: 4 an hour.
    assert client.post("/sign-in", data=form).status_code == 429
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SignInLink)) == 3


def test_a_used_link_still_queued_is_not_sent(app, client, mailbox):
    ask_for_link(client, RESIDENT)
    with app.app_context():
        db.session.execute(sa.update(SignInLink).values(used_at=utcnow()))
        db.session.commit()
    send_outbox(app)
    assert mailbox.messages == []
    with app.app_context():
        [row] = db.session.scalars(sa.select(Notification)).all()
        assert row.state is DeliveryState.CANCELLED


# --- the site's emails in the resident's language -----------------------------------


def only(mailbox: Mailbox, subject_part: str) -> EmailMessage:
    [message] = [m for m in mailbox.messages if subject_part in m["Subject"]]
    return message


def test_a_spanish_sign_in_gets_a_spanish_email(app, client, mailbox):
    client.get("/language/es")
    ask_for_link(client, RESIDENT)
    send_outbox(app)
    message = only(mailbox, "Iniciar sesión")
    assert message["Content-Language"] == "es"
    body = message.get_content()
    assert "abra este enlace" in body
    assert "To see your requests" not in body
    sign_in(client, urlsplit(SIGN_IN_LINK.findall(body)[0]).path)
    assert "Mis solicitudes" in client.get("/my-requests").text


def test_an_english_sign_in_gets_an_english_email(app, client, mailbox):
    ask_for_link(client, RESIDENT)
    send_outbox(app)
    message = only(mailbox, "Sign in to CHI 311")
    assert message["Content-Language"] == "en"
    assert "open this link and press Sign in" in message.get_content()


def test_following_from_a_spanish_page_confirms_and_tells_in_spanish(app, client, mailbox):
    number = file_pothole(client, email="", description="a pothole to follow")
    follower = app.test_client()
    follower.get("/language/es")
    form = {"csrf_token": token_of(follower, f"/requests/{number}"), "email": "vecina@example.org"}
    assert follower.post(f"/requests/{number}/follow", data=form).status_code == 303
    send_outbox(app)
    message = only(mailbox, "Confirme")
    body = message.get_content()
    assert f"la solicitud de servicio {number}" in body
    assert "/open311/confirm/" in body


def test_filing_in_spanish_tells_the_filer_in_spanish(app, client, mailbox):
    client.get("/language/es")
    number = file_pothole(client, email=RESIDENT, description="un bache")
    send_outbox(app)
    message = only(mailbox, number)
    assert message["Subject"] == f"Solicitud presentada ({number})"
    body = message.get_content()
    assert f"Solicitud presentada: solicitud de servicio {number}." in body
    assert "Estado: Abierta." in body
    assert f"http://localhost/requests/{number}" in body
    assert "Para dejar de recibir estos correos" in body


def test_api_subscriptions_stay_english(app, client, api_key, mailbox):
    number = file_by_api(client, api_key, RESIDENT, "filed by a partner")
    send_outbox(app)
    message = only(mailbox, number)
    assert message["Subject"] == f"Request filed ({number})"
    assert f"Request filed: service request {number}." in message.get_content()


def test_signing_in_again_ends_the_session_it_replaces(app, client, mailbox):
    for _time in range(2):
        ask_for_link(client, RESIDENT)
        sign_in(client, emailed_link(app, mailbox))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResidentSession)) == 1


def test_an_expired_session_signs_no_one_in_and_goes_at_the_next_sign_in(app, client, mailbox):
    ask_for_link(client, RESIDENT)
    sign_in(client, emailed_link(app, mailbox))
    with app.app_context():
        db.session.execute(
            sa.update(ResidentSession).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert "Sign out" not in client.get("/my-requests").text
    other = app.test_client()
    ask_for_link(other, RESIDENT)
    sign_in(other, emailed_link(app, mailbox))
    with app.app_context():
        [live] = db.session.scalars(sa.select(ResidentSession)).all()
        assert live.expires_at > utcnow()
