"""Who may call the public JSON API, and how often: origins (CORS), CMS tokens, read limits.

Every request under /api/ passes `guard` first:
- a browser request from a site that is not allowed (its Origin header) is refused with 403,
  whatever it asks for, and gets no Access-Control-Allow-Origin;
- a preflight (OPTIONS) from an allowed site is answered here;
- a POST needs an allowed Origin or a CMS token (`Authorization: Bearer tl_...`). The API reads
  no cookies, so a forged cross-site POST carries no credentials to abuse; and a browser always
  sends Origin on a cross-site POST, which the allowed list decides.

Flask-CORS is not used: its origin list is fixed when the app is built, while ours lives in the
database (admins edit it in the staff site) and must take effect in every process without a
restart. `core.origins.AllowedOrigins` re-reads it every few seconds; the few CORS headers we
need are set here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from core import origins
from core.api_tokens import find_token
from core.app import current_settings
from core.config import ConfigError, Settings
from core.db import db
from core.models import ApiToken
from core.ratelimit import client_key

API_PATH = "/api/"
ORIGINS_EXTENSION = "tipline.allowed_origins"
PREFLIGHT_MAX_AGE = "600"
# What a page's script may read of our answers besides the simple headers.
EXPOSED_HEADERS = "ETag, Retry-After"


def init_api_access(app: Flask, settings: Settings, blueprint: Blueprint) -> Limiter:
    """Guard /api/ on `app`: origins, tokens, CORS headers, the language, read limits."""
    app.extensions[ORIGINS_EXTENSION] = origins.AllowedOrigins()
    # Registered before the limiter's own hook: refused origins are turned away uncounted,
    # and the token is known before the limiter asks whether the request is exempt.
    app.before_request(guard)
    app.after_request(cors_headers)
    babel = app.extensions["babel"]
    babel.locale_selector = api_locale_selector(babel.locale_selector)
    return init_read_limits(app, settings, blueprint)


def init_read_limits(app: Flask, settings: Settings, blueprint: Blueprint) -> Limiter:
    """Flask-Limiter on `app`, limiting the API's reads per network; CMS tokens exempt."""
    try:
        parse_many(settings.api_read_rate_limit)
    except ValueError:
        raise ConfigError(
            f"TIPLINE_API_READ_RATE_LIMIT is not a rate limit: {settings.api_read_rate_limit!r}"
        ) from None
    options: dict[str, str | int] = {}
    if settings.ratelimit_storage_url.startswith("redis"):
        # A Redis that hangs must not hang readers; its errors are swallowed (no limit applies).
        options = {"socket_connect_timeout": 1, "socket_timeout": 1}
    limiter = Limiter(
        key_func=client_key,
        storage_uri=settings.ratelimit_storage_url,
        storage_options=options,
        strategy="fixed-window",
        # Its X-RateLimit-* headers cost two more Redis round trips on every read (the
        # window's count and its expiry), which doubled the cost of a cached thread; the one
        # header a refused reader needs, Retry-After, is set on the 429 alone (too_many_reads).
        headers_enabled=False,
        key_prefix=settings.ratelimit_prefix,
        swallow_errors=True,
        default_limits=[],
    )
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, lambda exc: too_many_reads(limiter))
    # One allowance for all of the blueprint's reads, kept by this app's limiter (the
    # blueprint object itself is not changed, so each app built from it has its own).
    limiter.shared_limit(
        settings.api_read_rate_limit, scope="api-read", methods=["GET"], exempt_when=token_holder
    )(blueprint)
    return limiter


def too_many_reads(limiter: Limiter) -> Response:
    """A refused read: 429 with a JSON message and Retry-After (the seconds to the window's end)."""
    response = error_response(
        429, _("You have sent too much in a short time. Please wait a moment and try again.")
    )
    current = limiter.current_limit
    wait = max(1, int(current.reset_at - time.time())) if current else 60
    response.headers["Retry-After"] = str(wait)
    return response


def is_api_request() -> bool:
    """Whether this request is for the JSON API."""
    return request.path.startswith(API_PATH)


def allowed_origins() -> frozenset[str]:
    """The origins that may call the API from a browser: the admins' list and our own site."""
    extension: origins.AllowedOrigins = current_app.extensions[ORIGINS_EXTENSION]
    own = origins.origin_of(current_settings().intake_url)
    listed = extension.get(db.session)
    return listed | {own} if own else listed


def request_origin() -> str | None:
    """The request's Origin header, normalised; "" if it is present but not an origin."""
    value = request.headers.get("Origin")
    if value is None:
        return None
    try:
        return origins.normalise(value)
    except origins.BadOrigin:
        return ""  # "null" (sandboxed frames, file:) and garbage: never allowed


def allowed_origin() -> str | None:
    """The request's Origin if it is allowed (computed once per request), else None."""
    if "api_origin" not in g:
        origin = request_origin()
        g.api_origin = origin if origin and origin in allowed_origins() else None
    found: str | None = g.api_origin
    return found


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer` header, if there is one."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def api_token() -> ApiToken | None:
    """The live CMS token this request carries (looked up once per request), or None."""
    if "api_token" not in g:
        presented = bearer_token()
        g.api_token = (
            find_token(db.session, current_settings().hash_key, presented) if presented else None
        )
    token: ApiToken | None = g.api_token
    return token


def token_holder() -> bool:
    """Whether the request carries a live CMS token (exempt from the read limits)."""
    return api_token() is not None


def error_response(
    status: int, message: str, fields: dict[str, list[str]] | None = None
) -> Response:
    """The API's error: `{"error": message, "fields": {...}}` with `status`."""
    body: dict[str, object] = {"error": message}
    if fields:
        body["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    return response


def guard() -> Response | None:
    """Refuse disallowed origins and uncredentialed POSTs; answer preflights (see the module)."""
    if not is_api_request():
        return None
    origin = request_origin()
    if origin is not None and allowed_origin() is None:
        return error_response(403, _("This site is not allowed to embed comments."))
    if request.method == "OPTIONS" and origin:
        return preflight()
    presented = bearer_token()
    if presented is not None and api_token() is None:
        return error_response(403, _("This API token is not valid or was revoked."))
    if request.method == "POST" and origin is None and presented is None:
        return error_response(
            403, _("Send this from a site allowed to embed comments, or with an API token.")
        )
    return None


def preflight() -> Response:
    """The answer to a browser's CORS preflight from an allowed origin."""
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
    response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


def cors_headers(response: Response) -> Response:
    """Let an allowed origin's page read the answer; never with credentials."""
    if not is_api_request():
        return response
    response.vary.add("Origin")
    origin = allowed_origin() if "Origin" in request.headers else None
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def api_locale_selector(
    fallback: Callable[[], str | None] | None,
) -> Callable[[], str | None]:
    """A locale selector: on the API, `?locale=` or Accept-Language; elsewhere `fallback`.

    The API reads no cookies, so the language switch's cookie does not count there; an
    embedding page says its language with `?locale=`.
    """

    def select() -> str | None:
        if not is_api_request():
            return fallback() if fallback else None
        locales: tuple[str, ...] = current_app.config["TIPLINE_LOCALES"]
        asked = request.args.get("locale", "")
        if asked in locales:
            return asked
        best = request.accept_languages.best_match(locales)
        return best or current_app.config["BABEL_DEFAULT_LOCALE"]

    return select
