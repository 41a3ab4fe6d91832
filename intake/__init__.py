"""The public site: articles and their comments, the comment and tip forms, receipts.

It holds no staff routes and no way to read a tip back: what it does not contain, it cannot serve.
"""

from __future__ import annotations

from flask import Flask

from core import limits
from core.app import create_base_app, csrf
from core.config import Settings
from core.ratelimit import RateLimit, limit_posts
from core.text import linkify, paragraphs
from intake import api, articles, embed, flags, notifications, receipts, sources, tips
from intake.api_access import init_api_access
from intake.web import IntakeRequest


def create_app(settings: Settings | None = None) -> Flask:
    """The public site, built from `settings` (default: the environment)."""
    if settings is None:
        settings = Settings.from_env()
    # The tip key's public half comes from the database (core.tipkeys), not the environment.
    settings.require_secrets("intake_secret_key", "hash_key", "worker_public_key")
    app = create_base_app(
        __name__,
        settings=settings,
        templates="intake",
        secret_key=settings.intake_secret_key,
        cookie_name="tipline_public",
    )
    register_extensions(app, settings)
    register_blueprints(app)
    return app


def register_extensions(app: Flask, settings: Settings) -> None:
    """Request limits, lenient form decoding, rate limits and the template helpers."""
    app.request_class = IntakeRequest
    app.config.update(
        # Anything larger is refused with 413 before it is parsed.
        MAX_CONTENT_LENGTH=limits.INTAKE_MAX_REQUEST_BYTES,
        MAX_FORM_MEMORY_SIZE=limits.INTAKE_MAX_REQUEST_BYTES,
    )
    # One allowance for every form together: alternating between the comment and tip forms
    # gives a sender no more.
    limit_posts(
        app,
        RateLimit(
            settings.submit_rate_limit,
            settings.ratelimit_storage_url,
            settings.ratelimit_prefix,
            scope="submit",
            setting="TIPLINE_SUBMIT_RATE_LIMIT",
        ),
    )
    # Pages without the blank lines that block tags would leave behind.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(linkify)
    app.add_template_global(paragraphs)
    # The JSON API's origins, tokens, CORS headers and read limits.
    init_api_access(app, settings)


def register_blueprints(app: Flask) -> None:
    """The public routes; the language switch and /healthz come from core."""
    for blueprint in (articles.bp, tips.bp, receipts.bp, flags.bp, sources.bp, embed.bp):
        app.register_blueprint(blueprint)
    # Reply notifications' one-click unsubscribe (no account, a signed link).
    app.register_blueprint(notifications.bp)
    # The API reads no cookies, so there is no session for a forged request to ride on;
    # intake.api_access checks Origin or a token on its POSTs instead.
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
