"""Rate limits, keyed by a keyed hash of the sender's network, never its address.

Both sites use this: the public site on every POST (one allowance for all its forms together)
and on the JSON API's reads (intake.api_access), the staff site on the login form. It is built
on `limits`, the counting library Flask-Limiter is made of, used directly: Flask-Limiter's
per-request bookkeeping (decorators, blueprint scopes, header injection, none of which we use)
cost about an eighth of the public submit path's CPU, and a third of a cached API read's.
Counters live in Redis; if Redis is unreachable, each process counts in its own memory for a
while rather than refusing or blocking anyone.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from core.app import current_settings
from core.config import ConfigError
from core.privacy import ip_hash

log = logging.getLogger(__name__)

# After the store failed, count in memory this long before trying it again.
STORE_RETRY_SECONDS = 10.0


class RateLimit:
    """A rate limit ("10 per minute;60 per hour") counted per key in a shared store.

    One Redis round trip per request; the wait before the next allowed one is read only for a
    request that is refused (Retry-After).
    """

    def __init__(self, rule: str, storage_url: str, prefix: str, scope: str, setting: str) -> None:
        try:
            self.items: list[RateLimitItem] = parse_many(rule)
        except ValueError:
            example = "10 per minute;60 per hour"
            raise ConfigError(
                f"{setting} is not a rate limit: {rule!r} (write it like {example!r})"
            ) from None
        options: dict[str, float] = {}
        if storage_url.startswith("redis"):
            # A Redis that hangs must not hang the sender: fail fast, then count in memory.
            options = {"socket_connect_timeout": 1, "socket_timeout": 1}
        self.shared = FixedWindowRateLimiter(storage_from_string(storage_url, **options))
        self.local = FixedWindowRateLimiter(MemoryStorage())
        self.identity = (prefix, scope)
        self._shared_down_until = 0.0

    def hit(self, key: str) -> int | None:
        """Count one request of `key`: None if allowed, else the seconds until it would be."""
        limiter = self.local if time.monotonic() < self._shared_down_until else self.shared
        for item in self.items:
            try:
                allowed = limiter.hit(item, *self.identity, key)
                if not allowed:
                    return self._wait(limiter, item, key)
            except Exception as exc:  # the store's errors vary with its kind; none may block
                if limiter is self.local:
                    raise
                log.warning("rate-limit store unreachable, counting in memory: %s", exc)
                self._shared_down_until = time.monotonic() + STORE_RETRY_SECONDS
                return self.hit(key)
        return None

    def _wait(self, limiter: FixedWindowRateLimiter, item: RateLimitItem, key: str) -> int:
        reset = limiter.get_window_stats(item, *self.identity, key).reset_time
        return max(1, math.ceil(reset - time.time()))


def client_key() -> str:
    """The rate-limit key of this request: a keyed hash of the client's network, never its IP."""
    return ip_hash(current_settings().hash_key, request.remote_addr)


def limit_posts(app: Flask, limit: RateLimit, applies: Callable[[], bool] = lambda: True) -> None:
    """Refuse POSTs to `app` beyond `limit` with 429 and Retry-After (where `applies()`)."""

    def check() -> None:
        if request.method == "POST" and applies():
            wait = limit.hit(client_key())
            if wait is not None:
                raise TooManyRequests(retry_after=wait)

    # First of the before-request hooks: a flood is turned away before any other work (the CSRF
    # check, the session) is done for it.
    app.before_request_funcs.setdefault(None, []).insert(0, check)
