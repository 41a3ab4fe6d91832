"""Settings → Embed & API: allowed origins, the snippet, API tokens and webhooks; admins only."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.api_tokens import find_token
from core.config import Settings
from core.db import Base, utcnow
from core.enums import DeliveryStatus, Role, Status
from core.models import (
    ApiToken,
    AuditEvent,
    StaffUser,
    Submission,
    WebhookDelivery,
    WebhookEndpoint,
)
from core.site_settings import load
from tests.intake.helpers import html
from tests.moderation.conftest import login, new_client, token_from

PAGE = "/settings/embed"


@pytest.fixture
def admin(make_staff: Callable[..., StaffUser]) -> StaffUser:
    """An admin account."""
    return make_staff("admin@example.org", Role.admin)


@pytest.fixture
def as_admin(client: FlaskClient, admin: StaffUser) -> FlaskClient:
    """The client, logged in as the admin."""
    login(client, admin.email)
    return client


def _post(client: FlaskClient, path: str, **data: str) -> str:
    data = {"csrf_token": token_from(client, PAGE), **data}
    return html(client.post(path, data=data, follow_redirects=True))


def _audit(session: Session, action: str) -> list[str]:
    reasons = list(
        session.scalars(
            select(AuditEvent.reason).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )
    session.commit()
    return reasons


def _everything_stored(session: Session) -> str:
    """Every value of every row of every table, as one text."""
    session.expire_all()
    parts = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            parts.append(repr(tuple(row)))
    session.commit()
    return "\n".join(parts)


@pytest.mark.parametrize("role", [Role.moderator, Role.editor])
def test_only_admins_reach_the_page_and_its_actions(
    moderation_app: Flask, make_staff: Callable[..., StaffUser], role: Role, session: Session
) -> None:
    make_staff(f"{role.value}@example.org", role)
    client = new_client(moderation_app)
    login(client, f"{role.value}@example.org")
    csrf = token_from(client, "/queue")

    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/tokens/1/revoke").status_code == 403
    for path in ("/origins", "/tokens", "/webhooks", "/webhooks/1/disable", "/webhooks/1/delete"):
        data = {"csrf_token": csrf, "name": "CMS", "url": "https://x.example", "embed_origins": ""}
        assert client.post(PAGE + path, data=data).status_code == 403, path
    assert 'href="/settings/embed"' not in html(client.get("/queue"))
    assert session.scalars(select(ApiToken)).all() == []
    assert session.scalars(select(WebhookEndpoint)).all() == []
    session.commit()


def test_the_page_explains_origins_and_shows_the_snippet(
    as_admin: FlaskClient, settings: Settings
) -> None:
    page = html(as_admin.get(PAGE))

    assert '<a href="/settings/embed" aria-current="page">Embed & API</a>' in page
    assert "https://www.example.com" in page  # the example of an origin
    public = settings.intake_url
    assert "&lt;div id=&#34;tipline-comments&#34;&gt;&lt;/div&gt;" in page
    assert (
        f"&lt;script src=&#34;{public}/embed.js&#34; data-article=&#34;ARTICLE-KEY&#34; async&gt;"
        in page
    )
    assert f"&lt;noscript&gt;&lt;a href=&#34;{public}/articles/ARTICLE-KEY&#34;&gt;" in page
    assert "Read and write comments" in page
    for name in ("data-url", "data-title", "data-lang", "--tipline-accent", "--tipline-spacing"):
        assert name in page
    assert f'href="{public}/api/v1/openapi.json"' in page
    assert "Tipline-Signature" in page and "Tipline-Delivery" in page


def test_origins_are_normalised_saved_and_audited(as_admin: FlaskClient, session: Session) -> None:
    page = _post(
        as_admin,
        f"{PAGE}/origins",
        embed_origins="HTTPS://WWW.Example.com:443/\n\nhttp://localhost:8080\nhttps://www.example.com",
    )

    assert "Allowed origins saved." in page
    stored = load(session).embed_origins
    session.commit()
    assert stored == "https://www.example.com\nhttp://localhost:8080"
    assert _audit(session, "setting") == [
        "embed_origins:  → https://www.example.com\nhttp://localhost:8080"
    ]
    assert "https://www.example.com\nhttp://localhost:8080</textarea>" in page


def test_bad_origins_are_named_and_nothing_is_saved(
    as_admin: FlaskClient, session: Session
) -> None:
    response = as_admin.post(
        f"{PAGE}/origins",
        data={
            "csrf_token": token_from(as_admin, PAGE),
            "embed_origins": "https://ok.example.com\nwww.example.com\nhttps://x.example.com/news",
        },
    )

    assert response.status_code == 422
    page = html(response)
    assert "&#39;www.example.com&#39; must start with https:// or http://." in page
    assert "&#39;https://x.example.com/news&#39; must be only a scheme and a host" in page
    assert load(session).embed_origins == ""
    assert _audit(session, "setting") == []


def test_a_token_is_shown_once_and_stored_only_hashed(
    as_admin: FlaskClient, session: Session, settings: Settings
) -> None:
    response = as_admin.post(
        f"{PAGE}/tokens", data={"csrf_token": token_from(as_admin, PAGE), "name": "CMS producción"}
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = html(response)
    match = re.search(r'<code id="new-token-value">(tl_[^<]+)</code>', page)
    assert match, page
    plaintext = match.group(1)
    assert "It will not be shown again." in page
    assert "CMS producción" in page

    # The list shows its name and prefix, never the whole token again.
    later = html(as_admin.get(PAGE))
    assert plaintext not in later
    assert "CMS producción" in later and plaintext[:10] in later
    assert plaintext not in _everything_stored(session)
    assert find_token(session, settings.hash_key, plaintext) is not None
    assert [r for r in _audit(session, "api_token") if r.startswith("created")]


def test_a_token_without_a_name_is_refused(as_admin: FlaskClient, session: Session) -> None:
    response = as_admin.post(
        f"{PAGE}/tokens", data={"csrf_token": token_from(as_admin, PAGE), "name": "  "}
    )

    assert response.status_code == 422
    assert "Give the token a name." in html(response)
    assert session.scalars(select(ApiToken)).all() == []
    session.commit()


def test_revoking_asks_first_then_the_token_stops_working(
    as_admin: FlaskClient, session: Session, settings: Settings
) -> None:
    page = _post(as_admin, f"{PAGE}/tokens", name="CMS")
    plaintext = re.findall(r'<code id="new-token-value">([^<]+)</code>', page)[0]
    token_id = session.scalars(select(ApiToken.id)).one()
    session.commit()

    confirm = as_admin.get(f"{PAGE}/tokens/{token_id}/revoke")
    assert confirm.status_code == 200
    assert "Revoke the API token “CMS”?" in html(confirm)
    assert find_token(session, settings.hash_key, plaintext) is not None  # asking changed nothing

    done = as_admin.post(
        f"{PAGE}/tokens/{token_id}/revoke",
        data={"csrf_token": token_from(as_admin, PAGE)},
        follow_redirects=True,
    )
    assert "Token revoked." in html(done)
    assert "revoked" in html(done)
    assert find_token(session, settings.hash_key, plaintext) is None
    assert as_admin.get(f"{PAGE}/tokens/{token_id}/revoke").status_code == 404
    assert any(r.startswith("revoked") for r in _audit(session, "api_token"))


def test_a_webhook_shows_its_secret_once(as_admin: FlaskClient, session: Session) -> None:
    response = as_admin.post(
        f"{PAGE}/webhooks",
        data={"csrf_token": token_from(as_admin, PAGE), "url": "https://cms.example.com/hook"},
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    match = re.search(r'<code id="new-secret-value">(whsec_[^<]+)</code>', html(response))
    assert match
    secret = match.group(1)
    assert session.scalars(select(WebhookEndpoint.secret)).one() == secret
    session.commit()
    later = html(as_admin.get(PAGE))
    assert secret not in later
    assert "https://cms.example.com/hook" in later
    assert _audit(session, "webhook") == ["added https://cms.example.com/hook"]


def test_webhook_urls_are_checked_and_plain_http_is_flagged(
    as_admin: FlaskClient, session: Session
) -> None:
    bad = as_admin.post(
        f"{PAGE}/webhooks",
        data={"csrf_token": token_from(as_admin, PAGE), "url": "ftp://cms.example.com/hook"},
    )
    assert bad.status_code == 422
    assert "The URL must start with https:// (or http://) and name a host." in html(bad)

    page = _post(as_admin, f"{PAGE}/webhooks", url="http://cms.example.com/hook")
    assert "not encrypted" in page
    local = _post(as_admin, f"{PAGE}/webhooks", url="http://localhost:9000/hook")
    assert local.count("not encrypted") == 1  # the first one only
    assert len(session.scalars(select(WebhookEndpoint)).all()) == 2
    session.commit()


def test_disable_enable_and_delete_a_webhook(as_admin: FlaskClient, session: Session) -> None:
    _post(as_admin, f"{PAGE}/webhooks", url="https://cms.example.com/hook")
    endpoint_id = session.scalars(select(WebhookEndpoint.id)).one()
    session.commit()

    page = html(
        as_admin.post(
            f"{PAGE}/webhooks/{endpoint_id}/disable",
            data={"csrf_token": token_from(as_admin, PAGE)},
            follow_redirects=True,
        )
    )
    assert "Webhook disabled." in page and "<td>disabled</td>" in page
    page = html(
        as_admin.post(
            f"{PAGE}/webhooks/{endpoint_id}/enable",
            data={"csrf_token": token_from(as_admin, PAGE)},
            follow_redirects=True,
        )
    )
    assert "Webhook enabled." in page
    assert "Delete the webhook https://cms.example.com/hook?" in html(
        as_admin.get(f"{PAGE}/webhooks/{endpoint_id}/delete")
    )
    page = html(
        as_admin.post(
            f"{PAGE}/webhooks/{endpoint_id}/delete",
            data={"csrf_token": token_from(as_admin, PAGE)},
            follow_redirects=True,
        )
    )
    assert "Webhook deleted." in page and "No webhooks yet." in page
    assert session.scalars(select(WebhookEndpoint)).all() == []
    session.commit()
    assert _audit(session, "webhook") == [
        "added https://cms.example.com/hook",
        "disabled https://cms.example.com/hook",
        "enabled https://cms.example.com/hook",
        "deleted https://cms.example.com/hook",
    ]


def test_actions_without_the_csrf_token_are_refused(
    as_admin: FlaskClient, session: Session
) -> None:
    for path in ("/origins", "/tokens", "/webhooks", "/tokens/1/revoke", "/webhooks/1/delete"):
        data = {"name": "CMS", "url": "https://x.example", "embed_origins": "https://x.example"}
        assert as_admin.post(PAGE + path, data=data).status_code == 400, path
    assert session.scalars(select(ApiToken)).all() == []
    session.commit()


def test_recent_deliveries_show_their_failures(
    as_admin: FlaskClient,
    session: Session,
    make_comment: Callable[..., Submission],
) -> None:
    comment = make_comment(status=Status.published)
    _post(as_admin, f"{PAGE}/webhooks", url="https://cms.example.com/hook")
    endpoint_id = session.scalars(select(WebhookEndpoint.id)).one()
    session.add(
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event="comment.published",
            submission_id=comment.id,
            status=DeliveryStatus.failed,
            attempts=8,
            last_error="HTTP 502 from the endpoint",
            created_at=utcnow(),
        )
    )
    session.commit()

    page = html(as_admin.get(PAGE))

    assert "comment.published" in page
    assert f'href="/submissions/{comment.id}"' in page
    assert "HTTP 502 from the endpoint" in page
    assert "Failed" in page
