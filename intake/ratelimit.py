"""Rate limits on every public POST, keyed by the hashed network address of the sender."""

from __future__ import annotations

import logging
import time
from functools import partial

from flask import Flask, Response, request
from flask_limiter import Limiter
from limits import parse_many

from core.config import ConfigError, Settings
from core.privacy import ip_hash
from intake.web import current_settings


def client_key() -> str:
    """The rate-limit key of this request: a keyed hash of the client's network, never its IP."""
    return ip_hash(current_settings().hash_key, request.remote_addr)


def _not_a_post() -> bool:
    return request.method != "POST"


def init_rate_limits(app: Flask, settings: Settings) -> Limiter:
    """Limit the POSTs of one network to `settings.submit_rate_limit`, all forms together."""
    # Flask-Limiter parses the limit on each request; a typo must stop the start, not every POST.
    try:
        parse_many(settings.submit_rate_limit)
    except ValueError:
        raise ConfigError(
            f"TIPLINE_SUBMIT_RATE_LIMIT is not a rate limit: {settings.submit_rate_limit!r} "
            "(write it like '10 per minute;60 per hour')"
        ) from None
    storage_options: dict[str, str | int] = {}
    if settings.ratelimit_storage_url.startswith("redis"):
        # A Redis that hangs must not hang the reader: fail fast and fall back to memory.
        storage_options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    # One Limiter per app, not one module-level instance: Flask-Limiter keeps its storage and
    # limits on the instance, and each app (tests build many) has its own settings.
    limiter = Limiter(
        client_key,
        # An application limit is one bucket shared by every route: a sender cannot get twice
        # the allowance by alternating between the comment and the tip forms.
        application_limits=[settings.submit_rate_limit],
        application_limits_exempt_when=_not_a_post,
        storage_uri=settings.ratelimit_storage_url,
        storage_options=storage_options,
        key_prefix=settings.ratelimit_prefix,
        strategy="fixed-window",
        # Not Flask-Limiter's headers: they cost two more Redis round trips on every POST and
        # put a Retry-After on every answer (a receipt's redirect, a 503). retry_after() gives
        # the one header a refused sender needs, on 429 only.
        headers_enabled=False,
        # A Redis outage must never block readers: count in this process's memory meanwhile.
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    limiter.init_app(app)
    # Its INFO line for each refusal names the sender's key: a hash, but of someone who may be
    # a source. Outages are still logged (WARNING and above).
    logging.getLogger("flask-limiter").setLevel(logging.WARNING)
    app.after_request(partial(retry_after, limiter))
    return limiter


def retry_after(limiter: Limiter, response: Response) -> Response:
    """On a 429, say in how many seconds the sender may try again."""
    limit = limiter.current_limit if response.status_code == 429 else None
    if limit is not None:
        try:
            seconds = limit.reset_at - time.time()
        except Exception:  # the store went away in between: the window's length is a safe bound
            seconds = limit.limit.get_expiry()
        response.headers["Retry-After"] = str(max(1, int(seconds)))
    return response
