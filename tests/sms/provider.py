"""A local SMS provider that speaks the Twilio-compatible protocol over real sockets: it
takes our outbound texts at /2010-04-01/Accounts/{sid}/Messages.json (HTTP Basic auth
checked, To, From and Body required, 201 with a sid) and signs the webhooks it sends to
the app (texts in, delivery receipts) with X-Twilio-Signature, computed here on its own
from the documented algorithm so that the app's check is tested against it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask.testing import FlaskClient

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "provider-auth-token-for-tests-only"
CITY_NUMBER = "+13125550311"
APP_ORIGIN = "http://localhost"  # what the Flask test client calls the app


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """The provider's side of the signature: URL, then each name and value by name."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass
class Provider:
    """The server's state: texts we were sent, by sid, in order."""

    url: str = ""
    sent: list[dict[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, phone: str) -> list[str]:
        """The bodies of the texts sent to `phone`, in order."""
        with self.lock:
            return [m["Body"] for m in self.sent if m["To"] == phone]

    def text(self, client: FlaskClient | str, phone: str, body: str, sid: str | None = None,
             token: str = AUTH_TOKEN) -> Any:  # fmt: skip
        """A resident's text, delivered to the app's webhook as the provider does."""
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid or self.new_sid("SM"),
            "NumMedia": "0",
            "SmsStatus": "received",
            "Body": body,
            "To": CITY_NUMBER,
            "NumSegments": "1",
            "AccountSid": ACCOUNT_SID,
            "From": phone,
            "ApiVersion": "2010-04-01",
        }
        params["MessageSid"] = params["SmsSid"] = params["SmsMessageSid"]
        return self.post(client, "/sms/twilio", params, token)

    def receipt(self, client: FlaskClient | str, sid: str, status: str) -> Any:
        """The delivery receipt of a text we sent, to the StatusCallback it named."""
        with self.lock:
            [message] = [m for m in self.sent if m["sid"] == sid]
        path = urlsplit(message["StatusCallback"]).path
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": ACCOUNT_SID,
            "From": CITY_NUMBER,
            "To": message["To"],
            "ApiVersion": "2010-04-01",
        }
        if status in ("failed", "undelivered"):
            params["ErrorCode"] = "30006"
        return self.post(client, path, params, AUTH_TOKEN)

    def post(self, app: FlaskClient | str, path: str, params: dict[str, str], token: str) -> Any:
        """POST a signed webhook to the app: through the Flask test client, or over HTTP
        to a served app's base URL (a TestResponse or a requests.Response)."""
        origin = app if isinstance(app, str) else APP_ORIGIN
        headers = {"X-Twilio-Signature": twilio_signature(token, origin + path, params)}
        if isinstance(app, str):
            return requests.post(origin + path, data=params, headers=headers, timeout=30)
        return app.post(path, data=params, headers=headers)

    def new_sid(self, prefix: str) -> str:
        with self.lock:
            return f"{prefix}{next(self._ids):032x}"

    def take(
        self, account: str, authorization: str, form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if account != ACCOUNT_SID or not hmac.compare_digest(authorization, expected):
            with self.lock:
                self.refusals.append("authentication")
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        missing = [name for name in ("To", "From", "Body") if not form.get(name)]
        if missing:
            return 400, {"code": 21604, "message": f"{missing[0]} is required", "status": 400}
        sid = self.new_sid("SM")
        with self.lock:
            self.sent.append({**form, "sid": sid})
        return 201, {"sid": sid, "status": "queued", "to": form["To"], "from": form["From"],
                     "body": form["Body"], "account_sid": account}  # fmt: skip


def serve() -> tuple[Provider, ThreadingHTTPServer]:
    provider = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = self.path.split("/")
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if len(parts) == 5 and parts[1] == "2010-04-01" and parts[4] == "Messages.json":
                status, body = provider.take(parts[3], self.headers.get("Authorization", ""), form)
            else:
                status, body = 404, {"code": 20404, "message": "not found", "status": 404}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return provider, server
