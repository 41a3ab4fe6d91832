"""A comment sender's record, as its page shows it: their other comments and their sanctions.

The sender is known by the comment's e-mail hash, else its network hash (the indexes
ix_submissions_email_hash and ix_submissions_ip_hash serve both lookups). The page never shows
either hash: only counts, links to the other comments and the sanctions in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.enums import BanTarget, Kind, Status
from core.models import Ban, Submission
from worker.checks.reputation import name_key

# How many of the sender's other comments the page lists, newest first.
RECENT_SHOWN = 10
# The statuses the record counts, in the order the page shows them.
COUNTED = (Status.published, Status.rejected, Status.spam, Status.pending, Status.reported)


@dataclass(frozen=True)
class SenderHistory:
    """What a comment's sender did before (or since): counts by status, recent comments."""

    # "email" or "ip": which of the comment's hashes identified the sender; None if neither.
    known_by: str | None
    counts: dict[Status, int] = field(default_factory=dict)
    recent: list[Submission] = field(default_factory=list)
    sanctions: list[Ban] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many other comments the sender sent."""
        return sum(self.counts.values())


def _same_sender(submission: Submission) -> tuple[str, ColumnElement[bool]] | None:
    # The e-mail hash names a person better than a network shared by a household or an office.
    if submission.email_hash:
        return "email", Submission.email_hash == submission.email_hash
    if submission.ip_hash:
        return "ip", Submission.ip_hash == submission.ip_hash
    return None


def sender_history(
    session: Session, submission: Submission, recent: int = RECENT_SHOWN
) -> SenderHistory:
    """The record of a comment's sender: their other comments by status, the latest ones, and
    the sanctions (bans, pre-moderation) in force on them."""
    sanctions = active_sanctions(session, submission)
    same = _same_sender(submission)
    if same is None:
        return SenderHistory(None, sanctions=sanctions)
    known_by, condition = same
    others = (
        Submission.kind == Kind.comment,
        condition,
        Submission.id != submission.id,
    )
    found = dict(
        session.execute(
            select(Submission.status, func.count()).where(*others).group_by(Submission.status)
        ).all()
    )
    # The four a moderator weighs are always shown, even at nought; reported only when some are.
    counts = {
        status: found.get(status, 0)
        for status in COUNTED
        if status is not Status.reported or found.get(status)
    }
    latest = list(
        session.scalars(
            select(Submission)
            .where(*others)
            .order_by(Submission.created_at.desc(), Submission.id.desc())
            .limit(recent)
        )
    )
    return SenderHistory(known_by, counts, latest, sanctions)


def active_sanctions(
    session: Session, submission: Submission, now: datetime | None = None
) -> list[Ban]:
    """Bans and pre-moderation in force on the comment's sender (by e-mail, network or name)."""
    now = now or utcnow()
    named = []
    if submission.email_hash:
        named.append((Ban.target == BanTarget.email) & (Ban.value == submission.email_hash))
    if submission.ip_hash:
        named.append((Ban.target == BanTarget.ip) & (Ban.value == submission.ip_hash))
    name = name_key(submission.author_name or "")
    if name:
        named.append((Ban.target == BanTarget.name) & (Ban.value == name))
    if not named:
        return []
    return list(
        session.scalars(
            select(Ban)
            .where(
                or_(*named),
                Ban.lifted_at.is_(None),
                or_(Ban.expires_at.is_(None), Ban.expires_at > now),
            )
            .order_by(Ban.id)
        )
    )
