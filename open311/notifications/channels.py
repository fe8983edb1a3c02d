"""How a notification leaves: email (SMTP), signed webhooks, and a pluggable SMS sender.

Each sender returns when the receiver has accepted the message and raises
DeliveryFailed (with a reason worth keeping) when it has not. Senders run in
worker threads: they touch no database.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from functools import reduce
from typing import Any, Protocol

from open311.models import Channel
from open311.notifications.subscriptions import unsubscribe_token

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "Open311-Signature"
USER_AGENT = "open311-notifications/1"
REASON_LENGTH = 500


class DeliveryFailed(Exception):
    """The receiver did not take the message; str(error) is the reason kept."""


@dataclass(frozen=True)
class Outgoing:
    """One claimed notification, as plain values (the worker's session is elsewhere)."""

    id: int
    key: str  # the notification id: Idempotency-Key, Message-ID, payload's notification_id
    channel: Channel
    subscription_id: int
    payload: dict[str, Any]
    attempts: int  # including this one
    address: str | None = None  # email or phone
    webhook_id: int | None = None
    url: str | None = None  # webhook
    secret: str | None = None  # webhook


# --- webhooks -----------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Open311-Signature header: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: following it would turn the POST into a GET elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class WebhookSender:
    timeout: float  # seconds for the whole exchange; a slow receiver fails fast

    def __call__(self, message: Outgoing) -> None:
        assert message.url
        assert message.secret
        body = json.dumps(message.payload, ensure_ascii=False, sort_keys=True).encode()
        request = urllib.request.Request(
            message.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Idempotency-Key": message.key,
                "Open311-Notification-Id": message.key,
                SIGNATURE_HEADER: sign(message.secret, int(time.time()), body),
            },
        )
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                response.read(1024)
        except urllib.error.HTTPError as error:
            raise DeliveryFailed(f"HTTP {error.code} from {message.url}") from error
        except (OSError, ValueError) as error:  # refused, timed out, reset, bad URL
            raise DeliveryFailed(f"{type(error).__name__}: {error} ({message.url})") from error


# --- email --------------------------------------------------------------------------


@dataclass(frozen=True)
class Links:
    """The public URLs a message points to."""

    base_url: str
    secret_key: str

    def request(self, number: str) -> str:
        return f"{self.base_url}/open311/v2/requests/{number}.json"

    def unsubscribe(self, subscription_id: int) -> str:
        token = unsubscribe_token(self.secret_key, subscription_id)
        return f"{self.base_url}/open311/unsubscribe/{token}"


def text_of(message: Outgoing, links: Links) -> str:
    payload = message.payload
    lines = [f"{payload['summary']}: service request {payload['service_request_id']}."]
    if payload.get("note"):
        lines.append(str(payload["note"]))
    lines += [
        f"Status: {payload['status']}.",
        f"Details: {links.request(payload['service_request_id'])}",
    ]
    return "\n\n".join(lines)


@dataclass(frozen=True)
class EmailSender:
    host: str
    port: int
    mail_from: str
    timeout: float
    links: Links

    def __call__(self, message: Outgoing) -> None:
        assert message.address
        unsubscribe = self.links.unsubscribe(message.subscription_id)
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = message.address
        email["Subject"] = f"{message.payload['summary']} ({message.payload['service_request_id']})"
        domain = self.mail_from.rpartition("@")[2].strip(">") or "localhost"
        email["Message-ID"] = f"<{message.key}@{domain}>"  # the same on every retry
        email["List-Unsubscribe"] = f"<{unsubscribe}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
        email.set_content(
            f"{text_of(message, self.links)}\n\n-- \n"
            f"You follow this request or its area. To stop these emails: {unsubscribe}\n"
        )
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(f"SMTP {self.host}:{self.port}: {error}") from error


# --- SMS ----------------------------------------------------------------------------


class SmsGateway(Protocol):
    """What a city plugs in to send texts (SMS_GATEWAY names its factory).

    `send` returns once the provider has accepted the text and raises any
    exception when it has not; the exception's text is kept as the reason.
    """

    def send(self, phone: str, text: str, notification_id: str) -> None: ...


class LoggingSmsGateway:
    """The default: writes each text to the log instead of sending it."""

    def send(self, phone: str, text: str, notification_id: str) -> None:
        log.info("SMS %s to %s: %s", notification_id, phone, text)

    @classmethod
    def from_config(cls, _config: Mapping[str, Any]) -> LoggingSmsGateway:
        return cls()


def load_sms_gateway(config: Mapping[str, Any]) -> SmsGateway:
    """SMS_GATEWAY is "module:callable", a factory taking the app's config (as GEOCODER)."""
    module_name, _, factory_name = config["SMS_GATEWAY"].partition(":")
    target: Any = importlib.import_module(module_name)
    gateway: SmsGateway = reduce(getattr, factory_name.split("."), target)(config)
    return gateway


@dataclass(frozen=True)
class SmsSender:
    gateway: SmsGateway
    links: Links

    def __call__(self, message: Outgoing) -> None:
        assert message.address
        payload = message.payload
        text = (
            f"311 {payload['service_request_id']}: {payload['summary']}. "
            f"Stop: {self.links.unsubscribe(message.subscription_id)}"
        )
        try:
            self.gateway.send(message.address, text, message.key)
        except Exception as error:  # a plug-in's own errors: kept as the reason
            raise DeliveryFailed(f"SMS gateway: {type(error).__name__}: {error}") from error


# --- all channels -------------------------------------------------------------------


@dataclass(frozen=True)
class Senders:
    email: EmailSender
    sms: SmsSender
    webhook: WebhookSender

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Senders:
        links = Links(config["PUBLIC_BASE_URL"].rstrip("/"), config["SECRET_KEY"])
        return cls(
            email=EmailSender(
                config["SMTP_HOST"],
                int(config["SMTP_PORT"]),
                config["MAIL_FROM"],
                float(config["SMTP_TIMEOUT_SECONDS"]),
                links,
            ),
            sms=SmsSender(load_sms_gateway(config), links),
            webhook=WebhookSender(float(config["WEBHOOK_TIMEOUT_SECONDS"])),
        )

    def send(self, message: Outgoing) -> None:
        """Deliver, or raise DeliveryFailed; any other error is a failure too."""
        senders: dict[Channel, Callable[[Outgoing], None]] = {
            Channel.EMAIL: self.email,
            Channel.SMS: self.sms,
            Channel.WEBHOOK: self.webhook,
        }
        sender = senders[message.channel]
        try:
            sender(message)
        except DeliveryFailed:
            raise
        except Exception as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
