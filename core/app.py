"""The base both Flask apps build on: config, extensions, headers and error pages."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from flask import Flask, current_app
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from core import thread_cache
from core.config import Settings
from core.db import db
from core.errors import register_error_handlers
from core.health import bp as health_bp
from core.i18n import init_i18n

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

csrf = CSRFProtect()

# Strict by default: our pages load nothing from elsewhere and run no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_base_app(
    import_name: str,
    *,
    settings: Settings,
    templates: str,
    secret_key: str,
    cookie_name: str,
) -> Flask:
    """A Flask app with the parts both sites share; each site adds its own blueprints."""
    app = Flask(
        import_name,
        template_folder=str(TEMPLATES / templates),
        instance_path=str(settings.instance_path),
    )
    app.config.update(
        TIPLINE=settings,
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME=cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # A source may take hours to write a tip; a one-hour token would throw their work away.
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        WTF_CSRF_SSL_STRICT=settings.secure_cookies,
    )
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    configure_logging(settings.log_level)
    db.init_app(app, settings.database_url)
    # Every process that changes comments drops the cached threads they appear in.
    thread_cache.configure(settings)
    init_i18n(app, settings.locales, settings.default_locale)
    csrf.init_app(app)
    app.after_request(security_headers)
    register_error_handlers(app)
    app.register_blueprint(health_bp)
    app.jinja_env.globals["site_name"] = settings.site_name
    return app


def security_headers(response: Response) -> Response:
    """Headers every page gets: no framing, no sniffing, no referrer, no caching of forms."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        # Pages carry CSRF tokens and, on the staff site, private data.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def configure_logging(level: str) -> None:
    """Log to stderr; silence Werkzeug's request lines, which carry client IP addresses."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def current_settings() -> Settings:
    """The settings the running app (or the worker's app context) was built from."""
    settings: Settings = current_app.config["TIPLINE"]
    return settings


def ready_to_serve(app: Flask) -> Flask:
    """`app`, with what it loaded at start moved out of the garbage collector's sight.

    A started app holds some 120,000 objects (Flask, SQLAlchemy, Babel, Jinja, the models) that
    live as long as the process. CPython's full collection walks all of them whenever enough
    new objects survived, which on a busy page added 50–70 ms to about one request in twenty.
    Frozen, they are never walked again; each request's own objects are collected as before.
    (The approach of gunicorn's and Instagram's users: https://docs.python.org/3/library/gc.html#gc.freeze.)
    """
    gc.collect()
    gc.freeze()
    return app
