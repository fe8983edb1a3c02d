"""Secrets are redacted from URIs, query strings, headers and free text, and from every
atom gunicorn's access log can print."""

from __future__ import annotations

import logging

import pytest

from open311.observability.gunicorn_logging import redacted_atoms
from open311.observability.logs import RedactingFilter
from open311.observability.redaction import (
    REDACTED,
    redact_header,
    redact_path,
    redact_query,
    redact_text,
    redact_uri,
)

SECRET = "s3cr3t-Value_42"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"api_key={SECRET}", f"api_key={REDACTED}"),
        (f"service_code=PHF&api_key={SECRET}&x=1", f"service_code=PHF&api_key={REDACTED}&x=1"),
        (f"api%5Fkey={SECRET}", f"api%5Fkey={REDACTED}"),  # werkzeug decodes the name
        (f"%61pi_key={SECRET}", f"%61pi_key={REDACTED}"),
        (f"API_KEY={SECRET}", f"API_KEY={REDACTED}"),
        (f"token={SECRET}&access_token={SECRET}", f"token={REDACTED}&access_token={REDACTED}"),
        ("service_code=PHF&page=2", "service_code=PHF&page=2"),  # nothing secret: as sent
        ("", ""),
    ],
)
def test_secret_parameters_are_redacted_from_a_query_string(query, expected):
    assert redact_query(query) == expected


@pytest.mark.parametrize(
    "path",
    [
        f"/open311/confirm/{SECRET}",
        f"/open311/unsubscribe/{SECRET}",
        f"//open311//unsubscribe/{SECRET}/",
        f"/open311/%63onfirm/{SECRET}",
        f"/open311/Confirm/{SECRET}",
    ],
)
def test_the_token_of_a_signed_link_is_redacted_from_its_path(path):
    redacted = redact_path(path)
    assert SECRET not in redacted
    assert REDACTED in redacted


def test_a_path_without_a_signed_link_is_left_as_sent():
    assert redact_path("/open311/v2/requests/SR26-00000042.json") == (
        "/open311/v2/requests/SR26-00000042.json"
    )
    assert redact_path("/open311/v2/tokens/abc%20def.json") == "/open311/v2/tokens/abc%20def.json"


def test_a_full_url_has_its_path_and_query_redacted():
    url = f"https://311.example.org/open311/confirm/{SECRET}?api_key={SECRET}&a=b#top"
    assert redact_uri(url) == (
        f"https://311.example.org/open311/confirm/{REDACTED}?api_key={REDACTED}&a=b#top"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Authorization", f"Bearer {SECRET}"),
        ("authorization", f"Basic {SECRET}"),
        ("Cookie", f"session={SECRET}"),
        ("X-Api-Key", SECRET),
        ("Referer", f"https://311.example.org/open311/unsubscribe/{SECRET}"),
        ("User-Agent", f"curl token={SECRET}"),
    ],
)
def test_credentials_are_redacted_from_headers(name, value):
    assert SECRET not in redact_header(name, value)


@pytest.mark.parametrize(
    "text",
    [
        f"unhandled error on /open311/confirm/{SECRET}",
        f"GET /open311/v2/requests.json?api_key={SECRET} HTTP/1.1",
        f"Authorization: Bearer {SECRET}",
        f"a staff token staff_{SECRET}abcdefgh leaked",
    ],
)
def test_anything_secret_looking_is_redacted_from_free_text(text):
    assert SECRET not in redact_text(text)


def test_free_text_without_secrets_is_unchanged():
    text = "notification 7f3c delivered (webhook); tokens issued: 3"
    assert redact_text(text) == text


def test_every_access_log_atom_is_redacted():
    uri = f"/open311/confirm/{SECRET}?api_key={SECRET}"
    atoms = {
        "r": f"GET {uri} HTTP/1.1",
        "U": f"/open311/confirm/{SECRET}",
        "q": f"api_key={SECRET}",
        "f": f"https://311.example.org{uri}",
        "a": "curl/8",
        "s": "200",
        "B": 123,
        "{authorization}i": f"Bearer {SECRET}",
        "{cookie}i": f"s={SECRET}",
        "{raw_uri}e": uri,
        "{query_string}e": f"api_key={SECRET}",
        "{path_info}e": f"/open311/confirm/{SECRET}",
        "{http_authorization}e": f"Bearer {SECRET}",
        "{x-request-id}o": "abc",
    }
    redacted = redacted_atoms(atoms)
    assert not [key for key, value in redacted.items() if SECRET in str(value)]
    assert redacted["r"] == f"GET /open311/confirm/{REDACTED}?api_key={REDACTED} HTTP/1.1"
    assert (redacted["B"], redacted["s"], redacted["{x-request-id}o"]) == (123, "200", "abc")


def test_the_error_log_filter_redacts_the_message_and_the_traceback():
    try:
        raise ValueError(f"bad link /open311/unsubscribe/{SECRET}")
    except ValueError:
        record = logging.LogRecord(
            "gunicorn.error", logging.ERROR, __file__, 1, "Error handling request %s",
            (f"/x?api_key={SECRET}",), exc_info=__import__("sys").exc_info(),
        )  # fmt: skip
    assert RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert SECRET not in text
    assert "Error handling request /x?api_key=[redacted]" in text
