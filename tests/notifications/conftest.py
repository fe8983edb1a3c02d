"""Real receivers on 127.0.0.1 for the notification tests: an HTTP server that checks
webhook signatures as the README tells partners to, an SMTP server (aiosmtpd), and
an SMS gateway that records what it is given."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import lxml.html
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask

from open311.database import begin_write
from open311.extensions import db
from open311.models import DeliveryState, Notification, NotificationKind, Subscription
from open311.notifications import delivery
from open311.notifications.channels import Senders
from open311.notifications.subscriptions import LinkKeys, confirmation_token, public_id

SIGNATURE_TOLERANCE = 300  # seconds, as the README suggests


# A filer who gives no contact: filing subscribes nobody.
ANONYMOUS = {
    "email": None,
    "phone": None,
    "account_id": None,
    "first_name": None,
    "last_name": None,
}


def verify_signature(secret: str, header: str, body: bytes, now: float) -> bool:
    """The check the README gives partners, written out again here on purpose."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return (
        hmac.compare_digest(expected, parts.get("v1", ""))
        and abs(now - timestamp) <= SIGNATURE_TOLERANCE
    )


@dataclass
class Arrival:
    path: str
    notification_id: str
    idempotency_key: str
    body: dict[str, Any]
    signed: bool
    at: float
    host: str = ""  # the Host header
    acked: bool = False
    acked_at: float | None = None


@dataclass
class Receiver:
    """A partner's endpoint. Each path has a behaviour: ok (200), error (500), slow
    (sleeps past the sender's timeout), block-first (holds its first request until
    `release` is set, then drops the connection without answering)."""

    base_url: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    behaviour: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    blocked: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def at(self, path: str) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.path == path]

    def acked_ids(self, path: str) -> Counter[str]:
        return Counter(a.notification_id for a in self.at(path) if a.acked)

    def recorded(self, path: str) -> dict[str, dict[str, Any]]:
        """What a receiver that de-duplicates on the notification id keeps."""
        return {a.notification_id: a.body for a in self.at(path) if a.acked}


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            secret = receiver.secrets.get(self.path, "")
            arrival = Arrival(
                path=self.path,
                notification_id=json.loads(body)["notification_id"],
                idempotency_key=self.headers.get("Idempotency-Key", ""),
                body=json.loads(body),
                signed=verify_signature(
                    secret, self.headers.get("Open311-Signature", ""), body, time.time()
                ),
                at=time.monotonic(),
                host=self.headers.get("Host", ""),
            )
            with receiver.lock:
                first = not any(a.path == self.path for a in receiver.arrivals)
                receiver.arrivals.append(arrival)
            behaviour = receiver.behaviour.get(self.path, "ok")
            if behaviour == "block-first" and first:
                receiver.blocked.set()
                receiver.release.wait(60)
                self.close_connection = True
                return  # no answer: the sender never learns whether it arrived
            if behaviour == "slow":
                time.sleep(3)
            time.sleep(receiver.delay)
            status = (
                200
                if behaviour != "error" and arrival.signed
                else 500
                if behaviour == "error"
                else 401
            )
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            self.wfile.flush()
            arrival.acked_at = time.monotonic() if status == 200 else None
            arrival.acked = status == 200

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (HTTPS with `tls`), until the block ends."""
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    found.base_url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.release.set()
        server.shutdown()
        server.server_close()


# Webhooks go to public addresses only (open311/notifications/destinations.py). The
# receivers here listen on loopback, so a test that uses one allows loopback, as an
# operator would allow a partner's network inside the city's.
LOOPBACK = ["127.0.0.0/8", "::1/128"]


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    """A partner's endpoint on 127.0.0.1, and the app allowed to send to loopback."""
    app.config["WEBHOOK_ALLOWED_NETWORKS"] = LOOPBACK
    with serving() as found:
        yield found


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox(app: Flask) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1, and the app configured to send through it."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    yield box
    controller.stop()


