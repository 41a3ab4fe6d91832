"""Telling Akismet what moderators decided, and forgetting the senders' details after that.

Akismet learns from its mistakes, and only from those (its documentation: submit-spam for spam
it missed, submit-ham for its false positives). So, for comments a person decided:
  - spam that Akismet had not called spam  -> submit-spam
  - published that Akismet had called spam -> submit-ham
A report is sent with the same details as the comment-check (the sender copy), and then the
sender copy is deleted: the first report is the last one for that comment. Copies no report
needs are deleted settings.akismet_keep_days after the comment came in, whatever happened to it.
A report that fails is tried again on the next run; nothing is logged of a comment but its id.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.enums import Kind, Status, Verdict
from core.models import CheckResult, Submission
from worker.akismet import Akismet, AkismetError, Comment, open_sender_copy
from worker.checks.akismet import AkismetCheck

log = logging.getLogger(__name__)

FEEDBACK_TASK = "worker.tasks.akismet_feedback"
# How often beat runs the task: every minute with a key (reports go out soon after a decision),
# every hour without one (only to delete what was kept before Akismet was turned off).
INTERVAL_SECONDS = 60.0
INTERVAL_WITHOUT_KEY_SECONDS = 3600.0
# Reports per query; one run sends batch after batch for at most RUN_SECONDS.
BATCH = 50
RUN_SECONDS = 30.0

Label = Literal["spam", "ham"]


@dataclass(frozen=True)
class Report:
    """One report to send: which submission, which label, and what Akismet is told."""

    submission_id: int
    label: Label
    comment: Comment | None  # None if the sender copy could not be opened


def interval_seconds(settings: Settings) -> float:
    """How often beat should run the feedback task with these settings."""
    return INTERVAL_SECONDS if settings.akismet_key else INTERVAL_WITHOUT_KEY_SECONDS


def run(session: Session, settings: Settings, *, now: datetime | None = None) -> int:
    """Delete expired sender copies, then send the reports that are due; how many were sent."""
    now = now or utcnow()
    purge_sender_copies(session, settings, now=now)
    if not settings.akismet_key:
        return 0
    started = time.monotonic()
    total = 0
    while True:
        sent = send_reports(session, settings, now=now)
        total += sent
        # A full batch went out: more may be due (a wave of spam someone just cleared).
        if sent < BATCH or time.monotonic() - started > RUN_SECONDS:
            return total


def purge_sender_copies(session: Session, settings: Settings, *, now: datetime) -> int:
    """Delete the sender copies of comments older than settings.akismet_keep_days."""
    cutoff = now - timedelta(days=settings.akismet_keep_days)
    purged = session.execute(
        update(Submission)
        .where(Submission.sender_copy.is_not(None), Submission.created_at < cutoff)
        .values(sender_copy=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.commit()
    if purged:
        log.info("deleted %d expired Akismet sender copies", purged)
    return int(purged or 0)


def due_reports(
    session: Session, settings: Settings, *, now: datetime, limit: int = BATCH
) -> list[Report]:
    """The reports moderators' decisions call for, oldest decision first (read, not sent)."""
    called_spam = exists().where(
        CheckResult.submission_id == Submission.id,
        CheckResult.name == AkismetCheck.name,
        CheckResult.verdict == Verdict.spam,
    )
    spam = and_(Submission.status == Status.spam, ~called_spam, _not_reported("spam"))
    ham = and_(Submission.status == Status.published, called_spam, _not_reported("ham"))
    rows = session.scalars(
        select(Submission)
        .where(
            Submission.kind == Kind.comment,
            Submission.sender_copy.is_not(None),
            Submission.decided_by_id.is_not(None),
            # Older copies are purged anyway; this bound lets the status index do the work.
            Submission.created_at >= now - timedelta(days=settings.akismet_keep_days),
            or_(spam, ham),
        )
        .order_by(Submission.decided_at, Submission.id)
        .limit(limit)
    ).all()
    reports = []
    for row in rows:
        sender = open_sender_copy(settings, row.id, row.sender_copy)
        comment = None
        if sender and sender.get("user_ip"):
            comment = Comment.of(
                sender,
                content=row.body or "",
                author=row.author_name or "",
                lang=row.locale,
                received_at=row.created_at,
            )
        label: Label = "spam" if row.status is Status.spam else "ham"
        reports.append(Report(row.id, label, comment))
    return reports


def send_reports(session: Session, settings: Settings, *, now: datetime) -> int:
    """Send the reports that are due; stop at the first failure (the next run tries again)."""
    reports = due_reports(session, settings, now=now, limit=BATCH)
    # No transaction stays open while Akismet is asked (on SQLite it would hold the lock).
    session.rollback()
    client = Akismet.from_settings(settings)
    sent = 0
    for report in reports:
        if report.comment is None:
            # Nothing Akismet could use: forget the copy rather than read it every run.
            _forget(session, report.submission_id, reported=None)
            continue
        try:
            if report.label == "spam":
                client.submit_spam(report.comment)
            else:
                client.submit_ham(report.comment)
        except AkismetError as exc:
            log.warning(
                "Akismet submit-%s for submission %d failed, will retry: %s",
                report.label,
                report.submission_id,
                exc,
            )
            break
        _forget(session, report.submission_id, reported=report.label)
        sent += 1
        log.info("reported submission %d to Akismet as %s", report.submission_id, report.label)
    return sent


def _not_reported(label: Label) -> ColumnElement[bool]:
    return or_(Submission.akismet_reported.is_(None), Submission.akismet_reported != label)


def _forget(session: Session, submission_id: int, *, reported: Label | None) -> None:
    values: dict[str, object] = {"sender_copy": None}
    if reported is not None:
        values["akismet_reported"] = reported
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
