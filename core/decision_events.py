"""Which audit rows are decisions, and by whom: the queries the stats page and digests share.

A person's decision is a status change into published, rejected or spam that the checks did not
make and that is not an undo; spam "caught by hand" is such a move into spam from a state a
reader could see or a moderator was holding; a false positive is a comment a person published
out of spam after the checks had marked it spam. Durations read in the largest unit that keeps
at least two of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import aliased

from core.enums import Kind, Status
from core.models import AuditEvent, Submission
from core.transitions import SYSTEM

# The statuses a person decides a comment into.
DECIDED = (Status.published.value, Status.rejected.value, Status.spam.value)
# The audit action of the checks' moves (worker.checking), and of taking a decision back: an
# undo restores an earlier state, it is not a new decision.
CHECKS_ACTION = "checks"
UNDO_ACTION = "undo"
# Where a comment was when a person caught it as spam by hand.
CAUGHT_FROM = (Status.pending.value, Status.published.value, Status.reported.value)

# Durations are shown in the largest unit that keeps the number above this many of it.
_UNITS = (("day", 86400.0), ("hour", 3600.0), ("minute", 60.0), ("second", 1.0))


def by_person() -> ColumnElement[bool]:
    """A status change a person made (the checks and readers' flags are "system")."""
    return and_(AuditEvent.actor_label != SYSTEM, AuditEvent.to_status.is_not(None))


def decision() -> ColumnElement[bool]:
    """A person's decision on a submission (not an undo)."""
    return and_(by_person(), AuditEvent.to_status.in_(DECIDED), AuditEvent.action != UNDO_ACTION)


def comment_events(since: datetime, *columns: Any) -> Any:
    """SELECT `columns` over the audit rows of comments from `since` on."""
    return (
        select(*columns)
        .join(Submission, Submission.id == AuditEvent.submission_id)
        .where(AuditEvent.at >= since, Submission.kind == Kind.comment)
    )


def false_positive_events(since: datetime, *columns: Any) -> Any:
    """A person published a comment out of spam, and the checks had marked it spam."""
    caught = aliased(AuditEvent)
    by_checks = (
        select(caught.id)
        .where(
            caught.submission_id == AuditEvent.submission_id,
            caught.action == CHECKS_ACTION,
            caught.to_status == Status.spam.value,
        )
        .exists()
    )
    return comment_events(since, *columns).where(
        decision(),
        AuditEvent.from_status == Status.spam.value,
        AuditEvent.to_status == Status.published.value,
        by_checks,
    )


def duration_unit(seconds: float) -> tuple[str, float]:
    """The unit a duration (or a chart's largest one) reads best in, and its size in seconds."""
    for name, size in _UNITS:
        if seconds >= 2 * size:
            return name, size
    return "second", 1.0
