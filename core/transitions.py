"""The one way a submission changes status: allowed moves, optimistic locking, an audit row.

`change_status` moves one submission for a person (or a check) and commits; `change_many` makes
the checks' changes for a batch of submissions in one transaction. Both go through `_apply`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import comment_events, limits, thread_cache
from core.db import utcnow
from core.enums import Kind, Status
from core.models import AuditEvent, Flag, StaffUser, Submission

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
        # A banned sender's comment (worker.policy's "banned" outcome).
        (S.received, S.rejected): SYSTEM,
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
        # So that closing a tip can be undone (moderation.undo).
        (S.closed, S.new): STAFF,
        (S.closed, S.followed_up): STAFF,
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


@dataclass(frozen=True)
class Change:
    """One status change: of which submission, from what, to what, over which version."""

    submission_id: int
    kind: Kind
    frm: Status
    to: Status
    expected_version: int
    values: Mapping[str, Any] = field(default_factory=dict)


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
    change = Change(
        submission.id, submission.kind, submission.status, to, expected_version, values or {}
    )
    try:
        _check_allowed(change, actor)
    except TransitionError:
        if submission.version != expected_version:
            raise _stale(session, submission.id) from None
        raise
    audit = _apply(session, change, actor, reason, action, utcnow())
    if audit is None:
        raise _stale(session, submission.id)
    session.add(audit)
    if commit:
        session.commit()
    session.expire(submission)
    return submission


def change_many(
    session: Session,
    changes: Iterable[Change],
    *,
    actor: StaffUser | None,
    reason: str = "",
    action: str = "status",
) -> list[Change]:
    """Make each change whose submission is still at its expected version, with its audit row.

    The ones that lost a race are skipped, not raised: the worker checks submissions in batches,
    and one that another run got to first must not undo the rest. The caller commits.
    """
    now = utcnow()
    made, audits = [], []
    for change in changes:
        _check_allowed(change, actor)
        audit = _apply(session, change, actor, reason, action, now)
        if audit is not None:
            made.append(change)
            audits.append(audit)
    # Added after the UPDATEs, so that they are flushed as one multi-row INSERT.
    session.add_all(audits)
    return made


def _check_allowed(change: Change, actor: StaffUser | None) -> None:
    who = ALLOWED[change.kind].get((change.frm, change.to))
    if who is None or (who == STAFF) != (actor is not None):
        raise TransitionError(
            f"a {change.kind.value} cannot go from {change.frm.value} to {change.to.value}"
        )


def _apply(
    session: Session,
    change: Change,
    actor: StaffUser | None,
    reason: str,
    action: str,
    now: datetime,
) -> AuditEvent | None:
    # The change's audit row if it was made (for the caller to add), None if it lost a race.
    # The conditional UPDATE is the lock: it changes the row only if nobody moved it since the
    # version the caller saw (on PostgreSQL a concurrent one waits, then finds it moved on).
    values: dict[str, Any] = {
        "status": change.to,
        "version": change.expected_version + 1,
        "updated_at": now,
        **change.values,
    }
    if actor is not None:
        values.update(decided_by_id=actor.id, decided_at=now)
    changed = session.execute(
        update(Submission)
        .where(
            Submission.id == change.submission_id,
            Submission.version == change.expected_version,
            Submission.status == change.frm,
        )
        .values(**values)
        .returning(Submission.article_id)
        .execution_options(synchronize_session=False)
    ).first()
    if changed is None:
        return None
    if change.frm == S.reported:
        _resolve_flags(session, change, actor, now)
    if change.kind is Kind.comment:
        # Its thread's cached pages go once this commits; the outlet's webhooks hear of it.
        thread_cache.touch(session, changed.article_id)
        comment_events.record(session, change.submission_id, change.frm, change.to, now)
    return AuditEvent(
        at=now,
        actor_id=actor.id if actor else None,
        actor_label=actor.email if actor else SYSTEM,
        action=action,
        submission_id=change.submission_id,
        from_status=change.frm.value,
        to_status=change.to.value,
        reason=reason[: limits.REASON_MAX],
    )


def _resolve_flags(
    session: Session, change: Change, actor: StaffUser | None, now: datetime
) -> None:
    # A decision on a reported comment answers its open flags: kept (dismissed) or removed.
    # Here, so that a single decision, a bulk action and an undo all resolve them; flags
    # readers add after a "keep" are new, open ones: only they count towards the threshold.
    outcome = "kept" if change.to == S.published else S(change.to).value
    session.execute(
        update(Flag)
        .where(Flag.submission_id == change.submission_id, Flag.resolved_at.is_(None))
        .values(resolved_at=now, resolved_by_id=actor.id if actor else None, outcome=outcome)
        .execution_options(synchronize_session=False)
    )


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
