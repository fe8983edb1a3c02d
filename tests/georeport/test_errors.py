"""Error responses keep the headers their HTTP status calls for."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/open311/v2/services.xml", {"GET", "HEAD", "OPTIONS"}),
        ("/open311/v2/requests.json", {"GET", "HEAD", "OPTIONS", "POST"}),
    ],
)
def test_wrong_method_is_405_with_an_allow_header(client, path, allowed):
    response = client.put(path)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == allowed
    assert response.content_type.startswith(
        "application/json" if path.endswith(".json") else "text/xml"
    )
