"""Readers' flags on published comments: storing one, and moving a comment to Reported.

Resolving flags is part of every status change out of `reported` (core.transitions), so a
single decision, a bulk action and an undo all resolve them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import limits
from core.enums import FlagReason, Kind, Status
from core.models import Flag, Submission
from core.transitions import StaleVersion, change_status

# The audit action of the move published -> reported that readers' flags cause.
FLAGGED_ACTION = "flagged"

# What readers may flag: the comments they can see (a reported one stays up until decided,
# and telling a reader it was already reported would say what others did).
REPORTABLE = (Status.published, Status.reported)

# Readers and staff read the same words for a reason.
REASON_LABELS = {
    FlagReason.spam: _l("Spam or advertising"),
    FlagReason.abuse: _l("Abusive or hateful"),
    FlagReason.off_topic: _l("Off-topic"),
    FlagReason.other: _l("Something else"),
}


@dataclass(frozen=True)
class FlagOutcome:
    """What came of a reader's report: whether it counted, and the comment's open flags."""

    counted: bool  # False when this reader had already reported the comment
    open_flags: int
    moved: bool  # whether this report moved the comment into the Reported queue


def reportable(submission: Submission) -> bool:
    """Whether readers may report `submission`: a comment they can see."""
    return submission.kind is Kind.comment and submission.status in REPORTABLE


def count_open(session: Session, submission_id: int) -> int:
    """How many flags on a submission no moderator has resolved yet."""
    query = select(func.count()).where(
        Flag.submission_id == submission_id, Flag.resolved_at.is_(None)
    )
    return session.scalar(query) or 0


def add_flag(
    session: Session,
    submission: Submission,
    reason: FlagReason,
    text: str,
    reporter_hash: str,
    threshold: int,
) -> FlagOutcome:
    """Store a reader's flag (once per reader and comment), committed; move it at `threshold`.

    When the comment's open flags reach `threshold` (at least 1) a published comment moves to
    `reported`, as the system, with an audit row. Two readers reaching it at once: one moves it,
    the other finds it moved (StaleVersion), which is what it wanted.
    """
    if not reportable(submission):
        raise ValueError(f"submission {submission.id} cannot be reported")
    counted = _store(session, submission.id, reason, text, reporter_hash)
    open_flags = count_open(session, submission.id)
    moved = False
    if submission.status is Status.published and open_flags >= max(threshold, 1):
        try:
            change_status(
                session,
                submission,
                Status.reported,
                expected_version=submission.version,
                actor=None,
                reason=f"{open_flags} reports",
                action=FLAGGED_ACTION,
            )
            moved = True
        except StaleVersion:
            pass  # someone (another reader's flag, a moderator) moved it first
    else:
        session.commit()  # end the read transaction (on SQLite it holds the write lock)
    return FlagOutcome(counted=counted, open_flags=open_flags, moved=moved)


def _store(
    session: Session, submission_id: int, reason: FlagReason, text: str, reporter_hash: str
) -> bool:
    # Whether a new flag was stored. The unique (submission, reporter) constraint makes a
    # repeat, even a concurrent one, count once.
    exists = session.scalar(
        select(Flag.id).where(
            Flag.submission_id == submission_id, Flag.reporter_hash == reporter_hash
        )
    )
    if exists is not None:
        return False
    session.add(
        Flag(
            submission_id=submission_id,
            reason=reason,
            text=text[: limits.FLAG_TEXT_MAX],
            reporter_hash=reporter_hash,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True
