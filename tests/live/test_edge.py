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
    """No PUBLIC_BASE_URL: the endpoints are the live server's own (a free port, not 8000)."""
    response = requests.get(live_server.url("/open311/discovery.json"), timeout=10)
    assert response.headers["Content-Type"] == "application/json"
    assert [endpoint["url"] for endpoint in response.json()["endpoints"]] == [
        live_server.georeport_url,
        live_server.url("/open311/sandbox/v2/"),  # the partner sandbox (tests/sandbox)
    ]


def test_a_partner_files_in_the_sandbox_through_gunicorn(live_server: LiveServer) -> None:
    """The dispatcher in front of production hands /open311/sandbox to the sandbox's app,
    in every worker, on its own store."""
    form = {
        "api_key": live_server.sandbox_key,
        "service_code": "GRAF",
        "lat": "41.883637",
        "long": "-87.630231",
        "description": "Sandbox graffiti through gunicorn",
    }
    filed = requests.post(
        live_server.url("/open311/sandbox/v2/requests.json"), data=form, timeout=10
    )
    assert filed.status_code == 200, filed.text
    number = filed.json()[0]["service_request_id"]
    for _ in range(6):  # whichever of the workers answers
        one = requests.get(
            live_server.url(f"/open311/sandbox/v2/requests/{number}.xml"), timeout=10
        )
        assert one.status_code == 200
        production = requests.get(
            live_server.url(f"/open311/v2/requests/{number}.json"), timeout=10
        )
        assert (
            production.status_code == 404
            or production.json()[0]["description"] != form["description"]
        )
    refused = requests.post(live_server.url("/open311/v2/requests.xml"), data=form, timeout=10)
    assert refused.status_code == 403
    assert "sandbox key" in refused.text
