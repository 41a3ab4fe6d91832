"""The reputation check through the worker's own code path, on the real databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.enums import BanEffect, BanTarget, Kind, ModerationMode, Role, Status, Verdict
from core.models import Article, Ban, CheckResult, StaffUser, Submission
from tests.worker.conftest import add_tip, inspect
from worker import environment
from worker.checking import check_submission
from worker.checks.base import Action, Bans, Content, Env, Sanction, Standing
from worker.checks.reputation import ReputationCheck, name_key
from worker.policy import decide

CHECKS = (
    "length",
    "links",
    "words",
    "repetition",
    "flood",
    "reputation",
)
ANA = "a" * 64  # e-mail hashes as the public site stores them
BETO = "b" * 64
NETWORK = "c" * 64
BASE = Settings(
    instance_path=Path("instance"),
    database_url="sqlite://",
    broker_url="memory://",
    ratelimit_storage_url="memory://",
)


@pytest.fixture
def checked(settings: Settings) -> Iterator[Settings]:
    """Settings with the reputation check, and no bans or lists cached from another test."""
    environment.forget()
    yield settings.with_overrides(checks=CHECKS)
    environment.forget()


def _article(session: Session, mode: ModerationMode) -> Article:
    article = Article(slug=f"a-{os.urandom(4).hex()}", title="El apagón", mode=mode)
    session.add(article)
    session.commit()
    return article


def _comment(
    session: Session,
    article: Article,
    *,
    email_hash: str | None = ANA,
    ip_hash: str | None = NETWORK,
    name: str = "Ana Pérez",
    body: str = "Muy buen artículo, gracias por informar sobre lo que pasa en Holguín.",
    status: Status = Status.received,
    at: datetime | None = None,
) -> int:
    submission = Submission(
        kind=Kind.comment,
        article=article,
        author_name=name,
        body=body,
        locale="es",
        email_hash=email_hash,
        ip_hash=ip_hash,
        status=status,
        created_at=at or utcnow(),
    )
    session.add(submission)
    session.commit()
    return submission.id


def _history(
    session: Session, email_hash: str, published: int, rejected: int, days_ago: float = 1
) -> None:
    """Comments of a sender that moderators already decided, `days_ago`."""
    article = _article(session, ModerationMode.post)
    at = utcnow() - timedelta(days=days_ago)
    for status, n in ((Status.published, published), (Status.rejected, rejected)):
        for i in range(n):
            _comment(
                session,
                article,
                email_hash=email_hash,
                status=status,
                body=f"Comentario {status.value} {i}",
                at=at,
            )


def _ban(session: Session, target: BanTarget, value: str, reason: str, **fields: Any) -> None:
    session.add(Ban(target=target, value=value, reason=reason, **fields))
    session.commit()


def _reputation(session: Session, submission_id: int) -> CheckResult:
    row = session.scalars(
        select(CheckResult).where(
            CheckResult.submission_id == submission_id, CheckResult.name == "reputation"
        )
    ).one()
    session.commit()
    return row


# --- bans --------------------------------------------------------------------------------------


def test_a_banned_e_mail_hash_sends_the_comment_to_spam_with_the_ban_named(
    session: Session, engine: Engine, checked: Settings
) -> None:
    _ban(session, BanTarget.email, ANA, "anuncios de remesas")
    submission_id = _comment(session, _article(session, ModerationMode.post))

    assert check_submission(session, submission_id, checked) is Status.spam

    row = _reputation(session, submission_id)
    assert (row.verdict, row.score) == (Verdict.spam, 1.0)
    assert row.reason % row.reason_params == (
        "sender banned (e-mail): anuncios de remesas (by ?, for good)"
    )
    assert inspect(engine, submission_id).audit == [("system", "received", "spam")]


def test_a_ban_names_who_made_it_and_until_when(
    session: Session, engine: Engine, checked: Settings
) -> None:
    moderator = StaffUser(email="mod@example.org", password_hash="x", role=Role.moderator)
    session.add(moderator)
    session.commit()
    until = datetime(2099, 3, 1, 12, 30, tzinfo=UTC)
    _ban(session, BanTarget.ip, NETWORK, "flood", expires_at=until, created_by_id=moderator.id)
    submission_id = _comment(session, _article(session, ModerationMode.pre))

    assert check_submission(session, submission_id, checked) is Status.spam
    row = _reputation(session, submission_id)
    assert row.reason % row.reason_params == (
        "sender banned (network): flood (by mod@example.org, until 2099-03-01 12:30 UTC)"
    )


def test_a_banned_network_or_name_goes_to_spam_too(
    session: Session, engine: Engine, checked: Settings
) -> None:
    article = _article(session, ModerationMode.post)
    _ban(session, BanTarget.ip, NETWORK, "flood")
    _ban(session, BanTarget.name, name_key("Troll Habanero"), "insultos")
    by_network = _comment(session, article, email_hash=BETO)
    # The name as typed differs in case, accents and spaces: it is one name all the same.
    by_name = _comment(session, article, email_hash=None, ip_hash=None, name="  TROLL  habanero")

    assert check_submission(session, by_network, checked) is Status.spam
    assert check_submission(session, by_name, checked) is Status.spam
    network = _reputation(session, by_network)
    assert (
        network.reason % network.reason_params == "sender banned (network): flood (by ?, for good)"
    )
    name = _reputation(session, by_name)
    assert name.reason % name.reason_params == "sender banned (name): insultos (by ?, for good)"


def test_lifted_and_expired_bans_no_longer_apply(
    session: Session, engine: Engine, checked: Settings
) -> None:
    now = utcnow()
    _ban(session, BanTarget.email, ANA, "old", lifted_at=now - timedelta(hours=1))
    _ban(session, BanTarget.ip, NETWORK, "old", expires_at=now - timedelta(minutes=1))
    submission_id = _comment(session, _article(session, ModerationMode.post))

    assert check_submission(session, submission_id, checked) is Status.published


def test_a_tip_is_never_lost_to_a_commenters_name_ban(
    session: Session, engine: Engine, checked: Settings
) -> None:
    _ban(session, BanTarget.name, name_key("Ana Pérez"), "insultos")
    tip_id = add_tip(session, checked, name="Ana Pérez")
    assert check_submission(session, tip_id, checked) is Status.new


def test_a_tip_from_a_banned_sender_goes_to_spam() -> None:
    # The public site keeps no hashes of tipsters today; were one banned, the tip goes to spam.
    env = Env.of(BASE, bans=Bans(emails={ANA: Sanction("acoso")}))
    tip = Content(kind=Kind.tip, text="Un dato", email_hash=ANA)
    outcome = ReputationCheck().run(tip, env)
    assert outcome.action is Action.reject
    assert decide(Kind.tip, [outcome], None) is Status.spam


# --- pre-moderation ----------------------------------------------------------------------------


def test_a_pre_moderated_sender_waits_even_on_a_post_moderated_article(
    session: Session, engine: Engine, checked: Settings
) -> None:
    _ban(session, BanTarget.email, ANA, "tono agresivo", effect=BanEffect.premoderate)
    submission_id = _comment(session, _article(session, ModerationMode.post))

    assert check_submission(session, submission_id, checked) is Status.pending
    row = _reputation(session, submission_id)
    assert (row.verdict, row.score) == (Verdict.suspect, 0.5)
    assert row.reason % row.reason_params == (
        "sender is in pre-moderation: tono agresivo (by ?, for good)"
    )
    assert inspect(engine, submission_id).audit == [("system", "received", "pending")]


def test_trust_does_not_override_pre_moderation(
    session: Session, engine: Engine, checked: Settings
) -> None:
    _history(session, ANA, published=10, rejected=0)
    _ban(session, BanTarget.ip, NETWORK, "vigilar", effect=BanEffect.premoderate)
    submission_id = _comment(session, _article(session, ModerationMode.pre))

    assert check_submission(session, submission_id, checked) is Status.pending
    row = _reputation(session, submission_id)
    assert row.reason % row.reason_params == "sender is in pre-moderation: vigilar (by ?, for good)"


def test_a_ban_wins_over_a_pre_moderation(
    session: Session, engine: Engine, checked: Settings
) -> None:
    article = _article(session, ModerationMode.post)
    _ban(session, BanTarget.email, ANA, "vigilar", effect=BanEffect.premoderate)
    _ban(session, BanTarget.ip, NETWORK, "spam de remesas")
    # The same hash both pre-moderated and banned: the ban applies.
    _ban(session, BanTarget.email, BETO, "vigilar", effect=BanEffect.premoderate)
    _ban(session, BanTarget.email, BETO, "spam")
    first = _comment(session, article)
    second = _comment(session, article, email_hash=BETO, ip_hash=None)

    assert check_submission(session, first, checked) is Status.spam
    assert check_submission(session, second, checked) is Status.spam
    row = _reputation(session, first)
    assert row.reason % row.reason_params == (
        "sender banned (network): spam de remesas (by ?, for good)"
    )


def test_a_lifted_pre_moderation_no_longer_holds(
    session: Session, engine: Engine, checked: Settings
) -> None:
    _ban(
        session,
        BanTarget.email,
        ANA,
        "vigilar",
        effect=BanEffect.premoderate,
        lifted_at=utcnow() - timedelta(minutes=1),
    )
    submission_id = _comment(session, _article(session, ModerationMode.post))
    assert check_submission(session, submission_id, checked) is Status.published


def test_a_pre_moderated_tipster_is_still_read() -> None:
    env = Env.of(BASE, bans=Bans(emails={ANA: Sanction("vigilar", BanEffect.premoderate)}))
    tip = Content(kind=Kind.tip, text="Un dato", email_hash=ANA)
    outcome = ReputationCheck().run(tip, env)
    assert (outcome.verdict, outcome.action) == (Verdict.suspect, Action.none)
    assert decide(Kind.tip, [outcome], None) is Status.new


# --- trust -------------------------------------------------------------------------------------


def test_a_trusted_commenter_skips_pre_moderation(
    session: Session, engine: Engine, checked: Settings
) -> None:
    _history(session, ANA, published=3, rejected=0)
    submission_id = _comment(session, _article(session, ModerationMode.pre))

    assert check_submission(session, submission_id, checked) is Status.published

    row = _reputation(session, submission_id)
    assert (row.verdict, row.reason % row.reason_params) == (
        Verdict.ok,
        "trusted sender: 3 approved",
    )


def test_trust_needs_enough_approvals_and_no_rejection_ever(
    session: Session, engine: Engine, checked: Settings
) -> None:
    _history(session, ANA, published=2, rejected=0)
    _history(session, BETO, published=10, rejected=1, days_ago=60)
    article = _article(session, ModerationMode.pre)
    too_new = _comment(session, article, email_hash=ANA)
    once_rejected = _comment(session, article, email_hash=BETO)

    assert check_submission(session, too_new, checked) is Status.pending
    assert check_submission(session, once_rejected, checked) is Status.pending
    row = _reputation(session, once_rejected)
    assert row.reason % row.reason_params == "this sender: 10 approved, 1 rejected"


def test_trust_is_configurable(session: Session, engine: Engine, checked: Settings) -> None:
    _history(session, ANA, published=1, rejected=0)
    submission_id = _comment(session, _article(session, ModerationMode.pre))
    assert check_submission(session, submission_id, checked.with_overrides(trusted_after=1)) is (
        Status.published
    )


# --- rejection rate ----------------------------------------------------------------------------


def test_a_sender_often_rejected_this_week_waits_even_on_a_post_moderated_article(
    session: Session, engine: Engine, checked: Settings
) -> None:
    _history(session, ANA, published=4, rejected=2, days_ago=3)  # 2 of 6: 33 %
    submission_id = _comment(session, _article(session, ModerationMode.post))

    assert check_submission(session, submission_id, checked) is Status.pending

    row = _reputation(session, submission_id)
    assert row.verdict is Verdict.suspect
    assert row.reason % row.reason_params == "33% of this sender's comments rejected in 7 days"


def test_rejections_older_than_the_window_do_not_count(
    session: Session, engine: Engine, checked: Settings
) -> None:
    _history(session, ANA, published=0, rejected=5, days_ago=10)
    _history(session, ANA, published=4, rejected=1, days_ago=2)  # 1 of 5 this week: 20 %
    submission_id = _comment(session, _article(session, ModerationMode.post))

    assert check_submission(session, submission_id, checked) is Status.published
    row = _reputation(session, submission_id)
    assert row.reason % row.reason_params == "this sender: 4 approved, 6 rejected"


def test_too_few_decisions_are_no_verdict(
    session: Session, engine: Engine, checked: Settings
) -> None:
    _history(session, ANA, published=1, rejected=1)  # 50 %, but only 2 decisions
    submission_id = _comment(session, _article(session, ModerationMode.post))
    assert check_submission(session, submission_id, checked) is Status.published


def test_the_rate_rule_as_coral_writes_it() -> None:
    check = ReputationCheck()
    comment = Content(kind=Kind.comment, text="Hola", email_hash=ANA)

    def verdict(standing: Standing) -> Verdict:
        return check.run(comment, Env.of(BASE, standings={ANA: standing})).verdict

    assert verdict(Standing(7, 3, recent_decided=10, recent_rejected=3)) is Verdict.suspect
    assert verdict(Standing(8, 2, recent_decided=10, recent_rejected=2)) is Verdict.ok
    assert verdict(Standing(0, 3, recent_decided=3, recent_rejected=1)) is Verdict.suspect
