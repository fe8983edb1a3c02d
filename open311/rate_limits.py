"""Rate limits: 429 with Retry-After, in the caller's format, before the work is done.

Flask-Limiter counts, in Redis when REDIS_URL is set (one count for every worker and
server), in each process's memory otherwise; if Redis stops answering, each process
counts in memory until it is back. Per client address (the peer, or the address
TRUSTED_PROXIES proxies say they forwarded for):

- reads: every GET but the searches (RATE_LIMIT_READS_PER_ADDRESS);
- searches: GET /requests, GET /articles, the feeds, and the site's near-me page, its map's
  clusters and address suggestions (RATE_LIMIT_SEARCHES_PER_ADDRESS);
- writes: POST, PUT, PATCH and DELETE (RATE_LIMIT_WRITES_PER_ADDRESS), and per API
  key or staff member too once the caller is known (RATE_LIMIT_WRITES_PER_KEY);
- failed api_key or staff-token attempts (RATE_LIMIT_FAILED_AUTH_PER_ADDRESS): checked
  before the next key is hashed, so a guesser past the limit costs no hashing and no
  database lookup.

The per-address limits run before any view (Flask-Limiter's before_request); the
interfaces wrap their authentication in `credential_attempt` and name the caller
with `count_writes_of`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Final

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage
from werkzeug.middleware.proxy_fix import ProxyFix

from open311.errors import Forbidden, TooManyRequests, Unauthorized

WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SEARCHES: Final = frozenset(
    {
        "georeport.list_requests",
        "georeport.search_articles",
        "feeds.requests_feed",
        "web.near_me",
        "web.near_clusters",
        "web.address_suggestions",
    }
)
# Redis must not hang a request: past this, the limiter counts in memory instead.
REDIS_TIMEOUT_SECONDS: Final = 0.5
EXTENSION: Final = "open311.limiter"
PER_ADDRESS: Final = {
    "reads": "RATE_LIMIT_READS_PER_ADDRESS",
    "searches": "RATE_LIMIT_SEARCHES_PER_ADDRESS",
    "writes": "RATE_LIMIT_WRITES_PER_ADDRESS",
}

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Count every request against its per-address limit; answer 429 past it."""
    if proxies := int(app.config["TRUSTED_PROXIES"]):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    # One limiter per app, not one unbound in extensions.py: Flask-Limiter keeps its
    # storage on the object, and each app (each test's) counts on its own.
    app.extensions[EXTENSION] = Limiter(
        client_address,
        app=app,
        # One limit whose value and bucket follow the request's kind: Flask-Limiter's
        # work grows with the number of limits, and a request counts against one.
        application_limits=[
            ApplicationLimit(
                limit_provider=lambda: str(current_app.config[PER_ADDRESS[request_kind()]]),
                scope=lambda _endpoint: request_kind(),
            )
        ],
        storage_uri=app.config["REDIS_URL"] or f"{SweptMemoryStorage.STORAGE_SCHEME[0]}://",
        storage_options=_storage_options(app.config),
        strategy="sliding-window-counter",  # no burst of twice the limit at a window's edge
        key_prefix=app.config["RATE_LIMIT_KEY_PREFIX"],
        in_memory_fallback_enabled=bool(app.config["REDIS_URL"]),
        # Flask-Limiter skips requests without an endpoint: probing unknown paths counts too.
        request_identifier=lambda: request.endpoint or "no-route",
    )
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory counts, with their expired keys swept inline once a second.

    MemoryStorage starts a Timer thread to sweep 10 ms after a count whenever the
    last one has finished: in a busy worker, a new thread for nearly every request,
    which cost more CPU than the count itself. The counts are the same: an expired
    count is dropped when it is next read either way; the sweep only frees the keys
    no one asks for again. Several threads may sweep at once, as the Timer's thread
    and the requests' threads already could.
    """

    # Registers it with limits' storages as open311-memory://.
    STORAGE_SCHEME = ["open311-memory"]  # noqa: RUF012 (limits declares it so)
    SWEEP_EVERY_SECONDS: Final = 1.0
    _next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the Timer thread
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_EVERY_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def client_address() -> str:
    return request.remote_addr or "unknown"


def request_kind() -> str:
    """reads, searches or writes: which per-address limit a request counts against."""
    if request.method in WRITE_METHODS:
        return "writes"
    return "searches" if request.endpoint in SEARCHES else "reads"


def _storage_options(config: Mapping[str, Any]) -> dict[str, str | int]:
    """Errors as limits' StorageError (see _counted); Redis given short timeouts."""
    if not config["REDIS_URL"]:
        return {"wrap_exceptions": True}
    # redis-py takes float timeouts; Flask-Limiter's annotation says str | int.
    timeout: Any = REDIS_TIMEOUT_SECONDS
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout, "wrap_exceptions": True}


