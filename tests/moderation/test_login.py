"""Logging in and out of the staff site: sessions, audit rows, redirects, the rate limit."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.enums import Role
from core.models import AuditEvent, StaffUser
from core.staff import set_password
from moderation import create_app
from tests.moderation.conftest import PASSWORD, login, new_client, token_from
from tests.support import csrf_token

WRONG = "The e-mail or password is wrong."


def _audit(session: Session) -> list[AuditEvent]:
    events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    session.commit()  # SQLite transactions take the write lock: never leave one open
    return events


def test_logged_out_visitor_is_sent_to_login_and_back_after(
    client: FlaskClient, moderator: StaffUser, session: Session
) -> None:
    response = client.get("/queue?status=spam")
    assert response.status_code == 303
    assert response.location == "/login?next=/queue?status%3Dspam"

    response = login(client, "MOD@example.org ", next_="/queue?status%3Dspam")
    assert response.status_code == 303
    assert response.location == "/queue?status=spam"
    page = client.get("/queue?status=spam")
    assert page.status_code == 200
    assert "mod@example.org" in page.text and "Moderator" in page.text

    events = _audit(session)
    assert [(e.action, e.actor_label, e.actor_id) for e in events] == [
        ("login", "mod@example.org", moderator.id)
    ]
    last_login = session.scalar(select(StaffUser.last_login_at).where(StaffUser.id == moderator.id))
    session.commit()
    assert last_login is not None


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient, moderator: StaffUser) -> None:
    response = login(client, "mod@example.org")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("tipline_staff=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    assert "Retry-After" not in response.headers


def test_session_cookie_is_secure_when_configured(settings: Settings, moderator: StaffUser) -> None:
    app = create_app(settings.with_overrides(secure_cookies=True))
    client = new_client(app)
    base, referer = "https://staff.example", {"Referer": "https://staff.example/"}
    token = csrf_token(client.get("/login", base_url=base, headers=referer).text)
    response = client.post(
        "/login",
        data={"csrf_token": token, "email": "mod@example.org", "password": PASSWORD},
        base_url=base,
        headers=referer,
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    ("email", "password"),
    [("mod@example.org", "not the password!"), ("nobody@example.org", PASSWORD)],
)
def test_failed_login_says_the_same_thing_and_is_audited(
    client: FlaskClient, moderator: StaffUser, session: Session, email: str, password: str
) -> None:
    response = login(client, email, password)
    assert response.status_code == 200
    assert WRONG in response.text
    assert 'role="alert"' in response.text
    assert client.get("/queue").status_code == 303  # still logged out

    events = _audit(session)
    # The account that was tried is named; what was typed for an unknown one is not kept (it
    # may be a password typed into the wrong field).
    expected = (email, moderator.id) if email == moderator.email else ("(unknown account)", None)
    assert [(e.action, e.actor_label, e.actor_id) for e in events] == [("login_failed", *expected)]
    # No address of the client is kept anywhere in the row.
    row = events[0]
    assert "127.0.0.1" not in f"{row.actor_label}{row.reason}{row.from_status}{row.to_status}"


def test_empty_fields_get_field_errors_and_no_audit_row(
    client: FlaskClient, session: Session
) -> None:
    token = token_from(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "email": "", "password": ""})
    assert response.status_code == 200
    assert "Enter your e-mail address." in response.text
    assert 'aria-describedby="email-error"' in response.text
    assert _audit(session) == []


def test_inactive_account_cannot_log_in(
    client: FlaskClient, moderator: StaffUser, session: Session
) -> None:
    moderator.is_active = False
    session.commit()
    response = login(client, "mod@example.org")
    assert WRONG in response.text
    assert client.get("/queue").status_code == 303
    assert [e.action for e in _audit(session)] == ["login_failed"]


def test_deactivating_or_changing_password_ends_sessions(
    moderation_app: Flask,
    make_staff: Callable[..., StaffUser],
    session: Session,
) -> None:
    ana = make_staff("ana@example.org")
    luis = make_staff("luis@example.org")
    ana_client, luis_client = new_client(moderation_app), new_client(moderation_app)
    login(ana_client, "ana@example.org")
    login(luis_client, "luis@example.org")
    assert ana_client.get("/queue").status_code == 200
    assert luis_client.get("/queue").status_code == 200

    set_password(ana, "another long password")
    luis.is_active = False
    session.commit()

    assert ana_client.get("/queue").status_code == 303
    assert luis_client.get("/queue").status_code == 303


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"],
)
def test_login_never_redirects_off_site(
    client: FlaskClient, moderator: StaffUser, target: str
) -> None:
    response = login(client, "mod@example.org", next_=target)
    assert response.status_code == 303
    assert response.location == "/"


def test_logout_is_a_post_and_ends_the_session(client: FlaskClient, moderator: StaffUser) -> None:
    login(client, "mod@example.org")
    assert client.get("/logout").status_code == 405
    token = token_from(client, "/queue")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.location == "/login"
    assert "You are logged out." in client.get("/login").text
    assert client.get("/queue").status_code == 303


def test_logout_without_csrf_token_is_refused(client: FlaskClient, moderator: StaffUser) -> None:
    login(client, "mod@example.org")
    assert client.post("/logout").status_code == 400
    assert client.get("/queue").status_code == 200


def test_too_many_login_attempts_get_429_with_retry_after(
    settings: Settings, moderator: StaffUser, session: Session
) -> None:
    app = create_app(settings.with_overrides(login_rate_limit="3 per minute"))
    client = new_client(app)
    for _ in range(3):
        assert WRONG in login(client, "mod@example.org", "wrong password!!").text

    response = login(client, "mod@example.org")  # even the right password waits
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 60
    assert "Too many requests" in response.text
    assert client.get("/queue").status_code == 303
    # The form itself still loads: only the POST is limited.
    assert client.get("/login").status_code == 200
    assert [e.action for e in _audit(session)] == ["login_failed"] * 3


def test_login_works_when_the_rate_limit_storage_is_down(
    settings: Settings, moderator: StaffUser
) -> None:
    app = create_app(settings.with_overrides(ratelimit_storage_url="redis://127.0.0.1:1/0"))
    client = new_client(app)
    response = login(client, "mod@example.org")
    assert response.status_code == 303
    assert client.get("/queue").status_code == 200


def test_already_logged_in_user_skips_the_form(client: FlaskClient, moderator: StaffUser) -> None:
    login(client, "mod@example.org")
    response = client.get("/login")
    assert response.status_code == 303 and response.location == "/"


def test_roles_show_in_the_header(
    client: FlaskClient, make_staff: Callable[..., StaffUser]
) -> None:
    make_staff("ed@example.org", Role.editor)
    login(client, "ed@example.org")
    assert "ed@example.org · Editor" in client.get("/queue").text
