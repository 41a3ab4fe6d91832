"""The sweeper: re-enqueues submissions that are still `received` some time after they came in.

They are the ones whose enqueue failed (broker down when the reader submitted) or whose task was
lost with a worker. Each run takes a bounded batch, oldest first, and marks what it enqueued
with `swept_at`, so the same backlog is not enqueued again on every tick: a submission is swept
again only after RESWEEP_AFTER, when its earlier task has had ample time to run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import Celery
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.enums import Status
from core.models import Submission
from core.queue import enqueue_checks

log = logging.getLogger(__name__)

BATCH = 1000
RESWEEP_AFTER = timedelta(minutes=5)


def sweep(
    session: Session,
    celery: Celery,
    settings: Settings,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
) -> int:
    """Enqueue up to `batch` unchecked submissions; how many were enqueued."""
    now = now or utcnow()
    came_in_before = now - timedelta(seconds=settings.sweep_after_seconds)
    ids = list(
        session.scalars(
            select(Submission.id)
            .where(
                Submission.status == Status.received,
                Submission.created_at < came_in_before,
                or_(Submission.swept_at.is_(None), Submission.swept_at < now - RESWEEP_AFTER),
            )
            .order_by(Submission.created_at, Submission.id)
            .limit(batch)
        )
    )
    # Do not hold a transaction (SQLite's write lock) while talking to the broker.
    session.rollback()
    if not ids:
        return 0
    if not enqueue_checks(celery, ids):
        # Left unmarked, so the next run tries again.
        return 0
    session.execute(
        update(Submission)
        .where(Submission.id.in_(ids), Submission.status == Status.received)
        .values(swept_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    log.info("sweeper enqueued %d unchecked submissions", len(ids))
    return len(ids)
