"""How a notification leaves: email (SMTP), signed webhooks, and a pluggable SMS sender.

Each sender returns when the receiver has accepted the message and raises
DeliveryFailed (with a reason worth keeping) when it has not. Senders run in
worker threads: they touch no database.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import importlib
import json
import logging
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import cache, reduce
from pathlib import Path
from typing import Any, Protocol

from babel.support import NullTranslations, Translations

from open311.accounts.residents import sign_in_token
from open311.models import Channel, NotificationKind
from open311.notifications.answer_links import answer_token
from open311.notifications.destinations import Destinations, RefusedDestination, Target
from open311.notifications.subscriptions import (
    LinkKeys,
    confirmation_token,
    password_reset_token,
    unsubscribe_token,
)

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "Open311-Signature"
USER_AGENT = "open311-notifications/1"
REASON_LENGTH = 500
# Links in messages without a PUBLIC_BASE_URL: `make run`'s address, as a message has no
# caller whose URL it could name. Production sets PUBLIC_BASE_URL.
LOCAL_BASE_URL = "http://127.0.0.1:8000"


class DeliveryFailed(Exception):
    """The receiver did not take the message; str(error) is the reason kept."""


@dataclass(frozen=True)
class Outgoing:
    """One claimed notification, as plain values (the worker's session is elsewhere)."""

    id: int
    key: str  # the notification id: Idempotency-Key, Message-ID, payload's notification_id
    channel: Channel
    subscription_id: int | None
    payload: dict[str, Any]
    attempts: int  # including this one
    address: str | None = None  # email or phone
    webhook_id: int | None = None
    url: str | None = None  # webhook
    secret: str | None = None  # webhook
    kind: NotificationKind = NotificationKind.CHANGE  # a confirmation goes to email or sms
    sign_in_id: int | None = None  # a sign-in link's (kind SIGN_IN: no subscription)
    language: str = "en"  # of an email: its subscription's, or the sign-in's


# --- webhooks -----------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The Open311-Signature header: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to addresses checked beforehand; the Host header still names the host."""

    def __init__(self, target: Target, addresses: Sequence[str], timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self.addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS the same way: SNI and the certificate are checked against the host's name."""

    def __init__(
        self, target: Target, addresses: Sequence[str], timeout: float, tls: ssl.SSLContext
    ) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=tls)
        self.addresses = addresses
        self.tls = tls

    def connect(self) -> None:
        plain = _connect(self.addresses, self.port, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(plain, server_hostname=self.host)
        except BaseException:
            plain.close()
            raise


def _connect(addresses: Sequence[str], port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers."""
    failure: OSError = OSError(f"no address to connect to on port {port}")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as error:
            failure = error
    raise failure


@dataclass(frozen=True)
class WebhookSender:
    """POSTs a signed notification to a partner's URL, if the URL may be sent to now.

    The host is resolved for each delivery and every address checked
    (destinations.py); the connection goes to a checked address, so a name that
    changes its answer between the check and the connection changes nothing.
    Redirects are not followed (a 3xx is a failure): following one would send
    the notification, or a GET, somewhere that was never checked.
    """

    timeout: float  # seconds for each step of the exchange; a slow receiver fails fast
    destinations: Destinations
    tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)

    def __call__(self, message: Outgoing) -> None:
        assert message.url
        assert message.secret
        body = json.dumps(message.payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": message.key,
            "Open311-Notification-Id": message.key,
            SIGNATURE_HEADER: sign(message.secret, int(time.time()), body),
            "Connection": "close",
        }
        try:
            target = Target.parse(message.url)
            addresses = self.destinations.addresses(target)
        except RefusedDestination as error:
            raise DeliveryFailed(f"refused: {error} ({message.url})") from error
        status = self._post(target, addresses, body, headers, message.url)
        if not 200 <= status < 300:
            raise DeliveryFailed(f"HTTP {status} from {message.url}")

    def _post(
        self,
        target: Target,
        addresses: Sequence[str],
        body: bytes,
        headers: Mapping[str, str],
        url: str,
    ) -> int:
        connection = (
            _PinnedHTTPSConnection(target, addresses, self.timeout, self.tls)
            if target.scheme == "https"
            else _PinnedHTTPConnection(target, addresses, self.timeout)
        )
        try:
            connection.request("POST", target.path, body=body, headers=dict(headers))
            response = connection.getresponse()
            response.read(1024)
            return response.status
        except (OSError, ValueError, http.client.HTTPException) as error:  # refused, timed out,
            # reset, a bad certificate, a malformed answer
            raise DeliveryFailed(f"{type(error).__name__}: {error} ({url})") from error
        finally:
            connection.close()


# --- email --------------------------------------------------------------------------

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"


@cache
def _catalogue(language: str) -> NullTranslations:
    """The site's own catalogue (open311/translations), read straight through Babel:
    the senders run in worker threads, outside any Flask app or request."""
    if language == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [language])


class Words:
    """gettext in one language, for an email. `pybabel extract` finds the `_(…)` calls."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.catalogue = _catalogue(language)

    def __call__(self, text: str, **variables: Any) -> str:
        translated = self.catalogue.gettext(text)
        return translated % variables if variables else translated


def N_(text: str) -> str:  # gettext's name for "extract, translate later"
    return text


# The public summaries of a request's changes (workflow/transitions.py), to translate.
SUMMARIES = (
    N_("Request filed"),
    N_("Request acknowledged"),
    N_("Request assigned"),
    N_("Work scheduled"),
    N_("Work in progress"),
    N_("Information requested"),
    N_("Information received from the reporter"),
    N_("Request transferred"),
    N_("Request closed"),
    N_("Closed as a duplicate"),
    N_("Request reopened"),
    N_("Reopened for review after feedback"),
    N_("Note added"),
    N_("Request accepted"),
    N_("Request rejected"),
    N_("Update from the reporter"),
)
CLOSE_REASONS = (
    N_("completed"),
    N_("duplicate"),
    N_("not city responsibility"),
    N_("unable to locate"),
    N_("cancelled"),
    N_("rejected"),
)
_DETAIL = re.compile(r"^ (?:for|to|of) (?P<what>.+)$|^ \((?P<reason>[a-z ]+)\)$")


def summary_in(_: Words, summary: str) -> str:
    """A change's summary in the email's language; its details (a date, a department,
    a request number, a reason for closing) kept after the translated words."""
    if _.language == "en":
        return summary  # the words the workflow wrote
    for base in SUMMARIES:
        if summary == base:
            return _(base)
        if summary.startswith(base) and (detail := _DETAIL.match(summary[len(base) :])):
            if detail["reason"]:
                return f"{_(base)} ({_(detail['reason'])})"
            return f"{_(base)}: {detail['what']}"
    return summary  # not one of ours: as it came


@dataclass(frozen=True)
class Links:
    """The public URLs a message points to."""

    base_url: str
    keys: LinkKeys

    def request(self, number: str) -> str:
        return f"{self.base_url}/open311/v2/requests/{number}.json"

    def unsubscribe(self, subscription_id: int) -> str:
        token = unsubscribe_token(self.keys, subscription_id)
        return f"{self.base_url}/open311/unsubscribe/{token}"

    def confirm(self, subscription_id: int) -> str:
        token = confirmation_token(self.keys, subscription_id)
        return f"{self.base_url}/open311/confirm/{token}"

    def sign_in(self, sign_in_id: int) -> str:
        """The resident site's page that spends a sign-in link (web/account.py)."""
        return f"{self.base_url}/sign-in/{sign_in_token(self.keys, sign_in_id)}"

    def track(self, number: str) -> str:
        return f"{self.base_url}/requests/{number}"

    def password_reset(self, reset_id: int) -> str:
        """The staff console's page that sets a new password (console/views.py)."""
        return f"{self.base_url}/console/reset/{password_reset_token(self.keys, reset_id)}"

    def answer(self, question_id: int) -> str:
        """The resident site's page where the reporter answers (web.answer_question)."""
        return f"{self.base_url}/answer/{answer_token(self.keys, question_id)}"


def text_of(message: Outgoing, links: Links) -> str:
    payload = message.payload
    _ = Words(message.language)
    number = payload["service_request_id"]
    lines = [
        _(
            "%(summary)s: service request %(number)s.",
            summary=summary_in(_, payload["summary"]),
            number=number,
        )
    ]
    if payload.get("note"):
        lines.append(str(payload["note"]))
    status = {"open": _("Open"), "closed": _("Closed")}.get(payload["status"], payload["status"])
    lines += [
        _("Status: %(status)s.", status=status if message.language != "en" else payload["status"]),
        _("Details: %(url)s", url=links.request(number)),
    ]
    if message.language != "en":
        lines.append(_("Follow it on the site: %(url)s", url=links.track(number)))
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
        if message.kind is NotificationKind.SIGN_IN:
            email = self._sign_in(message)
        elif message.kind is NotificationKind.CONFIRMATION:
            email = self._confirmation(message)
        elif message.kind is NotificationKind.PASSWORD_RESET:
            email = self._password_reset(message)
        elif message.kind is NotificationKind.QUESTION:
            email = self._question(message)
        else:
            email = self._news(message)
        email["Content-Language"] = message.language
        email["From"] = self.mail_from
        email["To"] = message.address
        domain = self.mail_from.rpartition("@")[2].strip(">") or "localhost"
        email["Message-ID"] = f"<{message.key}@{domain}>"  # the same on every retry
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(f"SMTP {self.host}:{self.port}: {error}") from error

    def _news(self, message: Outgoing) -> EmailMessage:
        assert message.subscription_id is not None
        _ = Words(message.language)
        unsubscribe = self.links.unsubscribe(message.subscription_id)
        email = EmailMessage()
        summary = summary_in(_, message.payload["summary"])
        email["Subject"] = f"{summary} ({message.payload['service_request_id']})"
        email["List-Unsubscribe"] = f"<{unsubscribe}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
        stop = _(
            "You follow this request or its area. To stop these emails: %(url)s", url=unsubscribe
        )
        email.set_content(f"{text_of(message, self.links)}\n\n-- \n{stop}\n")
        return email

    def _confirmation(self, message: Outgoing) -> EmailMessage:
        assert message.subscription_id is not None
        payload = message.payload
        _ = Words(message.language)
        link = self.links.confirm(message.subscription_id)
        follows = payload["follows"]
        if message.language != "en" and payload.get("service_request_id"):
            follows = _("service request %(number)s", number=payload["service_request_id"])
        email = EmailMessage()
        # Short: a long one is folded, and mangled.
        email["Subject"] = _("Please confirm your subscription")
        email.set_content(
            _(
                "Someone asked for updates about %(follows)s to be sent to this address."
                "\n\nTo start them, open this link and press Confirm:\n%(link)s"
                "\n\nIf it was not you, ignore this message: nothing more will be sent to "
                "you unless someone confirms there. The link works until %(until)s (UTC).",
                follows=follows,
                link=link,
                until=payload["expires_datetime"],
            )
            + "\n"
        )
        return email

    def _sign_in(self, message: Outgoing) -> EmailMessage:
        assert message.sign_in_id is not None
        _ = Words(message.language)
        link = self.links.sign_in(message.sign_in_id)
        email = EmailMessage()
        email["Subject"] = _("Sign in to CHI 311")
        email.set_content(
            _(
                "To see your requests on CHI 311, open this link and press Sign in:\n%(link)s"
                "\n\nThe link works once, until %(until)s (UTC). If you did not ask to sign "
                "in, ignore this message: nobody can sign in without this link.",
                link=link,
                until=message.payload["expires_datetime"],
            )
            + "\n"
        )
        return email

    def _password_reset(self, message: Outgoing) -> EmailMessage:
        payload = message.payload
        email = EmailMessage()
        email["Subject"] = payload["summary"]
        email.set_content(
            f"An administrator of the {payload['city']} 311 console asked for a new password "
            f"for this address.\n\nTo choose it, open this link (it works once, until "
            f"{payload['expires_datetime']} UTC):\n{self.links.password_reset(payload['reset_id'])}"
            f"\n\nIf you did not expect it, tell your administrator; your password is "
            f"unchanged until the link is used.\n"
        )
        return email

    def _question(self, message: Outgoing) -> EmailMessage:
        payload = message.payload
        number = payload["service_request_id"]
        link = self.links.answer(int(payload["question_event_id"]))
        email = EmailMessage()
        email["Subject"] = f"A question about your request {number}"
        email.set_content(
            f"The department working on your service request {number} has a question "
            f"for you:\n\n{payload.get('note') or ''}\n\nTo answer it, open this link and "
            f"send your answer:\n{link}\n\nThe link works once. Until you answer, the "
            f"request waits for you.\n\nDetails: {self.links.request(number)}\n"
        )
        return email


# --- SMS ----------------------------------------------------------------------------


class SmsGateway(Protocol):
    """What a city plugs in to send texts (SMS_GATEWAY names its factory).

    `send` returns once the provider has accepted the text and raises any
    exception when it has not; the exception's text is kept as the reason. It may
    return the provider's id of the message, kept on the row so that the provider's
    delivery receipt can find it (None: the gateway has no receipts).
    """

    def send(self, phone: str, text: str, notification_id: str) -> str | None: ...


class LoggingSmsGateway:
    """The default: writes each text to the log instead of sending it."""

    def send(self, phone: str, text: str, notification_id: str) -> str | None:
        log.info("SMS %s to %s: %s", notification_id, phone, text)
        return None

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

    def __call__(self, message: Outgoing) -> str | None:
        """Send the text; the provider's id of the message, if the gateway gives one."""
        assert message.address
        payload = message.payload
        assert message.subscription_id is not None  # sign-in links go by email only
        if message.kind is NotificationKind.CONFIRMATION:
            text = (
                f"311: to get texts about {payload['follows']}, open "
                f"{self.links.confirm(message.subscription_id)} and press Confirm "
                "(not you? ignore this)"
            )
        else:
            text = (
                f"311 {payload['service_request_id']}: {payload['summary']}. "
                f"Stop: {self.links.unsubscribe(message.subscription_id)}"
            )
        try:
            return self.gateway.send(message.address, text, message.key)
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
        base_url = config["PUBLIC_BASE_URL"] or LOCAL_BASE_URL
        links = Links(base_url.rstrip("/"), LinkKeys.from_config(config))
        return cls(
            email=EmailSender(
                config["SMTP_HOST"],
                int(config["SMTP_PORT"]),
                config["MAIL_FROM"],
                float(config["SMTP_TIMEOUT_SECONDS"]),
                links,
            ),
            sms=SmsSender(load_sms_gateway(config), links),
            webhook=WebhookSender(
                float(config["WEBHOOK_TIMEOUT_SECONDS"]), Destinations.from_config(config)
            ),
        )

    def send(self, message: Outgoing) -> str | None:
        """Deliver, or raise DeliveryFailed; any other error is a failure too. The
        provider's id of the message when it gave one (texts), else None."""
        senders: dict[Channel, Callable[[Outgoing], str | None]] = {
            Channel.EMAIL: self.email,
            Channel.SMS: self.sms,
            Channel.WEBHOOK: self.webhook,
        }
        sender = senders[message.channel]
        try:
            return sender(message)
        except DeliveryFailed:
            raise
        except Exception as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
