"""The one way a submission changes status: allowed moves, optimistic locking, an audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import limits
from core.db import utcnow
from core.enums import Kind, Status
from core.models import AuditEvent, StaffUser, Submission

S = Status

# Who may make a move: the checks ("system"), readers' flags, or staff.
SYSTEM = "system"
STAFF = "staff"
# The audit log's actor for a failed login whose e-mail names no account.
UNKNOWN_ACCOUNT = "(unknown account)"

ALLOWED: dict[Kind, dict[tuple[Status, Status], str]] = {
    Kind.comment: {
        (S.received, S.published): SYSTEM,
        (S.received, S.pending): SYSTEM,
        (S.received, S.spam): SYSTEM,
        (S.published, S.reported): SYSTEM,
        (S.pending, S.published): STAFF,
        (S.pending, S.rejected): STAFF,
        (S.pending, S.spam): STAFF,
        (S.reported, S.published): STAFF,
        (S.reported, S.rejected): STAFF,
        (S.reported, S.spam): STAFF,
        # Any decision can be undone by a moderator.
        (S.published, S.rejected): STAFF,
        (S.published, S.spam): STAFF,
        (S.published, S.pending): STAFF,
        (S.rejected, S.published): STAFF,
        (S.rejected, S.spam): STAFF,
        (S.rejected, S.pending): STAFF,
        (S.spam, S.published): STAFF,
        (S.spam, S.rejected): STAFF,
        (S.spam, S.pending): STAFF,
    },
    Kind.tip: {
        (S.received, S.new): SYSTEM,
        (S.received, S.spam): SYSTEM,
        (S.new, S.in_progress): STAFF,
        (S.new, S.closed): STAFF,
        (S.new, S.spam): STAFF,
        (S.in_progress, S.followed_up): STAFF,
        (S.in_progress, S.closed): STAFF,
        (S.in_progress, S.new): STAFF,
        (S.followed_up, S.closed): STAFF,
        (S.followed_up, S.in_progress): STAFF,
        (S.closed, S.in_progress): STAFF,
        (S.closed, S.purged): SYSTEM,
        (S.spam, S.new): STAFF,
    },
}


class TransitionError(Exception):
    """The move is not allowed from the submission's current status."""


@dataclass
class StaleVersion(Exception):
    """Someone changed the submission after the caller looked at it."""

    status: Status
    version: int
    decided_by: str | None
    decided_at: datetime | None

    def __str__(self) -> str:
        who = self.decided_by or SYSTEM
        return f"already changed by {who}: now {self.status.value} (version {self.version})"


def allowed_targets(kind: Kind, current: Status, by: str = STAFF) -> list[Status]:
    """The statuses `by` may move a submission of `kind` to from `current`."""
    return [to for (frm, to), who in ALLOWED[kind].items() if frm == current and who == by]


def change_status(
    session: Session,
    submission: Submission,
    to: Status,
    *,
    expected_version: int,
    actor: StaffUser | None,
    reason: str = "",
    action: str = "status",
    values: dict[str, Any] | None = None,
    commit: bool = True,
) -> Submission:
    """Move `submission` to `to` if nobody changed it since `expected_version`; audit; commit.

    Anything else pending in the session (check results, say) commits with it. On a conflict the
    session is rolled back and StaleVersion says who changed it, when, and to what.
    """
    frm = submission.status
    who = ALLOWED[submission.kind].get((frm, to))
    if who is None or (who == STAFF) != (actor is not None):
        if submission.version != expected_version:
            raise _stale(session, submission.id)
        raise TransitionError(f"a {submission.kind.value} cannot go from {frm.value} to {to.value}")
    now = utcnow()
    changes: dict[str, Any] = {
        "status": to,
        "version": expected_version + 1,
        "updated_at": now,
        **(values or {}),
    }
    if actor is not None:
        changes.update(decided_by_id=actor.id, decided_at=now)
    result = session.execute(
        update(Submission)
        .where(
            Submission.id == submission.id,
            Submission.version == expected_version,
            Submission.status == frm,
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _stale(session, submission.id)
    session.add(
        AuditEvent(
            at=now,
            actor_id=actor.id if actor else None,
            actor_label=actor.email if actor else SYSTEM,
            action=action,
            submission_id=submission.id,
            from_status=frm.value,
            to_status=to.value,
            reason=reason[: limits.REASON_MAX],
        )
    )
    if commit:
        session.commit()
    session.expire(submission)
    return submission


def _stale(session: Session, submission_id: int) -> StaleVersion:
    session.rollback()
    current = session.execute(
        select(Submission.status, Submission.version).where(Submission.id == submission_id)
    ).one()
    last = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.submission_id == submission_id, AuditEvent.to_status.is_not(None))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    return StaleVersion(
        status=Status(current.status),
        version=current.version,
        decided_by=last.actor_label if last else None,
        decided_at=last.at if last else None,
    )
