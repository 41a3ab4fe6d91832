"""Two-factor login: setting it up, logging in with a code, refusals, and requiring it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.config import Settings
from core.enums import Role
from core.models import AuditEvent, StaffUser
from core.site_settings import save
from moderation import create_app
from moderation.two_factor import STEP_SECONDS, accept_code, matching_step
from tests.moderation.conftest import login, new_client, token_from

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _audit(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.reason).order_by(AuditEvent.id)
    ).all()
    session.commit()
    return [(a, b, c) for a, b, c in rows]


def _code(secret: str, steps_from_now: int = 0) -> str:
    # Not in the last 2 seconds of a step: the server must see the same step as the test.
    left = STEP_SECONDS - time.time() % STEP_SECONDS
    if left < 2:
        time.sleep(left + 0.05)
    return pyotp.TOTP(secret).at(time.time() + steps_from_now * STEP_SECONDS)


def _send_code(client: FlaskClient, code: str, path: str = "/login/code") -> TestResponse:
    csrf = token_from(client, path)
    return client.post(path, data={"csrf_token": csrf, "code": code})


@pytest.fixture
def with_totp(make_staff: Callable[..., StaffUser], session: Session) -> StaffUser:
    """A moderator who has set up two-factor login."""
    user = make_staff("mod@example.org", Role.moderator)
    user.totp_secret = SECRET
    session.commit()
    return user


def test_setting_up_two_factor_needs_a_code_from_the_app(
    client: FlaskClient, moderator: StaffUser, session: Session
) -> None:
    login(client, moderator.email)
    page = client.get("/account/two-factor").text
    uri = re.search(r'href="(otpauth://totp/[^"]+)"', page)
    assert uri, "the page links the otpauth:// URI"
    secret = re.search(r"secret=([A-Z2-7]+)", uri.group(1))
    assert secret and "Tipline" in uri.group(1) and "mod%40example.org" in uri.group(1)
    grouped = re.search(r'<code class="totp-secret" id="totp-secret">([A-Z2-7 ]+)</code>', page)
    assert grouped and grouped.group(1).replace(" ", "") == secret.group(1)
    # A reload shows the same secret, so the app's copy stays valid.
    assert secret.group(1) in client.get("/account/two-factor").text

    csrf = token_from(client, "/account/two-factor")
    wrong = client.post("/account/two-factor/enable", data={"csrf_token": csrf, "code": "000000"})
    assert wrong.status_code == 422 and "That code does not match" in wrong.text
    bad = client.post("/account/two-factor/enable", data={"csrf_token": csrf, "code": "12ab"})
    assert bad.status_code == 422 and "The code has 6 digits." in bad.text
    stored = session.scalar(select(StaffUser.totp_secret).where(StaffUser.id == moderator.id))
    session.commit()
    assert stored is None

    done = client.post(
        "/account/two-factor/enable",
        data={"csrf_token": csrf, "code": _code(secret.group(1))},
        follow_redirects=True,
    )
    assert "Two-factor login is on" in done.text
    stored = session.scalar(select(StaffUser.totp_secret).where(StaffUser.id == moderator.id))
    session.commit()
    assert stored == secret.group(1)
    assert ("two_factor", "mod@example.org", "mod@example.org: enabled") in _audit(session)


def test_login_asks_for_the_code_after_the_password(
    client: FlaskClient, with_totp: StaffUser, session: Session
) -> None:
    response = login(client, with_totp.email, next_="/queue?status%3Dspam")
    assert response.status_code == 303
    assert response.location.startswith("/login/code")
    # Not logged in yet: the password alone opens nothing.
    assert client.get("/queue").location.startswith("/login")
    page = client.get(response.location).text
    assert "Enter the 6-digit code" in page

    response = _send_code(client, _code(SECRET), response.location)
    assert response.status_code == 303
    assert response.location == "/queue?status=spam"
    assert client.get("/queue").status_code == 200
    assert _audit(session)[-1] == ("login", "mod@example.org", "password and two-factor code")


def test_a_wrong_code_is_refused_and_audited(
    client: FlaskClient, with_totp: StaffUser, session: Session
) -> None:
    login(client, with_totp.email)
    wrong = str((int(_code(SECRET)) + 1) % 1_000_000).zfill(6)
    response = _send_code(client, wrong)
    assert response.status_code == 422
    assert "That code is wrong or was already used." in response.text
    assert client.get("/queue").status_code == 303
    assert _audit(session)[-1] == (
        "login_failed",
        "mod@example.org",
        "wrong or reused two-factor code",
    )
    # A code one step old still works (phones' clocks drift).
    assert _send_code(client, _code(SECRET, -1)).status_code == 303


def test_a_code_cannot_be_used_twice(
    moderation_app: Flask, with_totp: StaffUser, session: Session
) -> None:
    code = _code(SECRET)
    first = new_client(moderation_app)
    login(first, with_totp.email)
    assert _send_code(first, code).status_code == 303

    # Someone who saw the code (over a shoulder, or in transit) cannot use it.
    second = new_client(moderation_app)
    login(second, with_totp.email)
    replay = _send_code(second, code)
    assert replay.status_code == 422
    assert second.get("/queue").status_code == 303
    # Nor an older one, once a newer was accepted.
    assert _send_code(second, _code(SECRET, -1)).status_code == 422


def test_too_many_wrong_codes_need_the_password_again(
    client: FlaskClient, with_totp: StaffUser
) -> None:
    login(client, with_totp.email)
    for _ in range(4):
        assert _send_code(client, "000000").status_code == 422
    csrf = token_from(client, "/login/code")
    last = client.post("/login/code", data={"csrf_token": csrf, "code": "000000"})
    assert last.status_code == 303 and last.location == "/login"
    assert client.get("/login/code").location.startswith("/login")


def test_code_attempts_are_rate_limited_like_passwords(
    settings: Settings, with_totp: StaffUser
) -> None:
    app = create_app(settings.with_overrides(login_rate_limit="3 per minute"))
    client = new_client(app)
    login(client, with_totp.email)  # one POST
    _send_code(client, "000000")
    _send_code(client, "000001")
    response = _send_code(client, _code(SECRET))
    assert response.status_code == 429
    assert "Retry-After" in response.headers


def test_turning_it_off_needs_a_code(
    client: FlaskClient, with_totp: StaffUser, session: Session
) -> None:
    login(client, with_totp.email)
    _send_code(client, _code(SECRET, -1))
    csrf = token_from(client, "/account/two-factor")
    wrong = client.post("/account/two-factor/disable", data={"csrf_token": csrf, "code": "000000"})
    assert wrong.status_code == 422
    done = client.post(
        "/account/two-factor/disable",
        data={"csrf_token": csrf, "code": _code(SECRET)},
        follow_redirects=True,
    )
    assert "Two-factor login is off." in done.text
    assert _audit(session)[-1] == ("two_factor", "mod@example.org", "mod@example.org: disabled")
    # And the next login needs the password only.
    client.post("/logout", data={"csrf_token": token_from(client, "/queue")})
    assert login(client, with_totp.email).location == "/"


def test_required_two_factor_forces_set_up_before_anything_else(
    client: FlaskClient,
    make_staff: Callable[..., StaffUser],
    moderator: StaffUser,
    session: Session,
) -> None:
    admin = make_staff("admin@example.org", Role.admin)
    save(session, admin, require_totp=True)

    response = login(client, moderator.email)
    assert response.status_code == 303
    assert _audit(session)[-1] == ("login", "mod@example.org", "password only")
    for path in ("/", "/queue", "/bans", "/counts.json", "/tuning/checks"):
        assert client.get(path).location == "/account/two-factor", path
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    assert "Admins require two-factor login" in page.text
    secret = re.search(r"secret=([A-Z2-7]+)", page.text)
    assert secret
    # It cannot be turned off while required; setting it up opens the site.
    csrf = token_from(client, "/account/two-factor")
    response = client.post(
        "/account/two-factor/enable", data={"csrf_token": csrf, "code": _code(secret.group(1))}
    )
    assert response.status_code == 303
    assert client.get("/queue").status_code == 200
    assert "it cannot be turned off" in client.get("/account/two-factor").text
    refused = client.post(
        "/account/two-factor/disable",
        data={"csrf_token": csrf, "code": _code(secret.group(1), 1)},
    )
    assert refused.status_code == 403

    # Logging out still works in the forced state.
    other = make_staff("ed@example.org", Role.editor)
    second = new_client(client.application)
    login(second, other.email)
    logout = second.post("/logout", data={"csrf_token": token_from(second, "/account/two-factor")})
    assert logout.status_code == 303 and logout.location == "/login"


def test_codes_are_accepted_one_step_either_side_and_only_once() -> None:
    now = 1_800_000_015.0  # the middle of a step
    totp = pyotp.TOTP(SECRET)
    user = StaffUser(email="x@example.org", role=Role.moderator, totp_secret=SECRET)
    assert matching_step(SECRET, totp.at(now - 2 * STEP_SECONDS), now) is None
    assert matching_step(SECRET, totp.at(now + 2 * STEP_SECONDS), now) is None
    assert matching_step(SECRET, "12345", now) is None
    assert accept_code(user, totp.at(now - STEP_SECONDS), now)
    assert accept_code(user, totp.at(now), now)
    assert not accept_code(user, totp.at(now), now)  # the same code again
    assert not accept_code(user, totp.at(now - STEP_SECONDS), now)  # an older one
    assert accept_code(user, totp.at(now + STEP_SECONDS), now)
    assert user.totp_last_step == int(now // STEP_SECONDS) + 1
