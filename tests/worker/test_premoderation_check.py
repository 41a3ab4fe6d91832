"""Site-wide pre-moderation: the check on its own, and through the worker with the real setting."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import DEFAULT_CHECKS, Settings
from core.enums import Kind, ModerationMode, Premoderation, Status, Verdict
from core.models import Article, CheckResult, Submission
from core.site_settings import SiteSettings, save
from tests.worker.conftest import add_tip
from worker import environment
from worker.checking import check_submission
from worker.checks import load_checks
from worker.checks.base import Content, Env, Lists, Standing
from worker.checks.premoderation import PremoderationCheck

ANA = "a" * 64
NETWORK = "c" * 64
BASE = Settings(
    instance_path=Path("instance"),
    database_url="sqlite://",
    broker_url="memory://",
    ratelimit_storage_url="memory://",
    intake_url="https://periodico.example",
)
PLAIN = "Muy buen artículo, gracias por informar sobre lo que pasa en Holguín."
WITH_LINK = "Vean lo que pasó: https://otro-sitio.example.net/nota y comenten."


def _env(mode: Premoderation, **kwargs: object) -> Env:
    return Env(settings=BASE, lists=Lists.build(BASE, {}), site=SiteSettings(mode), **kwargs)  # type: ignore[arg-type]


def _run(mode: Premoderation, content: Content, **kwargs: object) -> tuple[Verdict, str]:
    found = PremoderationCheck().run(content, _env(mode, **kwargs))
    return found.verdict, found.reason % found.params


def _comment(
    text: str = PLAIN, email_hash: str | None = ANA, ip_hash: str | None = NETWORK
) -> Content:
    return Content(kind=Kind.comment, text=text, email_hash=email_hash, ip_hash=ip_hash)


def test_it_is_a_default_check() -> None:
    assert "premoderation" in DEFAULT_CHECKS
    assert [c.name for c in load_checks(("premoderation",))] == ["premoderation"]


def test_off_holds_nothing() -> None:
    assert _run(Premoderation.off, _comment(WITH_LINK)) == (
        Verdict.ok,
        "site-wide pre-moderation is off",
    )


def test_all_holds_every_comment_even_from_trusted_senders() -> None:
    standings = {ANA: Standing(approved=50)}
    assert _run(Premoderation.all, _comment(), standings=standings) == (
        Verdict.suspect,
        "site-wide pre-moderation: all comments",
    )


def test_new_commenters_are_held_until_one_comment_is_published() -> None:
    held = (Verdict.suspect, "site-wide pre-moderation: new commenter, no published comment yet")
    assert _run(Premoderation.new_commenters, _comment()) == held
    assert (
        _run(Premoderation.new_commenters, _comment(), standings={ANA: Standing(rejected=3)})
        == held
    )
    assert _run(
        Premoderation.new_commenters, _comment(), standings={ANA: Standing(approved=1)}
    ) == (Verdict.ok, "site-wide pre-moderation does not apply")


def test_without_an_e_mail_the_network_stands_in() -> None:
    content = _comment(email_hash=None)
    assert _run(Premoderation.new_commenters, content)[0] is Verdict.suspect
    assert (
        _run(Premoderation.new_commenters, content, published_networks=frozenset({NETWORK}))[0]
        is Verdict.ok
    )
    # With an e-mail, a known network does not vouch for a new address (a shared café network).
    assert (
        _run(Premoderation.new_commenters, _comment(), published_networks=frozenset({NETWORK}))[0]
        is Verdict.suspect
    )
    assert _run(Premoderation.new_commenters, _comment(email_hash=None, ip_hash=None))[0] is (
        Verdict.suspect
    )


def test_links_mode_holds_comments_with_links_but_not_to_the_outlet() -> None:
    assert _run(Premoderation.links, _comment(WITH_LINK)) == (
        Verdict.suspect,
        "site-wide pre-moderation: comment with links (1)",
    )
    assert _run(Premoderation.links, _comment(PLAIN))[0] is Verdict.ok
    own = "Como dijo https://periodico.example/notas/zafra ayer."
    assert _run(Premoderation.links, _comment(own))[0] is Verdict.ok


@pytest.mark.parametrize("mode", list(Premoderation))
def test_tips_are_never_held_by_it(mode: Premoderation) -> None:
    tip = Content(kind=Kind.tip, text=WITH_LINK, email_hash=ANA)
    assert _run(mode, tip) == (Verdict.ok, "site-wide pre-moderation applies to comments only")


# --- through the worker, with the setting saved as the staff site saves it --------------------


@pytest.fixture
def checked(settings: Settings) -> Iterator[Settings]:
    """Settings with the pre-moderation check, nothing cached from another test."""
    environment.forget()
    yield settings.with_overrides(checks=("length", "reputation", "premoderation"))
    environment.forget()


def _article(session: Session) -> Article:
    article = Article(slug=f"a-{os.urandom(4).hex()}", title="El apagón", mode=ModerationMode.post)
    session.add(article)
    session.commit()
    return article


def _submit(
    session: Session,
    article: Article,
    body: str = PLAIN,
    email_hash: str | None = ANA,
    status: Status = Status.received,
) -> int:
    submission = Submission(
        kind=Kind.comment,
        article=article,
        author_name="Ana",
        body=body,
        email_hash=email_hash,
        ip_hash=NETWORK,
        status=status,
    )
    session.add(submission)
    session.commit()
    return submission.id


def _reason(session: Session, submission_id: int) -> str:
    row = session.scalars(
        select(CheckResult).where(
            CheckResult.submission_id == submission_id, CheckResult.name == "premoderation"
        )
    ).one()
    session.commit()
    return row.reason % row.reason_params


def test_the_saved_setting_holds_comments_in_the_worker(
    session: Session, checked: Settings
) -> None:
    article = _article(session)
    first = _submit(session, article)
    assert check_submission(session, first, checked) is Status.published

    save(session, None, premoderation="all")
    environment.forget()  # as after knowledge_ttl_seconds
    held = _submit(session, article)
    assert check_submission(session, held, checked) is Status.pending
    assert _reason(session, held) == "site-wide pre-moderation: all comments"

    tip_id = add_tip(session, checked)
    assert check_submission(session, tip_id, checked) is Status.new


def test_new_commenters_wait_and_known_ones_do_not(session: Session, checked: Settings) -> None:
    save(session, None, premoderation="new_commenters")
    article = _article(session)
    _submit(session, article, status=Status.published)  # Ana had a comment published before

    known = _submit(session, article)
    assert check_submission(session, known, checked) is Status.published

    newcomer = _submit(session, article, email_hash="b" * 64)
    assert check_submission(session, newcomer, checked) is Status.pending
    assert _reason(session, newcomer) == (
        "site-wide pre-moderation: new commenter, no published comment yet"
    )