class RecordingGateway:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, phone: str, text: str, notification_id: str) -> None:
        self.sent.append((phone, text, notification_id))


def recording_gateway(config: Mapping[str, Any]) -> RecordingGateway:
    """The SMS_GATEWAY factory the tests plug in: the gateway sits in the config."""
    gateway: RecordingGateway = config["TEST_SMS_GATEWAY"]
    return gateway


@pytest.fixture
def sms(app: Flask) -> RecordingGateway:
    gateway = RecordingGateway()
    app.config.update(
        SMS_GATEWAY="tests.notifications.conftest:recording_gateway", TEST_SMS_GATEWAY=gateway
    )
    return gateway


@pytest.fixture(autouse=True)
def _quick_retries(app: Flask) -> None:
    app.config.update(
        OUTBOX_BACKOFF_SECONDS=0.05, OUTBOX_BACKOFF_MAX_SECONDS=0.2, OUTBOX_POLL_SECONDS=0.05,
        WEBHOOK_TIMEOUT_SECONDS=1, SMTP_TIMEOUT_SECONDS=2, PUBLIC_BASE_URL="http://localhost",
    )  # fmt: skip


def send_outbox(
    app: Flask, worker_id: str = "test-worker", senders: Senders | None = None
) -> delivery.Tally:
    """One pass of the worker, in this process: everything due now, retries included."""
    with app.app_context():
        return delivery.run(
            db.session(),
            senders or Senders.from_config(app.config),
            delivery.Policy.from_config(app.config),
            worker_id,
            once=True,
            stop=threading.Event(),
        )


def drain(app: Flask, timeout: float = 30.0) -> delivery.Tally:
    """Passes of the worker until nothing is pending (retries wait for their backoff)."""
    total = delivery.Tally()
    deadline = time.monotonic() + timeout
    while True:
        tally = send_outbox(app)
        total.delivered += tally.delivered
        total.retrying += tally.retrying
        total.parked += tally.parked
        if not notifications(app, state=DeliveryState.PENDING) or time.monotonic() > deadline:
            return total
        time.sleep(0.05)


def notifications(app: Flask, **where: Any) -> list[Notification]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Notification).filter_by(**where).order_by(Notification.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def news(app: Flask, **where: Any) -> list[Notification]:
    """The notifications that tell of a change (not the confirmation messages)."""
    return notifications(app, kind=NotificationKind.CHANGE, **where)


def press_the_button(client: Any, path: str) -> Any:
    """Open a link from a message and press the button on its page, as a person does.

    The page's one form must POST back to the link itself (no action: the same URL).
    """
    page = client.get(path)
    assert page.status_code == 200, page.data
    [form] = lxml.html.fromstring(page.data).forms
    assert (form.method, form.action) == ("POST", None), lxml.html.tostring(form)
    assert form.xpath(".//button[@type='submit']")
    return client.post(path)


def row_id(app: Flask, public: str) -> int:
    """The stored id of the subscription a reply names by its public subscription_id."""
    with app.app_context():
        ids = db.session.scalars(sa.select(Subscription.id)).all()
    [found] = [i for i in ids if public_id(app.config["SECRET_KEY"], i) == public]
    return found


def confirm(app: Flask, client: Any, subscription_id: str) -> None:
    """Follow a subscription's confirmation link, as its owner would from the message."""
    token = confirmation_token(LinkKeys.from_config(app.config), row_id(app, subscription_id))
    page = press_the_button(client, f"/open311/confirm/{token}")
    assert page.status_code == 200, page.data


def create_webhook(
    client: Any, api_key: str, receiver: Receiver, path: str, **filters: str
) -> dict[str, Any]:
    response = client.post(
        "/open311/v2/webhooks.json", data={"api_key": api_key, "url": receiver.url(path), **filters}
    )
    assert response.status_code == 201, response.json
    [webhook] = response.json
    receiver.secrets[path] = webhook["secret"]
    return dict(webhook)


def begin(app: Flask) -> Any:
    session = db.session()
    begin_write(session)
    return session
