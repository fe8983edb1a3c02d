"""Path variants real clients use, mapped onto the canonical routes (reference 4.12).

`endpoint + path` clients produce `//`; some add a trailing slash; some
omit the format suffix, which means XML, the spec's required format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from open311.formats.render import STAFF_PREFIX

PREFIX = "/open311/"
_SLASHES = re.compile(r"/{2,}")
_NO_SUFFIX_NEEDED = {"/open311", "/open311/v2"}


class TolerantPaths:
    """WSGI middleware that normalises PATH_INFO under /open311/ before routing."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX) or path.startswith("//"):
            environ["PATH_INFO"] = normalise(path)
        return self.app(environ, start_response)  # type: ignore[no-any-return]


def normalise(path: str) -> str:
    path = _SLASHES.sub("/", path).rstrip("/") or "/"
    if not path.startswith(PREFIX) or path in _NO_SUFFIX_NEEDED:
        return path
    if path.startswith(STAFF_PREFIX) or path == STAFF_PREFIX.rstrip("/"):
        return path  # the staff API speaks JSON only; its paths have no suffix
    last = path.rsplit("/", 1)[-1]
    return path if "." in last else f"{path}.xml"
