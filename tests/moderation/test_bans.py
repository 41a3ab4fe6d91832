"""Banning a commenter from a comment's page, lifting bans, and what the checks then do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.config import Settings
from core.db import utcnow
from core.enums import BanTarget, Kind, Role, Status
from core.models import Article, AuditEvent, Ban, CheckResult, StaffUser, Submission
from tests.moderation.conftest import login, new_client, token_from
from tests.support import settings_env
from tests.worker.conftest import add_tip
from tipline.bans_cli import bans as bans_cli
from worker import environment
from worker.checking import check_submission

EMAIL_HASH = "e1" * 32
IP_HASH = "1f" * 32
CHECKS = ("length", "words", "reputation")


@pytest.fixture(autouse=True)
def _no_cached_bans() -> Iterator[None]:
    # The worker keeps bans for a few seconds; these tests check right after banning.
    environment.forget()
    yield
    environment.forget()


@pytest.fixture
def comment(session: Session, article: Article) -> Submission:
    """A pending comment whose sender left an e-mail address (stored as its hash)."""
    return _comment(session, article)


def _comment(
    session: Session,
    article: Article,
    *,
    email_hash: str | None = EMAIL_HASH,
    ip_hash: str | None = IP_HASH,
    name: str = "Remesas Ya",
    status: Status = Status.pending,
) -> Submission:
    submission = Submission(
        kind=Kind.comment,
        status=status,
        article_id=article.id,
        author_name=name,
        body="Envía remesas a Cuba sin comisión, escríbenos por WhatsApp.",
        email_hash=email_hash,
        ip_hash=ip_hash,
    )
    session.add(submission)
    session.commit()
    return submission


def _ban_form(client: FlaskClient, submission: Submission, **fields: str) -> TestResponse:
    token = token_from(client, f"/submissions/{submission.id}")
    data = {"ban-csrf_token": token, "ban-duration": "7", **fields}
    return client.post(f"/submissions/{submission.id}/ban", data=data)


def _bans(session: Session) -> list[Ban]:
    query = select(Ban).order_by(Ban.id).execution_options(populate_existing=True)
    rows = list(session.scalars(query).all())
    session.commit()
    return rows


def _audit(session: Session, action: str) -> list[tuple[str, int | None, str]]:
    rows = session.execute(
        select(AuditEvent.actor_label, AuditEvent.submission_id, AuditEvent.reason)
        .where(AuditEvent.action == action)
        .order_by(AuditEvent.id)
    ).all()
    session.commit()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _checked(session: Session, settings: Settings, article: Article) -> tuple[Status, str]:
    """A new comment from the banned sender, checked: its status and its reputation reason."""
    new = _comment(session, article, ip_hash="99" * 32, status=Status.received, name="Otro")
    status = check_submission(session, new.id, settings.with_overrides(checks=CHECKS))
    row = session.scalars(
        select(CheckResult).where(
            CheckResult.submission_id == new.id, CheckResult.name == "reputation"
        )
    ).one()
    session.commit()
    assert status is not None
    return status, row.reason % row.reason_params


def test_the_comment_page_offers_what_the_sender_can_be_banned_by(
    client: FlaskClient, moderator: StaffUser, comment: Submission
) -> None:
    login(client, "mod@example.org")
    html = client.get(f"/submissions/{comment.id}").text
    assert "Ban or pre-moderate this sender" in html
    for box in ("ban-email", "ban-ip", "ban-name"):
        assert f'name="{box}"' in html
    # Enough of a hash to tell senders apart; never the whole hash, and never an address.
    assert EMAIL_HASH[:12] + "…" in html and EMAIL_HASH not in html
    assert "remesas ya" in html  # the name as bans match it
    for days in ("1 day", "7 days", "30 days", "Permanently"):
        assert f">{days}</option>" in html


def test_only_what_the_comment_has_is_offered(
    client: FlaskClient, moderator: StaffUser, session: Session, article: Article
) -> None:
    anonymous = _comment(session, article, email_hash=None)
    login(client, "mod@example.org")
    html = client.get(f"/submissions/{anonymous.id}").text
    assert 'name="ban-email"' not in html and 'name="ban-ip"' in html

    response = _ban_form(client, anonymous, **{"ban-email": "y", "ban-reason": "spam"})
    assert response.status_code == 400
    assert "Choose what to ban the sender by." in response.text
    assert _bans(session) == []


def test_banning_from_the_page_sends_the_senders_next_comment_to_spam(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    settings: Settings,
    article: Article,
    comment: Submission,
) -> None:
    login(client, "mod@example.org")
    response = _ban_form(
        client, comment, **{"ban-email": "y", "ban-reason": "  anuncios de remesas  "}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/submissions/{comment.id}")
    page = client.get(f"/submissions/{comment.id}").text
    assert "Banned: new submissions from this sender will go to Spam." in page
    assert "In force for this sender:" in page

    [ban] = _bans(session)
    assert (ban.target, ban.value, ban.reason) == (
        BanTarget.email,
        EMAIL_HASH,
        "anuncios de remesas",
    )
    assert (ban.submission_id, ban.created_by_id, ban.lifted_at) == (comment.id, moderator.id, None)
    assert ban.expires_at is not None
    assert timedelta(days=6, hours=23) < ban.expires_at - ban.created_at <= timedelta(days=7)
    assert _audit(session, "ban") == [
        ("mod@example.org", comment.id, "email (7 days): anuncios de remesas")
    ]

    status, reason = _checked(session, settings, article)
    assert status is Status.spam
    assert reason == (
        "sender banned (e-mail): anuncios de remesas"
        f" (by mod@example.org, until {ban.expires_at:%Y-%m-%d %H:%M} UTC)"
    )


def test_a_ban_by_several_things_at_once_and_for_good(
    client: FlaskClient, moderator: StaffUser, session: Session, comment: Submission
) -> None:
    login(client, "mod@example.org")
    fields = {
        "ban-ip": "y",
        "ban-name": "y",
        "ban-reason": "flood",
        "ban-duration": "permanent",
    }
    assert _ban_form(client, comment, **fields).status_code == 303
    bans = _bans(session)
    assert [(b.target, b.value, b.expires_at) for b in bans] == [
        (BanTarget.ip, IP_HASH, None),
        (BanTarget.name, "remesas ya", None),
    ]
    # Banning again by the same things adds nothing.
    assert _ban_form(client, comment, **fields).status_code == 303
    assert len(_bans(session)) == 2
    assert len(_audit(session, "ban")) == 1


def test_a_ban_needs_a_reason(
    client: FlaskClient, moderator: StaffUser, session: Session, comment: Submission
) -> None:
    login(client, "mod@example.org")
    response = _ban_form(client, comment, **{"ban-email": "y", "ban-reason": "   "})
    assert response.status_code == 400
    assert "The sender was not banned" in response.text
    assert "Say why" in response.text
    assert _bans(session) == []


def test_the_bans_page_lists_and_lifts(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    settings: Settings,
    article: Article,
    comment: Submission,
) -> None:
    login(client, "mod@example.org")
    _ban_form(client, comment, **{"ban-email": "y", "ban-reason": "anuncios"})
    [ban] = _bans(session)

    html = client.get("/bans").text
    assert "anuncios" in html and "mod@example.org" in html
    assert f"/submissions/{comment.id}" in html
    assert f"/bans/{ban.id}/lift" in html
    assert EMAIL_HASH not in html

    token = token_from(client, "/bans")
    response = client.post(f"/bans/{ban.id}/lift", data={"csrf_token": token})
    assert response.status_code == 303
    html = client.get("/bans").text
    assert "The ban was lifted." in html and "No one is banned." in html
    assert f"/bans/{ban.id}/lift" not in html
    assert "Lifted" in html

    [lifted] = _bans(session)
    assert lifted.lifted_at is not None
    assert _audit(session, "unban") == [("mod@example.org", comment.id, "email: anuncios")]
    environment.forget()
    assert _checked(session, settings, article)[0] is Status.published


def test_expired_bans_are_listed_as_ended(
    client: FlaskClient, moderator: StaffUser, session: Session, comment: Submission
) -> None:
    session.add(
        Ban(
            target=BanTarget.ip,
            value=IP_HASH,
            reason="viejo",
            expires_at=utcnow() - timedelta(days=1),
        )
    )
    session.commit()
    login(client, "mod@example.org")
    html = client.get("/bans").text
    assert "No one is banned." in html and "viejo" in html and "Expired" in html


def test_anonymous_visitors_are_sent_to_log_in_and_nothing_changes(
    moderation_app: Flask, session: Session, comment: Submission
) -> None:
    anonymous = new_client(moderation_app)
    # With a valid CSRF token, what answers is the staff site's deny-by-default guard, before
    # any view: to the login page (the site's answer to everyone not logged in, not a 403).
    token = token_from(anonymous, "/login")
    response = anonymous.post(
        f"/submissions/{comment.id}/ban",
        data={"ban-csrf_token": token, "ban-email": "y", "ban-reason": "x", "ban-duration": "7"},
    )
    assert response.status_code == 303 and response.location.startswith("/login")
    assert anonymous.get("/bans").location.startswith("/login")
    session.add(Ban(target=BanTarget.ip, value=IP_HASH, reason="x"))
    session.commit()
    [ban] = _bans(session)
    lift = anonymous.post(f"/bans/{ban.id}/lift", data={"csrf_token": token})
    assert lift.status_code == 303 and lift.location.startswith("/login")
    assert _bans(session)[0].lifted_at is None
    assert len(_bans(session)) == 1


def test_posts_without_the_csrf_token_are_refused(
    client: FlaskClient, moderator: StaffUser, session: Session, comment: Submission
) -> None:
    login(client, "mod@example.org")
    response = client.post(
        f"/submissions/{comment.id}/ban",
        data={"ban-email": "y", "ban-reason": "x", "ban-duration": "7"},
    )
    assert response.status_code == 400
    session.add(Ban(target=BanTarget.ip, value=IP_HASH, reason="x"))
    session.commit()
    [ban] = _bans(session)
    assert client.post(f"/bans/{ban.id}/lift").status_code == 400
    assert _bans(session)[0].lifted_at is None


def test_tips_have_no_ban_form(
    client: FlaskClient,
    make_staff: Callable[..., StaffUser],
    session: Session,
    settings: Settings,
) -> None:
    make_staff("editor@example.org", Role.editor)
    tip_id = add_tip(session, settings)
    login(client, "editor@example.org")
    assert "Ban or pre-moderate this sender" not in client.get(f"/tips/{tip_id}").text
    token = token_from(client, "/bans")
    response = client.post(
        f"/submissions/{tip_id}/ban",
        data={"ban-csrf_token": token, "ban-name": "y", "ban-reason": "x", "ban-duration": "7"},
    )
    assert response.status_code == 404


def test_the_cli_lists_and_lifts(
    session: Session, settings: Settings, moderator: StaffUser, comment: Submission
) -> None:
    session.add(
        Ban(
            target=BanTarget.email,
            value=EMAIL_HASH,
            reason="anuncios",
            submission_id=comment.id,
            created_by_id=moderator.id,
        )
    )
    session.commit()
    [ban] = _bans(session)
    runner = CliRunner()
    env = settings_env(settings)

    listed = runner.invoke(bans_cli, ["list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert f"{ban.id}" in listed.output and "anuncios" in listed.output
    assert EMAIL_HASH[:12] in listed.output and EMAIL_HASH not in listed.output

    lifted = runner.invoke(bans_cli, ["lift", str(ban.id)], env=env)
    assert lifted.exit_code == 0, lifted.output
    assert f"Lifted ban {ban.id} (email)." in lifted.output
    assert _bans(session)[0].lifted_at is not None
    assert _audit(session, "unban") == [("cli", comment.id, "email: anuncios")]

    again = runner.invoke(bans_cli, ["lift", str(ban.id)], env=env)
    assert "already lifted" in again.output
    missing = runner.invoke(bans_cli, ["lift", "999999"], env=env)
    assert missing.exit_code == 1 and "there is no ban 999999" in missing.output
    assert "No bans in force." in runner.invoke(bans_cli, ["list"], env=env).output
    assert "anuncios" in runner.invoke(bans_cli, ["list", "--all"], env=env).output
