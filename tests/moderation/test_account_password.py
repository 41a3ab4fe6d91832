"""Changing one's own password: the old one stops working, the tip keys stay, sessions end."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask import session as browser_session
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core import tipkeys
from core.config import Settings
from core.enums import Role
from core.models import AuditEvent, StaffUser, UnlockedTipKeys
from core.staff import MIN_PASSWORD_LENGTH, authenticate
from moderation import create_app
from moderation.tip_access import SESSION_KEY, current_tip_keys
from tests.moderation.conftest import PASSWORD, login, new_client, token_from
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key

NEW = "a new passphrase for spring"
PAGE = "/account/password"


def _change(
    client: FlaskClient, current: str, new: str = NEW, again: str | None = None
) -> TestResponse:
    token = token_from(client, PAGE)
    data = {"csrf_token": token, "current_password": current, "new_password": new}
    data["confirm"] = new if again is None else again
    return client.post(PAGE, data=data)


def _audit(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.reason).order_by(AuditEvent.id)
    ).all()
    session.commit()  # end the read: SQLite's write lock
    return [(a, b, c) for a, b, c in rows]


def _can_log_in(session: Session, email: str, password: str) -> bool:
    session.expire_all()
    ok = authenticate(session, email, password) is not None
    session.rollback()
    return ok


def _session_keys(app: Flask, client: FlaskClient, session: Session, user: StaffUser) -> object:
    """The tip keys the client's login session opens, as the staff site finds them."""
    with client.session_transaction() as cookie:
        secret = cookie.get(SESSION_KEY)
    with app.test_request_context():
        if secret:
            browser_session[SESSION_KEY] = secret
        keys = current_tip_keys(session, user)
    session.commit()
    return keys


def test_the_header_links_to_the_page(client: FlaskClient, moderator: StaffUser) -> None:
    login(client, moderator.email)
    assert f'href="{PAGE}"' in client.get("/queue").text
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Current password" in page.text and "New password again" in page.text


def test_a_change_with_the_right_password_replaces_it(
    client: FlaskClient, moderator: StaffUser, session: Session
) -> None:
    login(client, moderator.email)
    response = _change(client, PASSWORD)
    assert response.status_code == 303 and response.location == PAGE
    page = client.get(PAGE)
    assert page.status_code == 200  # still logged in
    assert "Your password is changed. Your other sessions have ended." in page.text

    email = moderator.email
    assert _can_log_in(session, email, NEW)
    assert not _can_log_in(session, email, PASSWORD)
    fresh = new_client(client.application)
    assert login(fresh, email, PASSWORD).status_code == 200  # the form again
    assert login(fresh, email, NEW).status_code == 303


def test_an_editor_keeps_the_tip_key(moderation_app: Flask, session: Session) -> None:
    editor = make_editor_with_tip_key(session)
    email = editor.email
    expected = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    session.commit()  # end the read: SQLite's write lock
    assert expected
    client = new_client(moderation_app)
    assert login(client, email, EDITOR_PASSWORD).status_code == 303

    assert _change(client, EDITOR_PASSWORD).status_code == 303
    session.expire_all()
    assert tipkeys.unlock(session, editor, NEW) == expected
    assert tipkeys.unlock(session, editor, EDITOR_PASSWORD) == {}
    # This session goes on with its keys (one stored copy: the old one is gone).
    assert _session_keys(moderation_app, client, session, editor) == expected
    assert session.scalar(select(func.count()).select_from(UnlockedTipKeys)) == 1
    session.commit()
    # ...and so does the tips desk, without a new login.
    assert client.get("/tips").status_code == 200

    # A later login with the new password unlocks them too.
    other = new_client(moderation_app)
    assert login(other, email, NEW).status_code == 303
    assert _session_keys(moderation_app, other, session, editor) == expected


def test_a_wrong_current_password_changes_nothing_and_is_audited(
    client: FlaskClient, moderator: StaffUser, session: Session
) -> None:
    email, token = moderator.email, moderator.session_token
    login(client, email)
    response = _change(client, "not my password at all")
    assert response.status_code == 422
    assert "That is not your current password." in response.text
    assert _can_log_in(session, email, PASSWORD)
    assert not _can_log_in(session, email, NEW)
    session.refresh(moderator)
    assert moderator.session_token == token
    session.commit()
    assert client.get(PAGE).status_code == 200  # still logged in
    assert _audit(session)[-1] == ("login_failed", email, "wrong current password")


def test_an_editor_who_types_a_wrong_password_keeps_the_key(
    moderation_app: Flask, session: Session
) -> None:
    editor = make_editor_with_tip_key(session)
    email = editor.email
    expected = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    session.commit()  # end the read: SQLite's write lock
    client = new_client(moderation_app)
    login(client, email, EDITOR_PASSWORD)
    assert _change(client, "not my password at all").status_code == 422
    session.expire_all()
    assert tipkeys.unlock(session, editor, EDITOR_PASSWORD) == expected
    assert _session_keys(moderation_app, client, session, editor) == expected


def test_the_new_password_is_checked(
    client: FlaskClient, moderator: StaffUser, session: Session
) -> None:
    login(client, moderator.email)
    mismatch = _change(client, PASSWORD, NEW, "a new passphrase for summer")
    assert mismatch.status_code == 422
    assert "The two new passwords are not the same." in mismatch.text
    short = _change(client, PASSWORD, "short")
    assert short.status_code == 422
    assert f"The new password must have at least {MIN_PASSWORD_LENGTH} characters." in short.text
    empty = _change(client, "", NEW)
    assert empty.status_code == 422
    assert "Enter your current password." in empty.text
    assert _can_log_in(session, moderator.email, PASSWORD)
    assert [action for action, _, _ in _audit(session)] == ["login"]


def test_other_sessions_end(
    moderation_app: Flask, make_staff: Callable[..., StaffUser], session: Session
) -> None:
    user = make_staff("ed@example.org", Role.editor)
    mine, other = new_client(moderation_app), new_client(moderation_app)
    login(mine, user.email)
    login(other, user.email)
    assert other.get("/queue").status_code == 200
    assert _change(mine, PASSWORD).status_code == 303
    assert mine.get("/queue").status_code == 200
    gone = other.get("/queue")
    assert gone.status_code == 303 and gone.location.startswith("/login")


def test_the_audit_row_never_holds_a_password(
    client: FlaskClient,
    moderator: StaffUser,
    make_staff: Callable[..., StaffUser],
    session: Session,
) -> None:
    login(client, moderator.email)
    _change(client, PASSWORD)
    rows = _audit(session)
    assert rows[-1] == ("password", moderator.email, "changed by themselves")
    assert all(PASSWORD not in reason and NEW not in reason for _, _, reason in rows)
    # The admins' audit log names it.
    admin = make_staff("admin@example.org", Role.admin)
    admin_client = new_client(client.application)
    login(admin_client, admin.email)
    assert "password changed" in admin_client.get("/audit").text


def test_wrong_current_passwords_share_the_login_rate_limit(
    settings: Settings, moderator: StaffUser
) -> None:
    app = create_app(settings.with_overrides(login_rate_limit="3 per minute"))
    client = new_client(app)
    login(client, moderator.email)  # one POST
    _change(client, "guess number one")
    _change(client, "guess number two")
    response = _change(client, PASSWORD)
    assert response.status_code == 429
    assert "Retry-After" in response.headers
