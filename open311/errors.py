"""Errors a client can act on. No Flask imports: domain code raises these."""

from __future__ import annotations


class Open311Error(Exception):
    """Base class; `code` is the HTTP status and the <code> in <errors>."""

    code = 400

    def __init__(self, *descriptions: str) -> None:
        super().__init__(*descriptions)
        self.descriptions = list(descriptions)


class InvalidRequest(Open311Error):
    code = 400


class Unauthorized(Open311Error):
    code = 401  # the staff API: no token, or one that is not (or no longer) valid


class Forbidden(Open311Error):
    code = 403  # GeoReport: wrong or missing api_key


class NotFound(Open311Error):
    code = 404


class Conflict(Open311Error):
    code = 409  # an Idempotency-Key reused with different content


class Gone(Open311Error):
    code = 410  # a link that worked once: an expired confirmation, a cancelled subscription
