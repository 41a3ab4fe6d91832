"""The staff site: login, the comment queue, submissions' pages, decisions and tips."""

from __future__ import annotations

from flask import Flask

from core.app import create_base_app
from core.config import Settings
from core.enums import Kind
from moderation import (
    access,
    account,
    audit,
    auth,
    bans,
    bulk,
    claims,
    counts,
    digest_preview,
    digest_settings,
    display,
    embed_settings,
    featuring,
    lists,
    notes,
    preference_link,
    stats,
    submissions,
    tip_files,
    tip_replies,
    tips,
    tuning,
    two_factor,
    undo,
    unsubscribe,
)
from moderation import settings as settings_pages


def create_app(settings: Settings | None = None) -> Flask:
    """The staff site's Flask app, from `settings` or the environment."""
    if settings is None:
        settings = Settings.from_env()
        # hash_key keys the login rate limit; without it no one could log in.
        settings.require_secrets("moderation_secret_key", "hash_key")
    app = create_base_app(
        __name__,
        settings=settings,
        templates="moderation",
        secret_key=settings.moderation_secret_key,
        cookie_name="tipline_staff",
    )
    auth.init_auth(app, settings)
    access.init_access(app)
    register_blueprints(app)
    register_template_helpers(app)
    return app


def register_blueprints(app: Flask) -> None:
    """The staff site's pages."""
    app.register_blueprint(auth.bp)
    app.register_blueprint(submissions.bp)
    app.register_blueprint(tips.bp)
    app.register_blueprint(tip_files.bp)
    app.register_blueprint(tip_replies.bp)
    app.register_blueprint(bans.bp)
    app.register_blueprint(lists.bp)
    app.register_blueprint(tuning.bp)
    app.register_blueprint(stats.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(undo.bp)
    app.register_blueprint(counts.bp)
    app.register_blueprint(bulk.bp)
    app.register_blueprint(claims.bp)
    app.register_blueprint(notes.bp)
    app.register_blueprint(featuring.bp)
    app.register_blueprint(settings_pages.bp)
    app.register_blueprint(embed_settings.bp)
    app.register_blueprint(two_factor.bp)
    app.register_blueprint(digest_preview.bp)
    app.register_blueprint(digest_settings.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(unsubscribe.bp)
    app.register_blueprint(preference_link.bp)


def register_template_helpers(app: Flask) -> None:
    """Labels, times and counts the templates show."""
    app.jinja_env.globals.update(
        status_label=display.status_label,
        action_label=display.action_label,
        verdict_label=display.verdict_label,
        role_label=display.role_label,
        decision_label=display.decision_label,
        flag_reason_label=display.flag_reason_label,
        flag_outcome_label=display.flag_outcome_label,
        actor_label=display.actor_label,
        check_reason=display.check_reason,
        check_label=display.check_label,
        score=display.score,
        age=display.age,
        when=display.when,
        comment_counts=lambda: counts.request_counts(Kind.comment),
        tip_counts=lambda: counts.request_counts(Kind.tip),
    )
