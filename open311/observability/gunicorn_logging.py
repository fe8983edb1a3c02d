"""gunicorn's logger with secrets redacted: `--logger-class` (or `logger_class`) names it.

gunicorn writes each request's line, RAW_URI and all, itself: the query string
holds a partner's `api_key` when a client sends it there, and a confirmation or
unsubscribe link's path holds its signed token. RedactingLogger redacts every atom
of the access log format before formatting (the request line, path, query,
Referer, every `{header}i` and `{variable}e`), and every message of the error log
(gunicorn logs "Error handling request <uri>").
"""

from __future__ import annotations

from typing import Any

from gunicorn import glogging

from open311.observability.logs import RedactingFilter
from open311.observability.redaction import (
    SECRET_HEADERS,
    redact_header,
    redact_path,
    redact_query,
    redact_text,
    redact_uri,
)

_URI_ATOMS = frozenset({"f", "{raw_uri}e", "{request_uri}e", "{http_referer}e"})
_QUERY_ATOMS = frozenset({"q", "{query_string}e"})
_PATH_ATOMS = frozenset({"U", "{path_info}e", "{script_name}e"})
# The environ spells a header HTTP_<NAME>.
_SECRET_ENVIRON = frozenset("{http_" + name.replace("-", "_") + "}e" for name in SECRET_HEADERS)


class RedactingLogger(glogging.Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(f, RedactingFilter) for f in self.error_log.filters):
            self.error_log.addFilter(RedactingFilter())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        return redacted_atoms(super().atoms(resp, req, environ, request_time))


def redacted_atoms(atoms: dict[str, Any]) -> dict[str, Any]:
    """The access log's atoms, each redacted according to what it holds."""
    redacted: dict[str, Any] = {}
    for key, value in atoms.items():
        redacted[key] = _redacted_atom(key, value) if isinstance(value, str) else value
    return redacted


def _redacted_atom(key: str, value: str) -> str:
    if key == "r":  # "GET /path?query HTTP/1.1"
        method, _, rest = value.partition(" ")
        target, space, protocol = rest.rpartition(" ")
        return f"{method} {redact_uri(target)}{space}{protocol}" if space else redact_text(value)
    if key in _URI_ATOMS:
        return redact_uri(value)
    if key in _QUERY_ATOMS:
        return redact_query(value)
    if key in _PATH_ATOMS:
        return redact_path(value)
    if key in _SECRET_ENVIRON:
        return redact_header("authorization", value)
    if key.startswith("{") and key.endswith("}i"):
        return redact_header(key[1:-2], value)
    return redact_text(value)