def _too_many_requests(error: RateLimitExceeded) -> ResponseReturnValue:
    """Flask-Limiter's 429, answered as every Open311Error is (the caller's format)."""
    breached = _limiter().current_limit
    retry_after = breached.reset_at - time.time() if breached else 1
    refusal = _refusal(f"{request_kind()} from this address", str(error.limit.limit), retry_after)
    return current_app.handle_user_exception(refusal)


def _refusal(what: str, limit: str, retry_after: float) -> TooManyRequests:
    seconds = max(1, math.ceil(retry_after))
    return TooManyRequests(
        f"Too many {what} (at most {limit}); nothing was done: try again in {seconds} s.",
        retry_after=seconds,
    )


# --- limits the interfaces apply once they know who is calling -------------------------

FAILED: Final = "failed-credentials"
PER_CALLER: Final = "writes-per-caller"


@contextmanager
def credential_attempt() -> Iterator[None]:
    """Wrap the check of an api_key or staff token: 429 before it once this address
    has failed too often; a Forbidden or Unauthorized from it counts one failure."""
    address = client_address()
    for item in _items(current_app.config["RATE_LIMIT_FAILED_AUTH_PER_ADDRESS"]):
        if not _counted(item, FAILED, address, hit=False):
            raise _refusal(
                "failed api_key or token attempts from this address",
                str(item),
                _reset_in(item, FAILED, address),
            )
    try:
        yield
    except (Forbidden, Unauthorized):
        for item in _items(current_app.config["RATE_LIMIT_FAILED_AUTH_PER_ADDRESS"]):
            _counted(item, FAILED, address, hit=True)
        raise


def count_writes_of(caller: str) -> None:
    """Count a write against its caller's limit (e.g. "key:12", "staff:3"); 429 past it."""
    if request.method not in WRITE_METHODS:
        return
    for item in _items(current_app.config["RATE_LIMIT_WRITES_PER_KEY"]):
        if not _counted(item, PER_CALLER, caller, hit=True):
            raise _refusal(
                "writes with this credential", str(item), _reset_in(item, PER_CALLER, caller)
            )


SIGN_INS: Final = "sign-in-links"


def count_sign_in_link(email: str) -> None:
    """Count a sign-in link asked for, against this client address and against the email
    it goes to (hashed: no address is kept in the counter's store); 429 past either."""
    digest = "email:" + hashlib.sha256(email.encode()).hexdigest()
    config = current_app.config
    for setting, who, what in (
        ("RATE_LIMIT_SIGN_IN_PER_ADDRESS", client_address(), "sign-in links from this address"),
        ("RATE_LIMIT_SIGN_IN_PER_EMAIL", digest, "sign-in links to this email"),
    ):
        for item in _items(config[setting]):
            if not _counted(item, SIGN_INS, who, hit=True):
                raise _refusal(what, str(item), _reset_in(item, SIGN_INS, who))


def _counted(item: RateLimitItem, scope: str, who: str, *, hit: bool) -> bool:
    """Within the limit (counting this one if `hit`)? True too if the count is unreachable:
    a Redis outage must not stop the city's 311."""
    limiter = _limiter().limiter
    try:
        if hit:
            return limiter.hit(item, *_identifiers(scope, who))
        return limiter.test(item, *_identifiers(scope, who))
    except StorageError as error:
        log.warning("rate limit not counted (%s): %s", scope, error.storage_error)
        return True


def _reset_in(item: RateLimitItem, scope: str, who: str) -> float:
    try:
        stats = _limiter().limiter.get_window_stats(item, *_identifiers(scope, who))
    except StorageError:
        return item.get_expiry()
    return stats.reset_time - time.time()


def _identifiers(scope: str, who: str) -> tuple[str, str, str]:
    """As Flask-Limiter keys its own limits: the deployment's prefix, who, then what."""
    return current_app.config["RATE_LIMIT_KEY_PREFIX"], who, scope


@lru_cache(maxsize=32)
def _items(setting: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(setting))


def _limiter() -> Limiter:
    limiter: Limiter = current_app.extensions[EXTENSION]
    return limiter


# --- counts kept for other modules (the console's failed sign-ins) ----------------------


def shared_counts() -> bool:
    """Are counts shared by every worker and server (Redis)? Otherwise a caller that
    needs one count everywhere keeps its own (in the database)."""
    return bool(current_app.config["REDIS_URL"])


def within(setting: str, scope: str, who: str, *, hit: bool) -> bool:
    """Is `who` within every limit of `setting` in `scope` (counting this one if `hit`)?"""
    return all([_counted(item, scope, who, hit=hit) for item in _items(setting)])


def seconds_until_reset(setting: str, scope: str, who: str) -> int:
    return max(1, math.ceil(max(_reset_in(item, scope, who) for item in _items(setting))))


def parse(setting: str) -> tuple[RateLimitItem, ...]:
    return _items(setting)
