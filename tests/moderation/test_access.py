"""Deny by default: every page needs a logged-in account; tips need an editor."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import seal
from core.enums import Kind, Role, Status
from core.models import StaffUser, Submission
from moderation.access import PUBLIC_ENDPOINTS
from tests.moderation.conftest import login, token_from


def _url(app: Flask, endpoint: str, arguments: set[str]) -> str:
    with app.test_request_context():
        return url_for(endpoint, **dict.fromkeys(arguments, 1))


def test_every_route_but_the_allowlist_sends_logged_out_visitors_to_login(
    moderation_app: Flask, client: FlaskClient
) -> None:
    # A valid CSRF token, so that what refuses a POST is the login guard, not the CSRF check.
    token = token_from(client, "/login")
    checked = []
    for rule in moderation_app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = _url(moderation_app, rule.endpoint, rule.arguments)
        methods = rule.methods or set()
        if "GET" in methods:
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, "to": "published"})
        assert response.status_code == 303, (rule.endpoint, response.status_code)
        assert response.location.startswith("/login"), (rule.endpoint, response.location)
        checked.append(rule.endpoint)
    assert {"submissions.queue", "submissions.change", "tips.show", "auth.logout"} <= set(checked)
    # Addresses that match no route do not even say whether they exist.
    assert client.get("/admin").location.startswith("/login")


def test_the_allowlisted_endpoints_work_logged_out(client: FlaskClient) -> None:
    assert client.get("/login").status_code == 200
    assert client.get("/static/moderation.css").status_code == 200
    response = client.get("/language/es?next=/login")
    assert response.status_code == 303 and response.location == "/login"


def _tip(session: Session, settings: Settings, text: str) -> Submission:
    sealed = seal(settings.tip_public_key, {"text": text, "contact": "+53 5 555 5555", "name": ""})
    tip = Submission(kind=Kind.tip, status=Status.new, sealed=sealed)
    session.add(tip)
    session.commit()
    return tip


def test_moderators_get_403_on_every_tip_route_and_see_no_tips_link(
    moderation_app: Flask,
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    settings: Settings,
) -> None:
    tip = _tip(session, settings, "El director desvía fondos")
    login(client, "mod@example.org")
    queue = client.get("/queue")
    assert queue.status_code == 200
    assert "/tips" not in queue.text and ">Tips<" not in queue.text

    token = token_from(client, "/queue")
    tip_rules = [r for r in moderation_app.url_map.iter_rules() if r.endpoint.startswith("tips.")]
    assert len(tip_rules) >= 3
    for rule in tip_rules:
        url = _url(moderation_app, rule.endpoint, rule.arguments).replace("/1", f"/{tip.id}")
        if "GET" in (rule.methods or set()):
            response = client.get(url)
        else:
            response = client.post(
                url, data={"csrf_token": token, "to": "in_progress", "version": "1"}
            )
        assert response.status_code == 403, rule.endpoint
        assert "Your account does not have access to this page." in response.text
        assert "El director" not in response.text
    session.expire_all()
    assert session.get(Submission, tip.id).status == Status.new  # type: ignore[union-attr]


def test_editors_and_admins_see_tips(
    client: FlaskClient, make_staff: Callable[..., StaffUser], moderation_app: Flask
) -> None:
    make_staff("ed@example.org", Role.editor)
    make_staff("boss@example.org", Role.admin)
    login(client, "ed@example.org")
    assert ">Tips</a>" in client.get("/queue").text
    assert client.get("/tips").status_code == 200

    other = moderation_app.test_client()
    login(other, "boss@example.org")
    assert other.get("/tips").status_code == 200


def test_comment_routes_do_not_serve_tips(
    client: FlaskClient, make_staff: Callable[..., StaffUser], session: Session, settings: Settings
) -> None:
    tip = _tip(session, settings, "Un soplo")
    make_staff("ed@example.org", Role.editor)
    login(client, "ed@example.org")
    assert client.get(f"/submissions/{tip.id}").status_code == 404
