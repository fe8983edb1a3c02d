"""Errors a client can act on. No Flask imports: domain code raises these."""

from __future__ import annotations


class Open311Error(Exception):
    """Base class; `code` is the HTTP status and the <code> in <errors>."""

    code = 400

    def __init__(self, *descriptions: str) -> None:
        super().__init__(*descriptions)
        self.descriptions = list(descriptions)

    @property
    def headers(self) -> dict[str, str]:
        """Headers the answer carries besides its body, in any format."""
        return {}


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


class _RetryLater(Open311Error):
    """An error the caller may retry: the answer says when (Retry-After, in seconds)."""

    def __init__(self, *descriptions: str, retry_after: int = 1) -> None:
        super().__init__(*descriptions)
        self.retry_after = max(1, retry_after)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TooManyRequests(_RetryLater):
    code = 429  # a rate limit: the caller waits retry_after seconds


class ServiceUnavailable(_RetryLater):
    code = 503  # the database is unreachable, hung, full or locked: nothing was stored
