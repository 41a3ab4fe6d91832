"""A login unlocks the editor's tip keys for that session only; logout locks them again."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import tipkeys
from core.models import StaffUser, UnlockedTipKeys
from moderation.tip_access import SESSION_KEY, current_tip_keys
from tests.moderation.conftest import login, new_client
from tests.moderation.test_totp import SECRET, _code, _send_code
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key


def _unlocked(session: Session) -> int:
    count = session.scalar(select(func.count()).select_from(UnlockedTipKeys))
    session.commit()  # end the read: SQLite's write lock
    return int(count or 0)


def _keys_of(app: Flask, client: FlaskClient, session: Session, user: StaffUser) -> object:
    """The keys the client's login session opens, as the staff site finds them."""
    with client.session_transaction() as cookie:
        secret = cookie.get(SESSION_KEY)
    with app.test_request_context():
        from flask import session as browser_session

        if secret:
            browser_session[SESSION_KEY] = secret
        keys = current_tip_keys(session, user)
    session.commit()  # end the read: SQLite's write lock
    return keys


def test_an_editors_login_unlocks_the_tip_key_and_logout_locks_it(
    moderation_app: Flask, session: Session
) -> None:
    editor = make_editor_with_tip_key(session)
    client = new_client(moderation_app)
    assert login(client, editor.email, EDITOR_PASSWORD).status_code == 303
    assert _unlocked(session) == 1

    expected = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    assert _keys_of(moderation_app, client, session, editor) == expected
    with client.session_transaction() as cookie:
        stored = dict(cookie)
    # The cookie holds the secret that opens the stored copy, never a key.
    assert all(key.hex() not in str(stored) for key in expected.values())

    token = client.get("/queue").text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/logout", data={"csrf_token": token})
    assert _unlocked(session) == 0


def test_a_wrong_password_unlocks_nothing(moderation_app: Flask, session: Session) -> None:
    editor = make_editor_with_tip_key(session)
    client = new_client(moderation_app)
    assert login(client, editor.email, "wrong password here").status_code == 200
    assert _unlocked(session) == 0


def test_with_two_factor_the_keys_join_the_session_only_after_the_code(
    moderation_app: Flask, session: Session
) -> None:
    editor = make_editor_with_tip_key(session)
    editor.totp_secret = SECRET
    session.commit()
    client = new_client(moderation_app)
    response = login(client, editor.email, EDITOR_PASSWORD)
    assert response.location.startswith("/login/code")
    with client.session_transaction() as cookie:
        assert SESSION_KEY not in cookie

    assert _send_code(client, _code(SECRET), response.location).status_code == 303
    expected = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    assert _keys_of(moderation_app, client, session, editor) == expected


def test_admins_see_who_reads_tips_on_the_staff_accounts_page(
    moderation_app: Flask, session: Session
) -> None:
    from core.enums import Role
    from core.staff import create_staff_user

    make_editor_with_tip_key(session, "holder@example.org", role=Role.admin)
    create_staff_user(session, "newcomer@example.org", "newcomer-password-1", Role.editor)
    create_staff_user(session, "mod@example.org", "mod-password-12345", Role.moderator)
    session.commit()
    client = new_client(moderation_app)
    login(client, "holder@example.org", EDITOR_PASSWORD)
    page = client.get("/settings/staff").text

    def row(email: str) -> str:
        return page.split(f'<th scope="row">{email}')[1].split("</tr>")[0]

    assert "<td>yes</td>" in row("holder@example.org")
    assert "no: grant with “tipline tips grant”" in row("newcomer@example.org")
    assert "<td>—</td>" in row("mod@example.org")
