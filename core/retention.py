"""Retention: closed tips are purged after the admins' tip_retention_days; codenames expire.

Readers' addresses kept for reply notifications are deleted SUBSCRIPTION_DAYS after they were
given (the notices stop then).

A daily job (worker.tasks.retention) calls `run`. Purging a tip keeps its submission row (status
`purged`, so counts and the audit trail still make sense) and removes everything a source wrote
or an editor added: the sealed content, the checks' copy and reasons (a reason can quote the
text), the messages, labels, notes and files. Each file is overwritten with random bytes and
synced before it is unlinked (core.attachments.delete). The audit row names the reference and
counts, never content.

All three jobs are idempotent and safe to run twice at once: each tip is purged in its own
transaction, after locking its rows and checking again that it is still due, and the status
change itself is conditional on the version seen (core.transitions), so only one run wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from core import attachments, limits
from core.config import Settings
from core.db import utcnow
from core.enums import Kind, Status, TipMessageKind
from core.models import (
    Attachment,
    AuditEvent,
    CheckResult,
    Claim,
    Note,
    ReplySubscription,
    Submission,
    TipDetails,
    TipLabel,
    TipMessage,
    TipRead,
)
from core.site_settings import load
from core.transitions import SYSTEM, StaleVersion, change_status

log = logging.getLogger(__name__)

# The audit log's actions for what this module does.
PURGE_ACTION = "purge"
CODENAME_EXPIRED_ACTION = "codename_expired"
# Purged in batches of ids, each tip in its own short transaction.
BATCH = 200
# A reader's address kept for reply notifications is deleted this long after their comment.
SUBSCRIPTION_DAYS = 90


@dataclass(frozen=True)
class Outcome:
    """What one run did: the references of the tips purged and how many codenames expired."""

    purged: list[str]
    codenames_expired: int
    # Reply subscriptions whose sealed address was deleted (older than SUBSCRIPTION_DAYS).
    addresses_deleted: int = 0


def run(session: Session, settings: Settings, now: datetime | None = None) -> Outcome:
    """Purge the closed tips that are due and expire the unanswered codenames."""
    now = now or utcnow()
    purged = purge_closed_tips(session, settings, now)
    expired = expire_codenames(session, now)
    addresses = delete_old_subscription_addresses(session, now)
    return Outcome(purged, expired, addresses)


def purge_closed_tips(
    session: Session, settings: Settings, now: datetime | None = None
) -> list[str]:
    """Purge the tips closed more than tip_retention_days ago and not kept; their references."""
    days = load(session).tip_retention_days
    session.rollback()
    if days <= 0:
        return []
    cutoff = (now or utcnow()) - timedelta(days=days)
    purged: list[str] = []
    after = 0
    while True:
        ids = list(session.scalars(_due(cutoff).where(Submission.id > after).limit(BATCH)))
        session.rollback()  # hold no transaction (SQLite's write lock) between tips
        if not ids:
            break
        for submission_id in ids:
            ref = _purge_one(session, settings, submission_id, cutoff, days)
            if ref is not None:
                purged.append(ref)
        after = ids[-1]
    if purged:
        log.info("purged %d closed tips older than %d days", len(purged), days)
    return purged


def _due(cutoff: datetime) -> Select[int]:
    # Tips closed before `cutoff` and not kept. A tip closed before closed_at was recorded
    # counts from its last status change.
    closed_at = func.coalesce(TipDetails.closed_at, Submission.updated_at)
    return (
        select(Submission.id)
        .join(TipDetails, TipDetails.submission_id == Submission.id)
        .where(
            Submission.kind == Kind.tip,
            Submission.status == Status.closed,
            TipDetails.keep.is_(False),
            closed_at < cutoff,
        )
        .order_by(Submission.id)
    )


def _purge_one(
    session: Session, settings: Settings, submission_id: int, cutoff: datetime, days: int
) -> str | None:
    # Lock the tip's rows (PostgreSQL; SQLite's transaction holds the write lock), then check
    # again: an editor may have reopened it or marked it "keep" since it was listed.
    due = session.scalar(_due(cutoff).where(Submission.id == submission_id).with_for_update())
    if due is None:
        session.rollback()
        return None
    submission = session.get(Submission, submission_id, populate_existing=True)
    details = session.get(TipDetails, submission_id, populate_existing=True)
    assert submission is not None and details is not None
    ref = submission.ref
    files = list(
        session.scalars(select(Attachment).where(Attachment.submission_id == submission_id))
    )
    messages = _count(session, TipMessage, submission_id)
    labels = _count(session, TipLabel, submission_id)
    reason = (
        f"{ref}: closed over {days} days; removed {messages} messages, "
        f"{len(files)} files, {labels} labels"
    )
    try:
        change_status(
            session,
            submission,
            Status.purged,
            expected_version=submission.version,
            actor=None,
            reason=reason[: limits.REASON_MAX],
            action=PURGE_ACTION,
            values={"sealed": None, "check_copy": None, "sender_copy": None},
            commit=False,
        )
    except StaleVersion:
        return None  # another run (or an editor) got there first; change_status rolled back
    # Files first (they hang off messages), then what else holds content or names people.
    for model in (Attachment, TipMessage, TipLabel, TipRead, CheckResult, Note, Claim):
        session.execute(
            delete(model)
            .where(model.submission_id == submission_id)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        update(TipDetails)
        .where(TipDetails.submission_id == submission_id)
        .values(
            codename_hash=None,
            reply_public_key=None,
            codename_expires_at=None,
            tip_key_id=None,
            starred=False,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    # Overwritten and unlinked (core.attachments.shred) inside the transaction: if that fails,
    # the tip stays closed and the next run tries again (a file already gone is skipped).
    for attachment in files:
        attachments.delete(settings.instance_path, attachment)
    session.commit()
    return ref


def _count(session: Session, model: type[TipMessage] | type[TipLabel], submission_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(model).where(model.submission_id == submission_id)
        )
        or 0
    )


def expire_codenames(session: Session, now: datetime | None = None) -> int:
    """Stop the codenames past their date whose tip never got a reply; how many expired."""
    now = now or utcnow()
    replied = exists().where(
        TipMessage.submission_id == TipDetails.submission_id,
        TipMessage.kind == TipMessageKind.reply,
    )
    # One conditional UPDATE: a second run at the same time finds nothing left to clear.
    expired = list(
        session.scalars(
            update(TipDetails)
            .where(
                TipDetails.codename_hash.is_not(None),
                TipDetails.codename_expires_at < now,
                ~replied,
            )
            .values(codename_hash=None, reply_public_key=None)
            .returning(TipDetails.submission_id)
            .execution_options(synchronize_session=False)
        )
    )
    if expired:
        session.execute(
            insert(AuditEvent),
            [
                {
                    "at": now,
                    "actor_label": SYSTEM,
                    "action": CODENAME_EXPIRED_ACTION,
                    "submission_id": submission_id,
                    "reason": "codename expired without a reply",
                }
                for submission_id in expired
            ],
        )
    session.commit()
    if expired:
        log.info("expired %d codenames that never got a reply", len(expired))
    return len(expired)


def delete_old_subscription_addresses(session: Session, now: datetime | None = None) -> int:
    """Delete the addresses of reply subscriptions older than SUBSCRIPTION_DAYS; how many."""
    cutoff = (now or utcnow()) - timedelta(days=SUBSCRIPTION_DAYS)
    # One conditional UPDATE: idempotent, and a concurrent run finds nothing left to clear.
    # The row stays (with its keyed hash) so that its ledger of notices still makes sense.
    result = session.execute(
        update(ReplySubscription)
        .where(ReplySubscription.email_sealed.is_not(None), ReplySubscription.created_at < cutoff)
        .values(email_sealed=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    deleted = int(getattr(result, "rowcount", 0) or 0)
    if deleted:
        log.info("deleted %d addresses kept for reply notifications", deleted)
    return deleted
