"""The admins' settings pages: moderation settings, articles' modes, staff accounts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.enums import Premoderation, Role
from core.models import Article, AuditEvent, StaffUser
from core.site_settings import load
from tests.intake.api_helpers import OUTLET, add_thread, allow, get_json, post_json
from tests.intake.helpers import html, token
from tests.moderation.conftest import PASSWORD, login, new_client, token_from


def _audit(session: Session, action: str) -> list[tuple[str, str]]:
    rows = session.execute(
        select(AuditEvent.actor_label, AuditEvent.reason)
        .where(AuditEvent.action == action)
        .order_by(AuditEvent.id)
    ).all()
    session.commit()
    return [(label, reason) for label, reason in rows]


def _fresh(session: Session, model: type, key: object) -> object:
    session.expire_all()
    found = session.get(model, key)
    session.commit()
    return found


@pytest.fixture
def admin(make_staff: Callable[..., StaffUser]) -> StaffUser:
    """An admin account."""
    return make_staff("admin@example.org", Role.admin)


@pytest.fixture
def as_admin(client: FlaskClient, admin: StaffUser) -> FlaskClient:
    """The client, logged in as the admin."""
    login(client, admin.email)
    return client


def _settings_routes(app: Flask) -> list[tuple[str, bool]]:
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith("settings."):
                values: dict[str, Any] = {name: 1 for name in rule.arguments}
                url = url_for(rule.endpoint, **values)
                routes.append((url, "GET" in (rule.methods or ())))
    return routes


@pytest.mark.parametrize("role", [Role.moderator, Role.editor])
def test_only_admins_reach_any_settings_page(
    moderation_app: Flask, make_staff: Callable[..., StaffUser], role: Role, session: Session
) -> None:
    make_staff(f"{role.value}@example.org", role)
    client = new_client(moderation_app)
    login(client, f"{role.value}@example.org")
    csrf = token_from(client, "/queue")
    routes = _settings_routes(moderation_app)
    assert len(routes) >= 10
    for url, is_get in routes:
        if is_get:
            response = client.get(url)
        else:
            response = client.post(
                url, data={"csrf_token": csrf, "role": "admin", "mode": "closed", "email": "x@y.z"}
            )
        assert response.status_code == 403, url
    assert 'href="/settings"' not in client.get("/queue").text
    assert _audit(session, "setting") == [] and _audit(session, "staff") == []


def test_admin_sees_the_settings_link_and_the_current_values(as_admin: FlaskClient) -> None:
    assert 'href="/settings"' in as_admin.get("/queue").text
    page = as_admin.get("/settings").text
    assert re.search(r'<option selected value="off">', page)
    assert re.search(r'name="flag_threshold"[^>]*value="1"', page)
    assert re.search(r'name="auto_close_days"[^>]*value="0"', page)


def test_each_setting_saves_and_is_audited(as_admin: FlaskClient, session: Session) -> None:
    csrf = token_from(as_admin, "/settings")
    response = as_admin.post(
        "/settings",
        data={
            "csrf_token": csrf,
            "premoderation": "new_commenters",
            "flag_threshold": "3",
            "auto_close_days": "30",
            "tip_retention_days": "90",
            "codename_days": "30",
            "require_totp": "y",
        },
    )
    assert response.status_code == 303
    # Two-factor login is now required, and this admin has none yet: set-up comes first.
    page = as_admin.get(response.location, follow_redirects=True)
    assert page.request.path == "/account/two-factor"
    assert "Settings saved." in page.text
    assert "Admins require two-factor login for every staff account" in page.text
    current = load(session)
    session.commit()
    assert current.premoderation is Premoderation.new_commenters
    assert (current.flag_threshold, current.auto_close_days, current.require_totp) == (3, 30, True)
    assert _audit(session, "setting") == [
        ("admin@example.org", "premoderation: off → new_commenters"),
        ("admin@example.org", "flag_threshold: 1 → 3"),
        ("admin@example.org", "auto_close_days: 0 → 30"),
        ("admin@example.org", "require_totp: False → True"),
    ]
    assert as_admin.get("/audit").location == "/account/two-factor"
    # Once this admin has a second factor, the rest of the site opens again.
    admin = session.scalars(select(StaffUser).where(StaffUser.email == "admin@example.org")).one()
    admin.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    session.commit()
    assert "setting changed" in as_admin.get("/audit").text

    # The unticked box turns two-factor off again; unchanged values write no audit row.
    response = as_admin.post(
        "/settings",
        data={
            "csrf_token": csrf,
            "premoderation": "new_commenters",
            "flag_threshold": "3",
            "auto_close_days": "30",
            "tip_retention_days": "90",
            "codename_days": "30",
        },
    )
    assert response.status_code == 303
    assert load(session).require_totp is False
    session.commit()
    assert len(_audit(session, "setting")) == 5


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("flag_threshold", "0", "Enter a number from 1 to 100."),
        ("flag_threshold", "101", "Enter a number from 1 to 100."),
        ("flag_threshold", "tres", "Not a valid integer value."),
        ("auto_close_days", "-1", "Enter a number from 0 to 3650."),
        ("auto_close_days", "3651", "Enter a number from 0 to 3650."),
        ("auto_close_days", "", "Enter a number."),
        ("tip_retention_days", "-1", "Enter a number from 0 to 3650."),
        ("tip_retention_days", "", "Enter a number."),
        ("codename_days", "0", "Enter a number from 1 to 3650."),
        ("codename_days", "3651", "Enter a number from 1 to 3650."),
        ("premoderation", "everything", "Not a valid choice"),
    ],
)
def test_bad_values_get_form_errors_and_change_nothing(
    as_admin: FlaskClient, session: Session, field: str, value: str, message: str
) -> None:
    data = {
        "csrf_token": token_from(as_admin, "/settings"),
        "premoderation": "all",
        "flag_threshold": "2",
        "auto_close_days": "7",
        "tip_retention_days": "90",
        "codename_days": "30",
    }
    data[field] = value
    response = as_admin.post("/settings", data=data)
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert load(session).premoderation is Premoderation.off
    session.commit()
    assert _audit(session, "setting") == []


def test_retention_settings_show_save_and_are_audited(
    as_admin: FlaskClient, session: Session
) -> None:
    page = as_admin.get("/settings").text
    assert re.search(r'name="tip_retention_days"[^>]*value="90"', page)
    assert re.search(r'name="codename_days"[^>]*value="30"', page)
    data = {
        "csrf_token": token_from(as_admin, "/settings"),
        "premoderation": "off",
        "flag_threshold": "1",
        "auto_close_days": "0",
        "tip_retention_days": "0",
        "codename_days": "60",
    }
    assert as_admin.post("/settings", data=data).status_code == 303
    current = load(session)
    session.commit()
    assert (current.tip_retention_days, current.codename_days) == (0, 60)
    assert _audit(session, "setting") == [
        ("admin@example.org", "tip_retention_days: 90 → 0"),
        ("admin@example.org", "codename_days: 30 → 60"),
    ]


def test_settings_form_without_csrf_token_is_refused(
    as_admin: FlaskClient, session: Session
) -> None:
    response = as_admin.post("/settings", data={"premoderation": "all", "flag_threshold": "1"})
    assert response.status_code == 400
    assert _audit(session, "setting") == []


# --- articles ------------------------------------------------------------------------------


def _articles(session: Session, count: int) -> list[Article]:
    now = utcnow()
    found = []
    for i in range(count):
        article = Article(
            slug=f"nota-{i}", title=f"Nota número {i}", created_at=now - timedelta(hours=i)
        )
        session.add(article)
        found.append(article)
    session.commit()
    return found


def test_articles_are_listed_searched_and_paged(as_admin: FlaskClient, session: Session) -> None:
    _articles(session, 55)
    session.add(Article(slug="apagones", title="Apagones en La Habana"))
    session.commit()

    first = as_admin.get("/settings/articles").text
    assert "Apagones en La Habana" in first and "Next page" in first
    assert "nota-49" not in first  # 50 a page, newest first: the oldest are on the next
    second = as_admin.get("/settings/articles?page=2").text
    assert "nota-54" in second and "Previous page" in second and "Next page" not in second

    found = as_admin.get("/settings/articles?q=habana").text
    assert "Apagones en La Habana" in found and "Nota número" not in found
    assert "No articles match." in as_admin.get("/settings/articles?q=100%25_").text
    assert as_admin.get("/settings/articles?page=abc").status_code == 200


def test_changing_an_article_mode_is_audited_and_closes_it_to_readers(
    as_admin: FlaskClient, session: Session, intake_client: FlaskClient
) -> None:
    session.add(Article(slug="la-zafra", title="La zafra que no fue"))
    session.commit()
    article_id = session.scalar(select(Article.id).where(Article.slug == "la-zafra"))
    session.commit()
    csrf = token_from(as_admin, "/settings/articles")

    response = as_admin.post(
        f"/settings/articles/{article_id}/mode?q=zafra", data={"csrf_token": csrf, "mode": "closed"}
    )
    assert response.status_code == 303
    assert response.location == "/settings/articles?q=zafra"
    page = as_admin.get(response.location).text
    assert "La zafra que no fue: Closed: no new comments." in page
    assert re.search(r'<option value="closed" selected>', page)
    assert _audit(session, "article_mode") == [("admin@example.org", "la-zafra: post → closed")]

    reader_csrf = token(intake_client)
    refused = intake_client.post(
        "/articles/la-zafra",
        data={"csrf_token": reader_csrf, "author_name": "Ana", "body": "¿Y ahora qué?"},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 403
    assert "Comments are closed on this article." in html(refused)

    # The same mode again changes nothing and writes nothing.
    as_admin.post(
        f"/settings/articles/{article_id}/mode", data={"csrf_token": csrf, "mode": "closed"}
    )
    bad = as_admin.post(
        f"/settings/articles/{article_id}/mode", data={"csrf_token": csrf, "mode": "open"}
    )
    assert bad.status_code == 422 and "Choose open, pre-moderated or closed." in bad.text
    missing = as_admin.post(
        "/settings/articles/999999/mode", data={"csrf_token": csrf, "mode": "pre"}
    )
    assert missing.status_code == 404
    assert len(_audit(session, "article_mode")) == 1


# --- staff accounts --------------------------------------------------------------------------


def test_admin_creates_accounts_with_a_chosen_or_generated_password(
    as_admin: FlaskClient, moderation_app: Flask, session: Session
) -> None:
    csrf = token_from(as_admin, "/settings/staff")
    response = as_admin.post(
        "/settings/staff",
        data={"csrf_token": csrf, "email": "Beto@Example.org", "role": "editor", "password": ""},
    )
    assert response.status_code == 200
    shown = re.search(r'<code id="new-password">([^<]+)</code>', response.text)
    assert shown and "shown this once" in response.text
    assert "Account created for beto@example.org." in response.text
    # Shown once: not on the next visit.
    assert 'id="new-password"' not in as_admin.get("/settings/staff").text

    beto = new_client(moderation_app)
    assert login(beto, "beto@example.org", shown.group(1)).status_code == 303
    assert "Tips" in beto.get("/queue").text

    response = as_admin.post(
        "/settings/staff",
        data={
            "csrf_token": csrf,
            "email": "carla@example.org",
            "role": "moderator",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303
    assert 'id="new-password"' not in as_admin.get(response.location).text
    assert _audit(session, "staff") == [
        ("admin@example.org", "beto@example.org: created as editor"),
        ("admin@example.org", "carla@example.org: created as moderator"),
    ]


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("admin@example.org", "", "A staff account with this e-mail already exists."),
        ("not-an-address", "", "Enter an e-mail address."),
        ("dani@example.org", "short", "The password must have at least 12 characters."),
    ],
)
def test_bad_new_accounts_get_form_errors(
    as_admin: FlaskClient, session: Session, email: str, password: str, message: str
) -> None:
    csrf = token_from(as_admin, "/settings/staff")
    response = as_admin.post(
        "/settings/staff",
        data={"csrf_token": csrf, "email": email, "role": "moderator", "password": password},
    )
    assert response.status_code == 422
    assert message in response.text
    assert _audit(session, "staff") == []


def test_role_change_and_deactivation_end_sessions_and_are_audited(
    as_admin: FlaskClient,
    moderation_app: Flask,
    make_staff: Callable[..., StaffUser],
    session: Session,
) -> None:
    mod = make_staff("mod@example.org", Role.moderator)
    other = new_client(moderation_app)
    login(other, "mod@example.org")
    assert other.get("/queue").status_code == 200
    csrf = token_from(as_admin, "/settings/staff")

    response = as_admin.post(
        f"/settings/staff/{mod.id}/role", data={"csrf_token": csrf, "role": "editor"}
    )
    assert response.status_code == 303
    assert "mod@example.org is now Editor." in as_admin.get("/settings/staff").text
    assert other.get("/queue").status_code == 303  # logged out: their session ended

    login(other, "mod@example.org")
    assert other.get("/tips").status_code == 200
    as_admin.post(f"/settings/staff/{mod.id}/deactivate", data={"csrf_token": csrf})
    assert other.get("/queue").status_code == 303
    assert login(other, "mod@example.org").status_code == 200  # refused
    assert "deactivated" in as_admin.get("/settings/staff").text

    as_admin.post(f"/settings/staff/{mod.id}/reactivate", data={"csrf_token": csrf})
    assert login(other, "mod@example.org").status_code == 303
    assert _audit(session, "staff") == [
        ("admin@example.org", "mod@example.org: role moderator → editor"),
        ("admin@example.org", "mod@example.org: deactivated"),
        ("admin@example.org", "mod@example.org: reactivated"),
    ]


def test_the_last_active_admin_cannot_demote_or_deactivate_themselves(
    as_admin: FlaskClient,
    admin: StaffUser,
    make_staff: Callable[..., StaffUser],
    session: Session,
) -> None:
    csrf = token_from(as_admin, "/settings/staff")
    response = as_admin.post(
        f"/settings/staff/{admin.id}/role", data={"csrf_token": csrf, "role": "moderator"}
    )
    assert "The last active admin cannot be demoted" in as_admin.get(response.location).text
    response = as_admin.post(f"/settings/staff/{admin.id}/deactivate", data={"csrf_token": csrf})
    assert "The last active admin cannot be deactivated" in as_admin.get(response.location).text
    assert as_admin.get("/settings").status_code == 200  # still an admin, still logged in
    assert _audit(session, "staff") == []

    # With a second admin, the first may step down.
    make_staff("boss@example.org", Role.admin)
    as_admin.post(f"/settings/staff/{admin.id}/role", data={"csrf_token": csrf, "role": "editor"})
    assert _audit(session, "staff") == [
        ("admin@example.org", "admin@example.org: role admin → editor")
    ]


def test_admin_resets_a_lost_second_factor(
    as_admin: FlaskClient, make_staff: Callable[..., StaffUser], session: Session
) -> None:
    mod = make_staff("mod@example.org", Role.moderator)
    mod.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    session.commit()
    page = as_admin.get("/settings/staff").text
    assert "Reset two-factor login of mod@example.org" in page

    csrf = token_from(as_admin, "/settings/staff")
    response = as_admin.post(
        f"/settings/staff/{mod.id}/reset-two-factor", data={"csrf_token": csrf}
    )
    assert "Two-factor login reset for mod@example.org." in as_admin.get(response.location).text
    reset = _fresh(session, StaffUser, mod.id)
    assert isinstance(reset, StaffUser) and reset.totp_secret is None
    assert _audit(session, "staff") == [
        ("admin@example.org", "mod@example.org: two-factor login reset")
    ]


def test_an_article_closed_in_the_staff_site_is_closed_in_the_embed_at_once(
    as_admin: FlaskClient, session: Session, intake_client: FlaskClient
) -> None:
    # The embed reads the thread from the Redis cache; the mode change must reach it with no
    # wait, and the server must refuse the next post.
    thread = add_thread(session)
    allow(session, OUTLET)
    first = get_json(intake_client, "/articles/la-zafra/comments")
    assert first.get_json()["article"]["status"] == "open"
    cached = get_json(
        intake_client, "/articles/la-zafra/comments", **{"If-None-Match": first.headers["ETag"]}
    )
    assert cached.status_code == 304

    csrf = token_from(as_admin, "/settings/articles")
    for mode, shown in (("pre", "premoderated"), ("closed", "closed")):
        changed = as_admin.post(
            f"/settings/articles/{thread.article.id}/mode", data={"csrf_token": csrf, "mode": mode}
        )
        assert changed.status_code == 303
        again = get_json(intake_client, "/articles/la-zafra/comments")
        assert again.status_code == 200
        assert again.get_json()["article"]["status"] == shown

    refused = post_json(
        intake_client,
        "/articles/la-zafra/comments?locale=en",
        {"name": "Ana", "body": "¿Y ahora qué?"},
    )
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "Comments are closed on this article."
