"""The public app as a whole: what it contains, what it refuses to start without."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask

from core.config import ConfigError, Settings


def test_the_public_site_has_no_staff_routes_and_no_way_to_read_tips(intake_app: Flask) -> None:
    routes = {
        (rule.rule, ",".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})))
        for rule in intake_app.url_map.iter_rules()
    }
    assert routes == {
        ("/", "GET"),
        ("/articles/<slug>", "GET"),
        ("/articles/<slug>", "POST"),
        ("/tip", "GET"),
        ("/tip", "POST"),
        ("/receipts/<ref>", "GET"),
        # A source's way back: the codename shown once, then their page (intake.sources).
        ("/tip/codename", "GET"),
        ("/tip/return", "GET"),
        ("/tip/return", "POST"),
        ("/tip/return/followup", "POST"),
        ("/tip/return/leave", "POST"),
        # Readers' reports of a published comment (intake.flags).
        ("/articles/<slug>/comments/<int:comment_id>/report", "GET"),
        ("/articles/<slug>/comments/<int:comment_id>/report", "POST"),
        ("/articles/<slug>/comments/<int:comment_id>/report/thanks", "GET"),
        # The embed and the JSON API for the outlet's pages (intake.embed, intake.api): they
        # read published threads and take comments and flags, nothing else.
        ("/embed.js", "GET"),
        ("/embed.css", "GET"),
        ("/embed/messages.json", "GET"),
        ("/api/v1/openapi.json", "GET"),
        ("/api/v1/articles", "POST"),
        ("/api/v1/articles/<key>/comments", "GET"),
        ("/api/v1/articles/<key>/comments", "POST"),
        ("/api/v1/comments/<int:comment_id>/replies", "GET"),
        ("/api/v1/comments/<int:comment_id>/flags", "POST"),
        ("/api/v1/counts", "GET"),
        ("/api/v1/receipts/<ref>", "GET"),
        # A commenter's one-click end to reply notifications (intake.notifications).
        ("/notifications/unsubscribe/<token>", "GET"),
        ("/notifications/unsubscribe/<token>", "POST"),
        ("/healthz", "GET"),
        ("/language/<code>", "GET"),
        ("/static/<path:filename>", "GET"),
    }


def test_the_app_refuses_to_start_without_its_secrets(settings: Settings) -> None:
    from intake import create_app

    # The tip key's public half comes from the database (core.tipkeys), not from here.
    for name in ("intake_secret_key", "hash_key", "worker_public_key"):
        empty = b"" if isinstance(getattr(settings, name), bytes) else ""
        with pytest.raises(ConfigError, match=f"TIPLINE_{name.upper()}"):
            create_app(dataclasses.replace(settings, **{name: empty}))


def test_a_malformed_rate_limit_stops_the_start(settings: Settings) -> None:
    from intake import create_app

    with pytest.raises(ConfigError, match="TIPLINE_SUBMIT_RATE_LIMIT"):
        create_app(settings.with_overrides(submit_rate_limit="10000000"))


def test_the_public_site_cannot_open_tips(settings: Settings) -> None:
    # It needs only public keys; the private ones are the staff site's and the worker's.
    from intake import create_app

    without_private = settings.with_overrides(tip_private_key=b"", worker_private_key=b"")
    assert create_app(without_private).name == "intake"
