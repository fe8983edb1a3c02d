"""One payload, two renderings: each blueprint says which (its routes' `fmt`)."""

from __future__ import annotations

import re
from typing import Any

import orjson
from flask import Response, request

from open311.formats.xml import to_xml

# The bare types, as the spec's examples and the SeeClickFix validator have them: JSON is
# UTF-8 by definition (RFC 8259 defines no charset parameter), and XML says its encoding
# in its declaration.
CONTENT_TYPES = {"json": "application/json", "xml": "text/xml"}
_JSONP_CALLBACK = re.compile(r"^[A-Za-z_$][\w$]{0,63}(?:\.[A-Za-z_$][\w$]{0,63}){0,3}$")


def document(root_tag: str, payload: Any, fmt: str, status: int = 200) -> Response:
    """Render a payload in `fmt`: "xml" as <root_tag>…</root_tag>, else a bare JSON value."""
    if fmt == "xml":
        return Response(to_xml(root_tag, payload), status=status, content_type=CONTENT_TYPES["xml"])
    body = orjson.dumps(payload)  # compact UTF-8, as json.dumps gives, 8x faster
    callback = request.args.get("callback", "")
    if callback and request.method == "GET" and _JSONP_CALLBACK.match(callback):
        # JSONP, as Chicago offered on every GET.
        return Response(
            b"/**/" + callback.encode() + b"(" + body + b");",
            status=status,
            content_type="application/javascript; charset=utf-8",
        )
    return Response(body, status=status, content_type=CONTENT_TYPES["json"])


def errors(pairs: list[tuple[int, str]], status: int, fmt: str) -> Response:
    return document("errors", [{"code": c, "description": d} for c, d in pairs], fmt, status)
