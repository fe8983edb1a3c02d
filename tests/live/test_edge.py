"""What a real gunicorn sends besides our body: the Server header, the security headers."""

from __future__ import annotations

import re

import pytest
import requests

from tests.live.conftest import LiveServer


@pytest.mark.parametrize("path", ["/open311/discovery.json", "/open311/v2/nothing.xml", "/nothing"])
def test_the_server_header_names_no_version(live_server: LiveServer, path: str) -> None:
    """gunicorn sends `Server: gunicorn` (its version only reaches the WSGI environ)."""
    response = requests.get(live_server.url(path), timeout=10)
    server = response.headers["Server"]
    assert server == "gunicorn"
    assert not re.search(r"[0-9/]", server)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_discovery_names_the_port_the_server_was_reached_on(live_server: LiveServer) -> None:
    """No PUBLIC_BASE_URL: the endpoint is the live server's own (a free port, not 8000)."""
    response = requests.get(live_server.url("/open311/discovery.json"), timeout=10)
    assert response.headers["Content-Type"] == "application/json"
    assert [endpoint["url"] for endpoint in response.json()["endpoints"]] == [
        live_server.georeport_url
    ]
