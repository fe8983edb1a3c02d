"""The one SMS provider adapter: a Twilio-compatible HTTP API.

Inbound, the provider POSTs each text to our webhook as form fields (From, To, Body,
MessageSid, AccountSid, NumMedia, …) and each delivery receipt to our status callback
(MessageSid, MessageStatus, ErrorCode, …), signed in X-Twilio-Signature: the base64
HMAC-SHA1, keyed with the account's auth token, of the full URL it called followed by
every POST parameter's name and value, sorted by name. Outbound, we POST To, From, Body
and StatusCallback to /2010-04-01/Accounts/{AccountSid}/Messages.json with HTTP Basic
auth (account SID, auth token); a 201 carries the new message's sid.

Written from the provider's documented protocol, with the standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

SIGNATURE_HEADER: Final = "X-Twilio-Signature"
API_VERSION: Final = "2010-04-01"
# The provider refuses a Body past 1,600 characters; a longer reply is cut there.
MAX_BODY: Final = 1600


class ProviderError(Exception):
    """The provider did not accept a text; str(error) says why."""


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """X-Twilio-Signature of a POST of `params` (name, value pairs) to `url`."""
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_signed(auth_token: str, url: str, params: Iterable[tuple[str, str]], given: str) -> bool:
    """Whether `given` is the signature of this POST; never with an empty token (anyone
    could sign with it)."""
    if not auth_token or not given:
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError: a 500).
    return hmac.compare_digest(signature(auth_token, url, params).encode(), given.encode())


@dataclass(frozen=True)
class Account:
    """The provider's API and our account there (SMS_TWILIO_* settings)."""

    api_url: str  # https://api.twilio.com, or a compatible provider's, or a test server
    account_sid: str
    auth_token: str
    from_number: str  # the number residents text, in E.164 (+13125550100)
    timeout: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Account:
        return cls(
            api_url=str(config["SMS_TWILIO_API_URL"]).rstrip("/"),
            account_sid=str(config["SMS_TWILIO_ACCOUNT_SID"]),
            auth_token=str(config["SMS_TWILIO_AUTH_TOKEN"]),
            from_number=str(config["SMS_TWILIO_FROM"]),
            timeout=float(config["SMS_TWILIO_TIMEOUT_SECONDS"]),
        )

    @property
    def configured(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.from_number)

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        """Hand one text to the provider; its message sid, or ProviderError."""
        if not self.configured:
            raise ProviderError("SMS_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _FROM must be set")
        fields = {"To": to, "From": self.from_number, "Body": body[:MAX_BODY]}
        if status_callback:
            fields["StatusCallback"] = status_callback
        path = urllib.parse.quote(self.account_sid, safe="")
        request = urllib.request.Request(
            f"{self.api_url}/{API_VERSION}/Accounts/{path}/Messages.json",
            data=urllib.parse.urlencode(fields).encode(),
            headers={
                "Authorization": "Basic " + _basic(self.account_sid, self.auth_token),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            method="POST",
        )
        return _sid_of(self._post(request))

    def _post(self, request: urllib.request.Request) -> bytes:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body: bytes = response.read(65536)
                return body
        except urllib.error.HTTPError as error:
            raise ProviderError(f"HTTP {error.code}: {_message_of(error.read(4096))}") from error
        except (OSError, ValueError) as error:  # refused, timed out, a bad URL
            raise ProviderError(f"{type(error).__name__}: {error}") from error


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _sid_of(body: bytes) -> str:
    try:
        sid = json.loads(body)["sid"]
    except (ValueError, KeyError, TypeError) as error:
        raise ProviderError("the provider's answer has no message sid") from error
    return str(sid)


def _message_of(body: bytes) -> str:
    """The provider's own words for a refusal (its JSON error's message), if any."""
    try:
        return str(json.loads(body).get("message") or body[:200].decode(errors="replace"))
    except (ValueError, AttributeError):
        return body[:200].decode(errors="replace")


class TwilioSmsGateway:
    """notifications' SmsGateway through this adapter: SMS_GATEWAY =
    "open311.sms.twilio:TwilioSmsGateway.from_config". Receipts come back to the status
    callback when PUBLIC_BASE_URL is set (a worker knows no other URL of the site), and
    are recorded on the notification's row."""

    def __init__(self, account: Account, status_callback: str | None) -> None:
        self.account, self.status_callback = account, status_callback

    def send(self, phone: str, text: str, notification_id: str) -> str | None:
        """The message's sid: the worker keeps it on the notification, where the
        status callback's receipt finds it (store.record_notification_receipt)."""
        return self.account.send(phone, text, self.status_callback)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TwilioSmsGateway:
        base = str(config["PUBLIC_BASE_URL"]).rstrip("/")
        return cls(Account.from_config(config), f"{base}{STATUS_PATH}" if base else None)


WEBHOOK_PATH: Final = "/sms/twilio"
STATUS_PATH: Final = "/sms/twilio/status"
