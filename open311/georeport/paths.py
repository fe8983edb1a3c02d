"""Path variants real clients use, mapped onto the canonical routes (reference 4.12).

`endpoint + path` clients produce `//`; some add a trailing slash; some
omit the format suffix, which means XML, the spec's required format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PREFIX = "/open311/"
_SLASHES = re.compile(r"/{2,}")
_NO_SUFFIX_NEEDED = {"/open311", "/open311/v2"}


class TolerantPaths:
    """WSGI middleware that normalises PATH_INFO under /open311/ before routing.

    `suffixless` are the prefixes of APIs under /open311/ whose paths have no format
    suffix (the staff API speaks JSON only): they get no .xml.
    """

    def __init__(self, app: Any, suffixless: tuple[str, ...] = ()) -> None:
        self.app = app
        self.suffixless = suffixless

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX) or path.startswith("//"):
            environ["PATH_INFO"] = normalise(path, self.suffixless)
        return self.app(environ, start_response)  # type: ignore[no-any-return]


def normalise(path: str, suffixless: tuple[str, ...] = ()) -> str:
    path = _SLASHES.sub("/", path).rstrip("/") or "/"
    if not path.startswith(PREFIX) or path in _NO_SUFFIX_NEEDED:
        return path
    if any(path == prefix or path.startswith(prefix + "/") for prefix in suffixless):
        return path
    last = path.rsplit("/", 1)[-1]
    return path if "." in last else f"{path}.xml"
