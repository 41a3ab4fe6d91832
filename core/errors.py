"""Friendly error pages for both apps: a clear message and the right status, never a trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("Your account does not have access to this page.")),
    404: (_l("Page not found"), _l("There is nothing at this address.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Conflict"), _l("Someone else changed this first.")),
    413: (
        _l("Too large"),
        _l("What you sent is larger than we accept. Shorten it and try again."),
    ),
    429: (
        _l("Too many requests"),
        _l("You have sent too much in a short time. Please wait a moment and try again."),
    ),
    500: (_l("Something went wrong"), _l("An unexpected error happened on our side.")),
    503: (
        _l("Temporarily unavailable"),
        _l(
            "We cannot accept submissions right now. Nothing you sent was stored; "
            "please try again in a few minutes."
        ),
    ),
}
CSRF_MESSAGE = _l(
    "This form's security token is missing or has expired, so it was not accepted. "
    "Reload the page and send it again."
)


def error_page(code: int, message: str | None = None) -> tuple[str, int]:
    """The app's error.html for `code`, with a custom message if given."""
    title, default = MESSAGES.get(code, MESSAGES[500])
    body = render_template("error.html", code=code, title=title, message=message or default)
    return body, code


def register_error_handlers(app: Flask) -> None:
    """Render every HTTP error, CSRF failure and database outage as a page in the app's style."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        return error_page(400, str(CSRF_MESSAGE))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | tuple[str, int]:
        if exc.code is None or exc.code < 400:
            return exc.get_response()
        response = _error_response(exc.code)
        # Keep the headers the exception carries (Allow on 405, Retry-After on 429, ...).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(OperationalError)
    def database_down(exc: OperationalError) -> Response:
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return _unavailable()

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError) -> Response:
        if exc.connection_invalidated:
            log.error("database connection lost: %s", type(exc.orig).__name__)
            return _unavailable()
        log.exception("database error")
        return _error_response(500)

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError) -> Response:
        return _error_response(500)


def _error_response(code: int) -> Response:
    # The JSON API (/api/...) answers errors in JSON, `{"error": message}`, like its own
    # refusals, whatever raised them (routing, request size, rate limits); pages get a page.
    if request.path.startswith("/api/"):
        response = jsonify({"error": str(MESSAGES.get(code, MESSAGES[500])[1])})
        response.status_code = code
        return response
    body, code = error_page(code)
    return Response(body, status=code, mimetype="text/html")


def _unavailable() -> Response:
    response = _error_response(503)
    response.headers["Retry-After"] = "30"
    return response
