"""Every answer carries an X-Request-ID (the caller's when sane, else a new one), and the
app logs one JSON object per line, with that id, and with no secret in it."""

from __future__ import annotations

import json
import logging
import re

import pytest

from open311.notifications.subscriptions import LinkKeys, confirmation_token
from tests.builders import pothole_form


def json_lines(text: str) -> list[dict]:
    """Every line the app wrote to stderr, each of which must be one JSON object."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_sane_request_id_is_echoed(client):
    response = client.get("/open311/v2/services.json", headers={"X-Request-ID": "edge-7f3c.42"})
    assert response.headers["X-Request-ID"] == "edge-7f3c.42"


@pytest.mark.parametrize(
    "given",
    [None, "", "x" * 129, "has space", 'quote"d', "tab\tin", "é-accent", "<script>"],
)
def test_a_request_id_is_made_when_none_or_no_sane_one_is_given(client, given):
    headers = {} if given is None else {"X-Request-ID": given}
    first = client.get("/open311/v2/services.json", headers=headers).headers["X-Request-ID"]
    second = client.get("/open311/v2/services.json", headers=headers).headers["X-Request-ID"]
    assert first != second
    assert re.fullmatch(r"[0-9a-f]{32}", first)  # a fresh uuid4, in hex


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no/such/page"),  # no route
        ("DELETE", "/open311/v2/services.json"),  # 405
        ("GET", "/open311/v2/requests.json?start_date=nonsense"),  # 400 from the view
        ("GET", "/open311/v2/requests/%00.json"),  # 400 from a before_request
        ("GET", "/healthz"),
    ],
)
def test_every_answer_carries_a_request_id(client, method, path):
    response = client.open(path, method=method, headers={"X-Request-ID": "abc"})
    assert response.headers["X-Request-ID"] == "abc"


def test_each_request_is_logged_as_one_json_line_with_its_id(client, api_key, capsys):
    capsys.readouterr()
    response = client.post(
        f"/open311/v2/requests.json?api_key={api_key}",
        data={k: v for k, v in pothole_form(api_key).items() if k != "api_key"},
        headers={"X-Request-ID": "req-1"},
    )
    assert response.status_code == 200, response.json
    lines = json_lines(capsys.readouterr().err)
    [answered] = [line for line in lines if line.get("status") is not None]
    assert answered["request_id"] == "req-1"
    assert (answered["method"], answered["status"], answered["level"]) == ("POST", 200, "INFO")
    assert answered["path"] == "/open311/v2/requests.json?api_key=[redacted]"
    assert answered["message"] == "POST /open311/v2/requests.json?api_key=[redacted] 200"
    assert 0 < answered["duration"] < 10
    assert answered["time"].endswith("+00:00")
    assert api_key not in json.dumps(lines)


def test_lines_logged_while_handling_a_request_carry_its_id(app, client, capsys):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom /open311/unsubscribe/MQ.secretsignature")

    capsys.readouterr()
    response = client.get("/boom", headers={"X-Request-ID": "req-2"})
    assert response.status_code == 500
    lines = json_lines(capsys.readouterr().err)
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["request_id"] == "req-2"
    assert error["path"] == "/boom"
    assert "RuntimeError: kaboom /open311/unsubscribe/[redacted]" in error["exception"]
    assert "secretsignature" not in json.dumps(lines)


def test_signed_links_in_paths_and_messages_are_redacted(app, client, capsys):
    token = confirmation_token(LinkKeys.from_config(app.config), 1)
    capsys.readouterr()
    client.get(f"/open311/confirm/{token}")
    client.post(f"/open311/unsubscribe/{token}")
    app.logger.warning("a resident opened %s", f"http://localhost/open311/confirm/{token}")
    text = capsys.readouterr().err
    assert token not in text
    paths = [line["path"] for line in json_lines(text) if "status" in line]
    assert paths == ["/open311/confirm/[redacted]", "/open311/unsubscribe/[redacted]"]


def test_the_development_servers_request_lines_are_redacted(app):
    """`flask run` logs each request line through the `werkzeug` logger."""
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(self.format(record))

    logger = logging.getLogger("werkzeug")
    keep = Keep()
    logger.addHandler(keep)
    try:
        logger.warning('%s - - "%s" %s', "127.0.0.1", "GET /x?api_key=SECRET HTTP/1.1", "200")
    finally:
        logger.removeHandler(keep)
    assert seen == ['127.0.0.1 - - "GET /x?api_key=[redacted] HTTP/1.1" 200']
