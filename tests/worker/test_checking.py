"""The checking service on the real databases: results, status, audit row, idempotence."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import unseal
from core.enums import ModerationMode, Status
from core.models import CheckResult
from tests.worker.conftest import add_comment, add_tip, inspect
from tests.worker.sample_checks import RacingCheck
from worker.checking import check_submission, check_submissions

ALL = [
    "length",
    "links",
    "words",
    "repetition",
    "flood",
    "reputation",
    "classifier",
    "premoderation",
]


def test_a_clean_comment_on_a_post_moderated_article_is_published(
    session: Session, engine: Engine, settings: Settings
) -> None:
    submission_id = add_comment(session)

    assert check_submission(session, submission_id, settings) is Status.published

    seen = inspect(engine, submission_id)
    assert seen.status is Status.published
    assert seen.results == [(name, "ok") for name in ALL]
    assert seen.audit == [("system", "received", "published")]
    row = session.scalars(select(CheckResult).where(CheckResult.name == "links")).one()
    assert (row.version, row.score, row.reason, row.reason_params) == (
        "2",
        0.0,
        "links: %(count)d",
        {"count": 0},
    )


def test_a_clean_comment_on_a_pre_moderated_article_waits(
    session: Session, engine: Engine, settings: Settings
) -> None:
    submission_id = add_comment(session, mode=ModerationMode.pre)
    assert check_submission(session, submission_id, settings) is Status.pending
    assert inspect(engine, submission_id).audit == [("system", "received", "pending")]


def test_a_blocked_word_makes_a_comment_spam_and_says_which(
    session: Session, engine: Engine, settings: Settings
) -> None:
    submission_id = add_comment(session, body="Compra Víagra barata, envíos a toda Cuba")
    assert check_submission(session, submission_id, settings) is Status.spam
    words = session.scalars(select(CheckResult).where(CheckResult.name == "words")).one()
    assert (words.verdict.value, words.score) == ("spam", 1.0)
    assert words.reason % words.reason_params == "banned word: viagra"


def test_a_tip_becomes_new_and_its_check_copy_is_deleted(
    session: Session, engine: Engine, settings: Settings
) -> None:
    body = "Trabajo en el hospital de Holguín; venden las medicinas donadas. Tel. +53 5 555 1234"
    submission_id = add_tip(session, settings, body=body, contact="ana@example.org")
    sealed_before = inspect(engine, submission_id).sealed

    assert check_submission(session, submission_id, settings) is Status.new

    seen = inspect(engine, submission_id)
    assert seen.status is Status.new
    assert seen.results == [(name, "ok") for name in ALL]
    assert seen.check_copy is None
    assert seen.sealed == sealed_before  # the newsroom's copy is untouched
    assert seen.sealed is not None
    assert unseal(settings.tip_private_key, seen.sealed)["text"] == body
    stored = session.scalars(select(CheckResult)).all()
    assert "Holguín" not in repr([(r.reason, r.reason_params) for r in stored])


def test_a_spam_tip_is_spam_and_an_unreadable_one_is_kept_for_editors(
    session: Session, engine: Engine, settings: Settings
) -> None:
    spam_id = add_tip(session, settings, body="Casino online con bonos, entra ya mismo")
    assert check_submission(session, spam_id, settings) is Status.spam

    unreadable_id = add_tip(session, settings)
    other_key = settings.with_overrides(worker_private_key=settings.tip_private_key)
    assert check_submission(session, unreadable_id, other_key) is Status.new
    seen = inspect(engine, unreadable_id)
    assert seen.results == [(name, "error") for name in ALL]
    assert seen.check_copy is None


def test_checking_twice_changes_nothing_the_second_time(
    session: Session, engine: Engine, settings: Settings
) -> None:
    submission_id = add_comment(session)
    assert check_submission(session, submission_id, settings) is Status.published
    first = inspect(engine, submission_id)

    assert check_submission(session, submission_id, settings) is None

    assert inspect(engine, submission_id) == first
    assert len(first.audit) == 1


def test_a_missing_submission_is_ignored(session: Session, settings: Settings) -> None:
    assert check_submission(session, 987654, settings) is None


def test_a_check_that_raises_holds_the_comment_with_an_error_result(
    session: Session, engine: Engine, settings: Settings
) -> None:
    submission_id = add_comment(session)
    with_broken = settings.with_overrides(
        checks=(*settings.checks, "tests.worker.sample_checks:BrokenCheck")
    )
    assert check_submission(session, submission_id, with_broken) is Status.pending
    seen = inspect(engine, submission_id)
    assert seen.results[-1] == ("broken", "error")
    assert seen.audit == [("system", "received", "pending")]


def test_when_two_runs_race_the_first_to_commit_wins_and_the_other_changes_nothing(
    session: Session, engine: Engine, settings: Settings
) -> None:
    # The outer run's checks include one that checks the same submission to the end in a
    # session of its own: the inner run commits first. On SQLite this also shows that the
    # outer run holds no transaction while its checks run (the inner one could not write).
    submission_id = add_comment(session)
    racing = settings.with_overrides(
        checks=(*settings.checks, "tests.worker.sample_checks:RacingCheck")
    )
    RacingCheck.target = (submission_id, settings)

    assert check_submission(session, submission_id, racing) is None

    assert RacingCheck.target is None
    seen = inspect(engine, submission_id)
    assert seen.status is Status.published
    assert seen.results == [(name, "ok") for name in ALL]  # the inner run's, alone
    assert seen.audit == [("system", "received", "published")]


def test_a_batch_is_checked_in_one_go_and_a_raced_member_does_not_undo_the_rest(
    session: Session, engine: Engine, settings: Settings
) -> None:
    clean = add_comment(session)
    spam = add_comment(session, body="Las mejores APUESTAS ONLINE, gana ya")
    tip = add_tip(session, settings)
    raced = add_comment(session)
    gone = 10**9  # an id no row has: deleted since it was enqueued
    racing = settings.with_overrides(
        checks=(*settings.checks, "tests.worker.sample_checks:RacingCheck")
    )
    # While the batch's checks run, another run checks `raced` to the end first.
    RacingCheck.target = (raced, settings)

    statuses = check_submissions(session, [clean, spam, tip, raced, gone], racing)

    assert statuses == {clean: Status.published, spam: Status.spam, tip: Status.new}
    for submission_id in (clean, spam, tip):
        seen = inspect(engine, submission_id)
        assert [name for name, _ in seen.results] == [*ALL, "racing"]
        assert len(seen.audit) == 1
    # The raced one keeps the other run's results and its single audit row.
    seen = inspect(engine, raced)
    assert seen.results == [(name, "ok") for name in ALL]
    assert seen.audit == [("system", "received", "published")]
    # A second delivery of the same batch changes nothing.
    assert check_submissions(session, [clean, spam, tip, raced], racing) == {}
