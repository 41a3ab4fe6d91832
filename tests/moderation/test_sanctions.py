"""Sanctions from a comment's page: a ban that also rejects the sender's comments, pre-moderation,
lifting either, and what the real checks then do with the sender's next comment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.config import Settings
from core.db import utcnow
from core.enums import BanEffect, BanTarget, Kind, Status
from core.models import Article, AuditEvent, Ban, CheckResult, StaffUser, Submission
from tests.moderation.conftest import login, token_from
from tests.support import settings_env
from tipline.bans_cli import bans as bans_cli
from worker import environment
from worker.checking import check_submission

SPAMMER = "e1" * 32
SPAMMER_NET = "1f" * 32
OTHER = "a0" * 32
OTHER_NET = "0a" * 32
CHECKS = ("length", "words", "reputation")


@pytest.fixture(autouse=True)
def _no_cached_bans() -> Iterator[None]:
    # The worker keeps sanctions for a few seconds; these tests check right after making them.
    environment.forget()
    yield
    environment.forget()


def _comment(
    session: Session,
    article: Article,
    status: Status = Status.pending,
    *,
    email_hash: str | None = SPAMMER,
    ip_hash: str | None = SPAMMER_NET,
    body: str = "Recargas dobles a Cuba, escríbenos por WhatsApp.",
) -> Submission:
    submission = Submission(
        kind=Kind.comment,
        status=status,
        article_id=article.id,
        author_name="Recargas Ya",
        body=body,
        email_hash=email_hash,
        ip_hash=ip_hash,
    )
    session.add(submission)
    session.commit()
    return submission


def _sanction(client: FlaskClient, submission: Submission, **fields: str) -> TestResponse:
    token = token_from(client, f"/submissions/{submission.id}")
    data = {"ban-csrf_token": token, "ban-duration": "7", "ban-reason": "recargas", **fields}
    return client.post(f"/submissions/{submission.id}/ban", data=data)


def _statuses(session: Session, *submissions: Submission) -> list[Status]:
    ids = [s.id for s in submissions]
    query = select(Submission.id, Submission.status).where(Submission.id.in_(ids))
    found = {row.id: row.status for row in session.execute(query)}
    session.commit()
    return [found[i] for i in ids]


def _audit(session: Session, action: str) -> list[tuple[str, int | None, str | None, str]]:
    rows = session.execute(
        select(
            AuditEvent.actor_label,
            AuditEvent.submission_id,
            AuditEvent.from_status,
            AuditEvent.reason,
        )
        .where(AuditEvent.action == action)
        .order_by(AuditEvent.submission_id)
    ).all()
    session.commit()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _checked(
    session: Session, settings: Settings, article: Article, **sender: str | None
) -> tuple[Status, str]:
    """A new comment from the sender, through the real checks: its status and sender reason."""
    new = _comment(session, article, Status.received, body="Otra vez por aquí.", **sender)
    status = check_submission(session, new.id, settings.with_overrides(checks=CHECKS))
    row = session.scalars(
        select(CheckResult).where(
            CheckResult.submission_id == new.id, CheckResult.name == "reputation"
        )
    ).one()
    session.commit()
    assert status is not None
    return status, row.reason % row.reason_params


def test_a_ban_with_reject_all_rejects_the_senders_comments_and_no_one_elses(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    settings: Settings,
    article: Article,
) -> None:
    here = _comment(session, article, Status.pending)
    published = _comment(session, article, Status.published)
    reported = _comment(session, article, Status.reported)
    # Already decided as spam: left where a moderator put it.
    spam = _comment(session, article, Status.spam)
    # Another reader, and another reader on the sender's network (not chosen to ban by).
    other = _comment(session, article, Status.pending, email_hash=OTHER, ip_hash=OTHER_NET)
    neighbour = _comment(session, article, Status.published, email_hash=OTHER)

    login(client, "mod@example.org")
    response = _sanction(client, here, **{"ban-email": "y", "ban-reject_all": "y"})
    assert response.status_code == 303
    page = client.get(f"/submissions/{here.id}").text
    assert "Banned; 3 comments rejected." in page

    assert _statuses(session, here, published, reported, spam, other, neighbour) == [
        Status.rejected,
        Status.rejected,
        Status.rejected,
        Status.spam,
        Status.pending,
        Status.published,
    ]
    why = "ban (email, 7 days): recargas"
    assert _audit(session, "ban_reject") == [
        ("mod@example.org", here.id, "pending", why),
        ("mod@example.org", published.id, "published", why),
        ("mod@example.org", reported.id, "reported", why),
    ]
    assert _audit(session, "ban") == [
        ("mod@example.org", here.id, None, "email (7 days): recargas")
    ]
    # The comment's history names the ban.
    assert "Pending → Rejected" in page and why in page

    # The sender's next comment goes to Spam, the ban named.
    status, reason = _checked(session, settings, article, ip_hash="99" * 32)
    [ban] = session.scalars(select(Ban)).all()
    session.commit()
    assert status is Status.spam
    assert reason == (
        f"sender banned (e-mail): recargas (by mod@example.org, until"
        f" {ban.expires_at:%Y-%m-%d %H:%M} UTC)"
    )


def test_reject_all_by_network_finds_every_address_on_it(
    client: FlaskClient, moderator: StaffUser, session: Session, article: Article
) -> None:
    here = _comment(session, article, Status.published)
    other_address = _comment(session, article, Status.pending, email_hash=OTHER)
    login(client, "mod@example.org")
    fields = {"ban-ip": "y", "ban-reject_all": "y", "ban-duration": "permanent"}
    assert _sanction(client, here, **fields).status_code == 303
    assert "Banned; 2 comments rejected." in client.get(f"/submissions/{here.id}").text
    assert _statuses(session, here, other_address) == [Status.rejected, Status.rejected]
    assert {row[3] for row in _audit(session, "ban_reject")} == {"ban (ip, permanent): recargas"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"ban-email": "y", "ban-effect": "premoderate"},
            "Comments are rejected with a ban, not with pre-moderation.",
        ),
        ({"ban-name": "y"}, "To reject their comments, ban by e-mail address or network"),
        ({"ban-email": "y", "ban-effect": "exile"}, "The sender was not banned"),
    ],
)
def test_reject_all_that_cannot_apply_is_refused_and_changes_nothing(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    article: Article,
    fields: dict[str, str],
    message: str,
) -> None:
    here = _comment(session, article, Status.pending)
    login(client, "mod@example.org")
    response = _sanction(client, here, **{"ban-reject_all": "y", **fields})
    assert response.status_code == 400
    assert message in response.text
    assert "The sender was not banned: see the form below." in response.text
    assert session.scalars(select(Ban)).all() == []
    assert _statuses(session, here) == [Status.pending]


def test_pre_moderation_holds_the_next_comment_and_lifting_it_restores_the_flow(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    settings: Settings,
    article: Article,
) -> None:
    # A post-moderated article: without the sanction, a clean comment is published at once.
    here = _comment(session, article, Status.published)
    login(client, "mod@example.org")
    fields = {"ban-email": "y", "ban-effect": "premoderate", "ban-reason": "tono agresivo"}
    assert _sanction(client, here, **fields).status_code == 303
    page = client.get(f"/submissions/{here.id}").text
    assert "In pre-moderation: new submissions from this sender will wait for a moderator." in page
    assert "In force for this sender:" in page and "Pre-moderation" in page
    # Pre-moderation rejects nothing already there.
    assert _statuses(session, here) == [Status.published]

    [ban] = session.scalars(select(Ban)).all()
    session.commit()
    assert (ban.effect, ban.target, ban.value) == (BanEffect.premoderate, BanTarget.email, SPAMMER)
    # Read now: the checks expire what the session holds, and SQLite would lock to reload it.
    ban_id, until = ban.id, ban.expires_at
    assert _audit(session, "premoderate") == [
        ("mod@example.org", here.id, None, "email (7 days): tono agresivo")
    ]

    status, reason = _checked(session, settings, article, ip_hash="99" * 32)
    assert status is Status.pending
    assert reason == (
        "sender is in pre-moderation: tono agresivo (by mod@example.org, until"
        f" {until:%Y-%m-%d %H:%M} UTC)"
    )

    # The bans list shows it as pre-moderation, and lifts it.
    listing = client.get("/bans").text
    assert "Pre-moderation" in listing and "tono agresivo" in listing
    token = token_from(client, "/bans")
    assert client.post(f"/bans/{ban_id}/lift", data={"csrf_token": token}).status_code == 303
    assert _audit(session, "unpremoderate") == [
        ("mod@example.org", here.id, None, "email: tono agresivo")
    ]
    environment.forget()
    status, reason = _checked(session, settings, article, ip_hash="99" * 32)
    assert status is Status.published
    assert reason.startswith("this sender:")


def test_a_pre_moderated_sender_can_then_be_banned(
    client: FlaskClient,
    moderator: StaffUser,
    session: Session,
    settings: Settings,
    article: Article,
) -> None:
    here = _comment(session, article, Status.pending)
    login(client, "mod@example.org")
    _sanction(client, here, **{"ban-email": "y", "ban-effect": "premoderate"})
    # E-mail is still offered: a ban can follow a pre-moderation.
    assert 'name="ban-email"' in client.get(f"/submissions/{here.id}").text
    assert _sanction(client, here, **{"ban-email": "y"}).status_code == 303
    effects = sorted(ban.effect.value for ban in session.scalars(select(Ban)).all())
    session.commit()
    assert effects == ["ban", "premoderate"]
    assert _checked(session, settings, article)[0] is Status.spam


def test_the_bans_list_filters_in_force_and_ended(
    client: FlaskClient, moderator: StaffUser, session: Session, article: Article
) -> None:
    here = _comment(session, article)
    session.add_all(
        [
            Ban(target=BanTarget.email, value=SPAMMER, reason="vigente", submission_id=here.id),
            Ban(
                target=BanTarget.ip,
                value=SPAMMER_NET,
                reason="levantado",
                effect=BanEffect.premoderate,
                lifted_at=utcnow(),
            ),
        ]
    )
    session.commit()
    login(client, "mod@example.org")
    everything = client.get("/bans").text
    assert "vigente" in everything and "levantado" in everything
    active = client.get("/bans?state=active").text
    assert "vigente" in active and "levantado" not in active
    ended = client.get("/bans?state=ended").text
    assert "levantado" in ended and "vigente" not in ended and "Pre-moderation" in ended
    assert client.get("/bans?state=someday").status_code == 400


def test_the_cli_bans_with_reject_all_and_pre_moderates(
    session: Session, settings: Settings, moderator: StaffUser, article: Article
) -> None:
    here = _comment(session, article, Status.pending)
    published = _comment(session, article, Status.published)
    runner = CliRunner()
    env = settings_env(settings)
    args = ["add", str(here.id), "--by", "email", "--reason", "recargas", "--as", moderator.email]

    done = runner.invoke(bans_cli, [*args, "--reject-all", "--for", "permanent"], env=env)
    assert done.exit_code == 0, done.output
    assert "2 comments rejected." in done.output
    assert _statuses(session, here, published) == [Status.rejected, Status.rejected]
    assert {row[0] for row in _audit(session, "ban_reject")} == {"mod@example.org"}

    held = runner.invoke(bans_cli, ["add", str(here.id), "--by", "ip", "--reason", "vigilar",
                                    "--premoderate", "--as", moderator.email], env=env)  # fmt: skip
    assert held.exit_code == 0, held.output
    assert "Pre-moderated: ip" in held.output
    assert "[pre-moderation]" in runner.invoke(bans_cli, ["list"], env=env).output

    refused = runner.invoke(bans_cli, [*args, "--premoderate", "--reject-all"], env=env)
    assert refused.exit_code == 1 and "reject_all needs a ban" in refused.output
    nobody = runner.invoke(bans_cli, [*args[:-1], "nadie@example.org"], env=env)
    assert nobody.exit_code == 1 and "no active staff account" in nobody.output
