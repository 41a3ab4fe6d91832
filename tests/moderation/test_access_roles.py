"""Roles: walk the staff site's whole URL map and try every route with every role below its own.

The table below is the test's own statement of who may reach what, written independently of the
code that enforces it. A route added without a line here fails the suite, and so does a route a
lower role can reach.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from core.enums import Role
from core.models import StaffUser
from moderation.access import PUBLIC_ENDPOINTS
from tests.moderation.conftest import login, new_client, token_from

M, E, A = Role.moderator, Role.editor, Role.admin

# The lowest role that may reach each endpoint of the staff site.
LOWEST_ROLE: dict[str, Role] = {
    # Everyone on the staff: their own account and the comment desk.
    "auth.logout": M,
    "two_factor.account": M,
    "two_factor.enable": M,
    "two_factor.disable": M,
    "digest_preview.preview": M,
    "digest_settings.preferences": M,
    "account.password": M,
    "submissions.index": M,
    "submissions.queue": M,
    "submissions.show": M,
    "submissions.change": M,
    "counts.counts": M,
    "undo.undo_comment": M,
    "bulk.bulk": M,
    "claims.renew": M,
    "notes.add": M,
    "featuring.feature": M,
    "featuring.unfeature": M,
    "bans.index": M,
    "bans.ban": M,
    "bans.lift": M,
    "tuning.model": M,
    "tuning.false_positive_list": M,
    "tuning.checks": M,
    "stats.index": M,
    # Tips are for editors.
    "tips.index": E,
    "tips.show": E,
    "tip_files.download": E,
    "tips.change": E,
    "tips.assign": E,
    "tips.add_label": E,
    "tips.remove_label": E,
    "tips.star": E,
    "tips.keep": E,
    "tips.mark_unread": E,
    "tips.add_note": E,
    "undo.undo_tip": E,
    "tip_replies.reply": E,
    # The newsroom's rules and its record are for admins.
    "lists.index": A,
    "lists.add": A,
    "lists.remove": A,
    "lists.try_it": A,
    "audit.index": A,
    "audit.export": A,
    "settings.index": A,
    "settings.update": A,
    "settings.articles": A,
    "settings.article_mode": A,
    "settings.staff": A,
    "settings.staff_create": A,
    "settings.staff_role": A,
    "settings.staff_deactivate": A,
    "settings.staff_reactivate": A,
    "settings.staff_reset_two_factor": A,
    "unsubscribe.deliveries": A,
    "embed_settings.index": A,
    "embed_settings.save_origins": A,
    "embed_settings.add_token": A,
    "embed_settings.confirm_revoke": A,
    "embed_settings.revoke": A,
    "embed_settings.add_webhook": A,
    "embed_settings.disable_webhook": A,
    "embed_settings.enable_webhook": A,
    "embed_settings.confirm_delete_webhook": A,
    "embed_settings.delete_webhook": A,
}


def _url(app: Flask, endpoint: str, arguments: set[str]) -> str:
    with app.test_request_context():
        values = {name: ("banned_words" if name == "list_name" else 1) for name in arguments}
        return url_for(endpoint, **values)


def _routes(app: Flask) -> list[tuple[str, str, bool]]:
    """(endpoint, url, is_get) for every route that needs a login."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        routes.append(
            (rule.endpoint, _url(app, rule.endpoint, rule.arguments), "GET" in (rule.methods or ()))
        )
    return routes


def test_every_route_has_a_declared_role(moderation_app: Flask) -> None:
    undeclared = sorted({endpoint for endpoint, _, _ in _routes(moderation_app)} - set(LOWEST_ROLE))
    assert undeclared == [], f"declare who may reach these in LOWEST_ROLE: {undeclared}"


@pytest.mark.parametrize("role", [M, E])
def test_no_route_is_reachable_by_a_role_below_its_own(
    moderation_app: Flask, make_staff: Callable[..., StaffUser], role: Role
) -> None:
    make_staff(f"{role.value}@example.org", role)
    client: FlaskClient = new_client(moderation_app)
    login(client, f"{role.value}@example.org")
    token = token_from(client, "/queue")
    reached = []
    for endpoint, url, is_get in _routes(moderation_app):
        needed = LOWEST_ROLE.get(endpoint, A)
        if list(Role).index(role) >= list(Role).index(needed):
            continue
        if is_get:
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, "to": "published"})
        if response.status_code != 403:
            reached.append((endpoint, response.status_code))
    assert reached == []
