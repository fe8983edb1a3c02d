"""The app's logs: one JSON object per line on stderr, secrets redacted, with a request id.

Every logger under `open311` (the app's own, the outbox worker's, the notification
channels') writes through one handler. A line logged while a request is handled
carries that request's id, method and path; the line written when a request is
answered adds its status and duration (seconds). Messages and tracebacks are
redacted (see redaction.py) before they are written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from flask import g, has_request_context
from flask.logging import default_handler

from open311.observability.redaction import redact_text

LOGGER: Final = "open311"  # the package's logger, and Flask's app.logger (its import name)
REQUEST_ID_HEADER: Final = "X-Request-ID"
# A caller's (or the proxy's) id is kept when it is a plain token: a UUID, nginx's
# $request_id, a trace id. Anything else (too long, spaces, quotes, control
# characters) is replaced, so that a log line cannot be forged or bloated through it.
_SANE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:+=/@-]{1,128}")
# Fields a line takes from the request being handled, unless the record has its own.
REQUEST_FIELDS: Final = ("request_id", "method", "path")
EXCHANGE_FIELDS: Final = ("status", "duration")


def request_id(given: str | None) -> str:
    """The caller's X-Request-ID when it is sane, else a new one."""
    if given and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def configure(level: str | int) -> None:
    """Send the `open311` loggers through one JSON handler on stderr (once per process)."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    logger.removeHandler(default_handler)  # Flask's plain-text one, if it was added
    if not any(isinstance(handler, JsonHandler) for handler in logger.handlers):
        logger.addHandler(JsonHandler())
    # `flask run`'s development server logs each request line, query string and all.
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactingFilter) for f in werkzeug.filters):
        werkzeug.addFilter(RedactingFilter())


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with secrets redacted, for any handler
    of the logger it is added to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


class JsonHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time (pytest swaps it per test)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass  # always sys.stderr


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        line.update(_request_fields(record))
        if record.exc_info:
            line["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def _message(record: logging.LogRecord) -> str:
    message = record.getMessage()
    return message if getattr(record, "redacted", False) else redact_text(message)


def _request_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {name: getattr(record, name) for name in REQUEST_FIELDS if hasattr(record, name)}
    if has_request_context() and "open311_log_fields" in g:
        for name, value in g.open311_log_fields.items():
            fields.setdefault(name, value)
    for name in EXCHANGE_FIELDS:
        if hasattr(record, name):
            fields[name] = getattr(record, name)
    return fields
