"""Checking one submission: read it, run the checks, store their results and set its status.

Idempotent: a submission that is gone or no longer `received` is left alone, and when two runs
race (a redelivered task, a sweeper's duplicate) the first to commit wins and the other changes
nothing. Checks run outside any transaction: on SQLite every transaction holds the write lock.
"""

from __future__ import annotations

import logging
from typing import Any

from nacl.exceptions import CryptoError
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import unseal
from core.enums import Kind, Status
from core.models import Article, CheckResult, Submission
from core.transitions import StaleVersion, change_status
from worker.checks import Content, load_checks
from worker.pipeline import Outcome, run_checks, unreadable
from worker.policy import decide

log = logging.getLogger(__name__)


def check_submission(session: Session, submission_id: int, settings: Settings) -> Status | None:
    """Check a `received` submission and move it on; the new status, or None if nothing changed."""
    checks = load_checks(settings.checks)
    row = session.execute(
        select(Submission, Article.mode)
        .outerjoin(Article, Submission.article_id == Article.id)
        .where(Submission.id == submission_id)
    ).first()
    if row is None or row.Submission.status is not Status.received:
        session.rollback()
        return None
    submission, mode = row.Submission, row.mode
    kind = submission.kind
    version = submission.version
    content = read_content(submission, settings)
    # End the read transaction before the checks run, however long they take. The row is kept
    # as read (detached over the rollback, which would expire it): the version check in
    # change_status, not a second read, tells whether someone else moved it meanwhile.
    session.expunge(submission)
    session.rollback()
    session.add(submission)

    outcomes = run_checks(checks, content, settings) if content is not None else unreadable(checks)
    status = decide(kind, (o.result.verdict for o in outcomes), mode)
    try:
        _relax_durability(session)
        # The status change comes first: on PostgreSQL its row lock makes a racing run wait,
        # then find the version moved on, before it has inserted anything.
        change_status(
            session,
            submission,
            status,
            expected_version=version,
            actor=None,
            reason="checks",
            action="checks",
            values={"check_copy": None},
            commit=False,
        )
        session.add_all(_rows(submission_id, outcomes))
        session.commit()
    except StaleVersion:
        session.rollback()  # _stale's own read left a transaction open
        log.info("submission %d was already checked", submission_id)
        return None
    except IntegrityError:
        session.rollback()
        log.info("submission %d was checked by another run", submission_id)
        return None
    log.info("submission %d checked: %s", submission_id, status.value)
    return status


def _relax_durability(session: Session) -> None:
    # On PostgreSQL the commit need not wait for its WAL flush: if the server crashed right after
    # it, the submission would simply be `received` again and the sweeper would have it checked
    # once more. Nothing a person did is at stake (their decisions commit durably).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def read_content(submission: Submission, settings: Settings) -> Content | None:
    """What the checks read: a comment's body, or a tip's worker copy opened; None if unreadable."""
    if submission.kind is Kind.comment:
        return Content(
            kind=Kind.comment, text=submission.body or "", name=submission.author_name or ""
        )
    if submission.check_copy is None:
        log.warning("tip %d has no copy to check", submission.id)
        return None
    try:
        data: dict[str, Any] = unseal(settings.worker_private_key, submission.check_copy)
    except (CryptoError, ValueError) as exc:
        log.warning("tip %d: its copy cannot be opened (%s)", submission.id, type(exc).__name__)
        return None
    return Content(
        kind=Kind.tip,
        text=_text(data, "text"),
        name=_text(data, "name"),
        contact=_text(data, "contact"),
    )


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _rows(submission_id: int, outcomes: list[Outcome]) -> list[CheckResult]:
    return [
        CheckResult(
            submission_id=submission_id,
            name=o.name,
            version=o.version,
            verdict=o.result.verdict,
            score=o.result.score,
            reason=o.result.reason,
            reason_params=o.result.params,
        )
        for o in outcomes
    ]
