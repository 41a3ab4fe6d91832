"""Who may call the JSON API: allowed origins (CORS), tokens, forged posts, rate limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.api_tokens import create_token, revoke_token
from core.config import Settings
from intake import create_app
from tests.intake.api_helpers import OTHER, OUTLET, Thread, add_thread, allow, get_json, post_json

COMMENT = {"name": "Ana", "body": "Muy buen reportaje sobre la zafra."}
REFUSED = "This site is not allowed to embed comments."


@pytest.fixture
def client(intake_app: Flask, session: Session) -> Iterator[FlaskClient]:
    """A client of the public site, which lets OUTLET embed threads."""
    allow(session, OUTLET)
    yield intake_app.test_client()


@pytest.fixture
def thread(session: Session) -> Thread:
    """An article with comments and replies."""
    return add_thread(session)


def _app(settings: Settings, session: Session, **overrides: object) -> FlaskClient:
    allow(session, OUTLET)
    return create_app(settings.with_overrides(**overrides)).test_client()


# --- CORS --------------------------------------------------------------------------------------


def test_allowed_origin_gets_cors_headers(client: FlaskClient, thread: Thread) -> None:
    response = get_json(client, "/articles/la-zafra/comments")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == OUTLET
    assert "Origin" in response.headers["Vary"]
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/articles/la-zafra/comments"),
        ("GET", "/counts?key=la-zafra"),
        ("GET", "/openapi.json"),
        ("POST", "/articles/la-zafra/comments"),
        ("POST", "/articles"),
        ("OPTIONS", "/articles/la-zafra/comments"),
    ],
)
@pytest.mark.parametrize("origin", [OTHER, "null", "https://www.outlet.example.evil.example"])
def test_disallowed_origin_is_refused_everywhere(
    client: FlaskClient, thread: Thread, method: str, path: str, origin: str
) -> None:
    separator = "&" if "?" in path else "?"
    response = client.open(
        f"/api/v1{path}{separator}locale=en",
        method=method,
        json=COMMENT if method == "POST" else None,
        headers={"Origin": origin},
    )
    assert response.status_code == 403
    assert response.get_json() == {"error": REFUSED}
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_of_an_allowed_origin(client: FlaskClient) -> None:
    response = client.options(
        "/api/v1/articles/la-zafra/comments",
        headers={
            "Origin": OUTLET,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == OUTLET
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type, Authorization"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_the_public_sites_own_origin_is_always_allowed(
    settings: Settings, session: Session, thread: Thread
) -> None:
    client = _app(settings, session, intake_url="https://comentarios.example:8443")
    response = get_json(client, "/counts?key=la-zafra", origin="https://comentarios.example:8443")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://comentarios.example:8443"


def test_a_change_of_the_list_takes_effect_without_a_restart(
    intake_app: Flask, session: Session, thread: Thread
) -> None:
    from intake.api_access import ORIGINS_EXTENSION

    allow(session, OUTLET)
    client = intake_app.test_client()
    assert get_json(client, "/counts?key=a", origin=OTHER).status_code == 403
    allow(session, OUTLET, OTHER)
    intake_app.extensions[ORIGINS_EXTENSION].forget()  # what the TTL does in a few seconds
    assert get_json(client, "/counts?key=a", origin=OTHER).status_code == 200


# --- forged posts and tokens -------------------------------------------------------------------


def test_post_without_origin_or_token_is_refused(client: FlaskClient, thread: Thread) -> None:
    response = post_json(client, "/articles/la-zafra/comments?locale=en", COMMENT, origin=None)
    assert response.status_code == 403
    assert "API token" in response.get_json()["error"]


def test_reads_need_no_origin(client: FlaskClient, thread: Thread) -> None:
    response = get_json(client, "/articles/la-zafra/comments", origin=None)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_token_posts_without_origin_and_revoked_token_is_refused(
    client: FlaskClient, thread: Thread, session: Session, settings: Settings
) -> None:
    token, plaintext = create_token(session, settings.hash_key, "CMS", None)
    accepted = post_json(
        client, "/articles/la-zafra/comments", COMMENT, origin=None, token=plaintext
    )
    assert accepted.status_code == 201
    assert revoke_token(session, token.id, None)
    refused = post_json(
        client, "/articles/la-zafra/comments?locale=en", COMMENT, origin=None, token=plaintext
    )
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "This API token is not valid or was revoked."
    # Nor does a made-up one pass, even for reads.
    forged = get_json(client, "/counts?key=la-zafra", origin=None, Authorization="Bearer tl_forged")
    assert forged.status_code == 403


# --- rate limits -------------------------------------------------------------------------------


def test_reads_beyond_the_limit_get_429_json_with_retry_after(
    settings: Settings, session: Session, thread: Thread
) -> None:
    client = _app(settings, session, api_read_rate_limit="3 per minute")
    for _ in range(3):
        assert get_json(client, "/counts?key=la-zafra").status_code == 200
    response = get_json(client, "/articles/la-zafra/comments?locale=en")
    assert response.status_code == 429
    assert response.mimetype == "application/json"
    assert response.get_json()["error"].startswith("You have sent too much")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # A page on another site can read the refusal, and wait.
    assert response.headers["Access-Control-Allow-Origin"] == OUTLET


def test_token_holders_are_not_read_limited(
    settings: Settings, session: Session, thread: Thread
) -> None:
    client = _app(settings, session, api_read_rate_limit="2 per minute")
    plaintext = create_token(session, settings.hash_key, "CMS", None)[1]
    headers = {"Authorization": f"Bearer {plaintext}"}
    for _ in range(5):
        assert get_json(client, "/counts?key=la-zafra", origin=None, **headers).status_code == 200


def test_posts_beyond_the_submit_allowance_get_429_json(
    settings: Settings, session: Session, thread: Thread
) -> None:
    client = _app(settings, session, submit_rate_limit="2 per minute")
    for _ in range(2):
        assert post_json(client, "/articles/la-zafra/comments", COMMENT).status_code == 201
    response = post_json(client, "/articles/la-zafra/comments", COMMENT)
    assert response.status_code == 429
    assert response.get_json()["error"]
    assert int(response.headers["Retry-After"]) >= 1


def test_readers_are_served_when_the_limit_store_is_down(
    settings: Settings, session: Session, thread: Thread
) -> None:
    client = _app(
        settings,
        session,
        ratelimit_storage_url="redis://127.0.0.1:1/0",
        api_read_rate_limit="3 per minute",
    )
    # Nobody is refused for Redis being down: the process counts in its own memory meanwhile.
    for _ in range(3):
        assert get_json(client, "/counts?key=la-zafra").status_code == 200
    assert get_json(client, "/counts?key=la-zafra").status_code == 429
