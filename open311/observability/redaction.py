"""What must never reach a log line: API keys, tokens, credentials, signed links.

Clients send `api_key` in the query string (GeoReport's own examples do), staff send
`Authorization: Bearer …`, and the confirmation and unsubscribe links carry a signed
token in their path that confirms or cancels a subscription for whoever holds it.
These functions replace such values with REDACTED wherever a URI, a query string or a
free-text message carries them. They are pure: the gunicorn access log, the app's
JSON logs and any other logger share them.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote, unquote_plus

REDACTED: Final = "[redacted]"

# Query parameters whose value is a secret. Werkzeug decodes parameter names, so
# `api%5Fkey=` is an api_key too: names are compared decoded and lower-cased.
SECRET_PARAMETERS: Final = frozenset({"api_key", "token", "access_token"})

# Headers whose whole value is a credential.
SECRET_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})

# /open311/confirm/<token> and /open311/unsubscribe/<token> (and the `//` variants the
# tolerant paths accept): the last segment is a signed token.
_SIGNED_LINK: Final = re.compile(r"(?i)(/+(?:confirm|unsubscribe)/+)[^/?#\s\"']+")

# In free text: `api_key=…` (its `_` possibly encoded), `token=…`, a bearer or basic
# credential, and a staff token by its prefix wherever it appears.
_PARAMETER_IN_TEXT: Final = re.compile(
    r"(?i)((?<![\w%])(?:api(?:_|%5f)key|access(?:_|%5f)token|token)=)[^&\s\"']+"
)
_CREDENTIAL_IN_TEXT: Final = re.compile(r"(?i)\b((?:bearer|basic)\s+)[\w.~+/=-]+")
_STAFF_TOKEN: Final = re.compile(r"\bstaff_[\w-]{16,}")
# What every pattern above needs somewhere in the text: one search finds most texts clean.
_MAYBE_SECRET: Final = re.compile(r"(?i)confirm|unsubscribe|key|token|bearer|basic|staff_")


def redact_query(query: str) -> str:
    """A query string with the values of secret parameters replaced, the rest as sent."""
    if not query:
        return query
    parts = query.split("&")
    for index, part in enumerate(parts):
        name, equals, _value = part.partition("=")
        if equals and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            parts[index] = f"{name}={REDACTED}"
    return redact_text("&".join(parts))


def redact_path(path: str) -> str:
    """A path with the token of a confirmation or unsubscribe link replaced.

    The path is looked at decoded, since `/open311/%63onfirm/…` reaches the same
    view; a path holding no signed link comes back unchanged, as sent.
    """
    decoded = unquote(path)
    if not _SIGNED_LINK.search(decoded):
        return path
    return _SIGNED_LINK.sub(rf"\1{REDACTED}", decoded)


def redact_uri(uri: str) -> str:
    """A request target or a full URL (a Referer): path and query both redacted."""
    before, question_mark, query = uri.partition("?")
    query, hash_mark, fragment = query.partition("#")
    return redact_path(before) + question_mark + redact_query(query) + hash_mark + fragment


def redact_header(name: str, value: str) -> str:
    """A header's value as it may be logged."""
    if name.lower() in SECRET_HEADERS:
        return REDACTED
    if name.lower() == "referer":
        return redact_uri(value)
    return redact_text(value)


def redact_text(text: str) -> str:
    """Free text (a log message, a traceback) with anything that looks secret replaced."""
    if not _MAYBE_SECRET.search(text):
        return text
    text = _SIGNED_LINK.sub(rf"\1{REDACTED}", text)
    text = _PARAMETER_IN_TEXT.sub(rf"\1{REDACTED}", text)
    text = _CREDENTIAL_IN_TEXT.sub(rf"\1{REDACTED}", text)
    return _STAFF_TOKEN.sub(f"staff_{REDACTED}", text)
