"""Checking submissions: read them, run the checks, store the results and set their statuses.

Idempotent: a submission that is gone or no longer `received` is left alone, and when two runs
race (a redelivered task, a sweeper's duplicate) the first to commit wins and the other changes
nothing. Checks run outside any transaction: on SQLite a writing transaction holds the lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from nacl.exceptions import CryptoError
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import unseal
from core.enums import Kind, Status
from core.models import Article, CheckResult, Submission
from core.transitions import Change, change_many
from worker import tip_alerts
from worker.akismet import open_sender_copy
from worker.checks import Content, load_checks
from worker.environment import environment
from worker.pipeline import Outcome, run_checks, unreadable
from worker.policy import decide

log = logging.getLogger(__name__)


def check_submission(session: Session, submission_id: int, settings: Settings) -> Status | None:
    """Check one `received` submission and move it on; its new status, or None if unchanged."""
    return check_submissions(session, [submission_id], settings).get(submission_id)


def check_submissions(
    session: Session, submission_ids: Sequence[int], settings: Settings
) -> dict[int, Status]:
    """Check the `received` ones among these submissions; the new status of each one moved.

    One read, then the checks with no transaction open, then one write: the status changes, the
    results, the deletion of the tips' worker copies and the audit rows commit together. A
    batch costs a fraction of as many single checks (the worker's share of the CPU is what a
    busy one-machine install runs short of).
    """
    checks = load_checks(settings.checks)
    rows = session.execute(
        select(Submission, Article.mode)
        .outerjoin(Article, Submission.article_id == Article.id)
        .where(Submission.id.in_(submission_ids), Submission.status == Status.received)
        .order_by(Submission.id)
    ).all()
    # Plain values, not the rows: the rollback below expires the rows, and reading one again
    # would cost a query each.
    work = [
        (
            row.Submission.id,
            row.Submission.kind,
            row.Submission.version,
            row.mode,
            read_content(row.Submission, settings),
        )
        for row in rows
    ]
    if not work:
        session.rollback()
        return {}
    env = environment(session, settings, (content for *_, content in work if content))
    # End the read transaction before the checks run, however long they take. What was read is
    # enough: the version check in the write, not a second read, tells whether someone else
    # moved a submission meanwhile.
    session.rollback()

    changes: list[Change] = []
    results: dict[int, list[CheckResult]] = {}
    # The urgent rule reads a tip's text here, the only time the worker has it.
    urgent = tip_alerts.urgent_tips([(w[0], w[4]) for w in work], env.site.urgent_words)
    for submission_id, kind, version, mode, content in work:
        outcomes = run_checks(checks, content, env) if content else unreadable(checks)
        status = decide(kind, [o.result for o in outcomes], mode, settings)
        changes.append(
            Change(submission_id, kind, Status.received, status, version, {"check_copy": None})
        )
        results[submission_id] = _rows(submission_id, outcomes)
    try:
        _relax_durability(session)
        # The status changes come first: on PostgreSQL their row locks make a racing run wait,
        # then find the versions moved on, before it has inserted anything.
        made = change_many(session, changes, actor=None, reason="checks", action="checks")
        tip_alerts.mark_urgent(session, urgent.intersection(c.submission_id for c in made))
        for change in made:
            session.add_all(results[change.submission_id])
        session.commit()
    except IntegrityError:
        session.rollback()
        log.info("submissions %s were checked by another run", list(submission_ids))
        return {}
    for change in made:
        log.info("submission %d checked: %s", change.submission_id, change.to.value)
    return {change.submission_id: change.to for change in made}


def _relax_durability(session: Session) -> None:
    # On PostgreSQL the commit need not wait for its WAL flush: if the server crashed right after
    # it, the submission would simply be `received` again and the sweeper would have it checked
    # once more. Nothing a person did is at stake (their decisions commit durably).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def read_content(submission: Submission, settings: Settings) -> Content | None:
    """What the checks read: a comment's body, or a tip's worker copy opened; None if unreadable."""
    who: dict[str, Any] = {
        "email_hash": submission.email_hash,
        "ip_hash": submission.ip_hash,
        "submission_id": submission.id,
        "article_id": submission.article_id,
        "locale": submission.locale,
        "received_at": submission.created_at,
    }
    if submission.kind is Kind.comment:
        return Content(
            kind=Kind.comment,
            text=submission.body or "",
            name=submission.author_name or "",
            sender=open_sender_copy(settings, submission.id, submission.sender_copy),
            **who,
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
        **who,
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
