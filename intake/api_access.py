"""Who may call the public JSON API, and how often: origins (CORS), CMS tokens, read limits.

Every request under /api/ passes `guard` first:
- a browser request from a site that is not allowed (its Origin header) is refused with 403,
  whatever it asks for, and gets no Access-Control-Allow-Origin;
- a preflight (OPTIONS) from an allowed site is answered here;
- a POST needs an allowed Origin or a CMS token (`Authorization: Bearer tl_...`). The API reads
  no cookies, so a forged cross-site POST carries no credentials to abuse; and a browser always
  sends Origin on a cross-site POST, which the allowed list decides;
- a read (GET) counts against the API's read allowance per network (settings.api_read_rate_limit,
  in Redis); a CMS token is not limited. Beyond it: 429 with Retry-After and a JSON message.

Flask-CORS is not used: its origin list is fixed when the app is built, while ours lives in the
database (admins edit it in the staff site) and must take effect in every process without a
restart. `core.origins.AllowedOrigins` re-reads it every few seconds; the few CORS headers we
need are set here.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, current_app, g, jsonify, request
from flask_babel import gettext as _

from core import origins
from core.api_tokens import find_token
from core.app import current_settings
from core.config import Settings
from core.db import db
from core.models import ApiToken
from core.ratelimit import RateLimit, client_key

API_PATH = "/api/"
ORIGINS_EXTENSION = "tipline.allowed_origins"
READ_LIMIT_EXTENSION = "tipline.api_read_limit"
PREFLIGHT_MAX_AGE = "600"
# What a page's script may read of our answers besides the simple headers.
EXPOSED_HEADERS = "ETag, Retry-After"


def init_api_access(app: Flask, settings: Settings) -> None:
    """Guard /api/ on `app`: origins, tokens, CORS headers, the language, read limits."""
    app.extensions[ORIGINS_EXTENSION] = origins.AllowedOrigins()
    init_read_limits(app, settings)
    app.before_request(guard)
    app.after_request(cors_headers)
    babel = app.extensions["babel"]
    babel.locale_selector = api_locale_selector(babel.locale_selector)


def init_read_limits(app: Flask, settings: Settings) -> RateLimit:
    """The API's read limit on `app`: one allowance per network for every read.

    Counted with core.ratelimit (the `limits` library on Redis, one round trip), not with
    Flask-Limiter: Flask-Limiter's per-request bookkeeping took a third of a cached thread's
    throughput (780 against 1,216 requests/s with it switched off, docs/benchmarks.md), for
    the same counting in the same store.
    """
    limit = RateLimit(
        settings.api_read_rate_limit,
        settings.ratelimit_storage_url,
        settings.ratelimit_prefix,
        scope="api-read",
        setting="TIPLINE_API_READ_RATE_LIMIT",
    )
    app.extensions[READ_LIMIT_EXTENSION] = limit
    return limit


def too_many(wait: int) -> Response:
    """A refused request: 429 with a JSON message and Retry-After (seconds)."""
    response = error_response(
        429, _("You have sent too much in a short time. Please wait a moment and try again.")
    )
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
    if request.method in ("GET", "HEAD") and presented is None:
        # Reads count here, after refused origins (uncounted); POSTs already counted against
        # the public site's one submit allowance (core.ratelimit.limit_posts).
        limit: RateLimit = current_app.extensions[READ_LIMIT_EXTENSION]
        wait = limit.hit(client_key())
        if wait is not None:
            return too_many(wait)
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
