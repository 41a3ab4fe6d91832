"""The sweeper: the relay from the database to the broker, run by beat every few seconds.

The public site never talks to the broker: it commits a submission as `received` and answers
(an outbox). Each run of the sweeper then
  - enqueues every new submission (never enqueued yet), oldest first, in bounded batches;
  - enqueues again one still `received` `sweep_after_seconds` after its enqueue when the queue is
    empty (its task was lost: a broker that restarted without persistence, say), and any still
    `received` `resweep_after_seconds` after its enqueue in any case (a worker killed with its
    task reserved; the broker would hand that task out again only after its visibility timeout).
`enqueued_at` is set only once the broker took the ids, so an outage loses nothing: the next run
tries again. A duplicate task is harmless (checking is idempotent) and rare by design.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from celery import Celery
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.enums import Status
from core.models import Submission
from core.queue import enqueue_checks, queue_length

log = logging.getLogger(__name__)

BATCH = 1000
# One run keeps relaying full batches for at most this long, then leaves the rest to the next.
RUN_SECONDS = 5.0


def sweep(
    session: Session,
    celery: Celery,
    settings: Settings,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
) -> int:
    """Enqueue new and lost submissions; how many were enqueued."""
    started = time.monotonic()
    total = 0
    while True:
        enqueued, full = _sweep_once(session, celery, settings, now or utcnow(), batch)
        total += enqueued
        if not full or time.monotonic() - started > RUN_SECONDS:
            return total


def _sweep_once(
    session: Session, celery: Celery, settings: Settings, now: datetime, batch: int
) -> tuple[int, bool]:
    lost_after = timedelta(seconds=settings.resweep_after_seconds)
    if queue_length(celery, settings.task_queue) == 0:
        lost_after = timedelta(seconds=settings.sweep_after_seconds)
    ids = _received(session, Submission.enqueued_at.is_(None), batch)
    if len(ids) < batch:
        ids += _received(session, Submission.enqueued_at < now - lost_after, batch - len(ids))
    # Do not hold a transaction (SQLite's write lock) while talking to the broker.
    session.rollback()
    if not ids:
        return 0, False
    if not enqueue_checks(celery, ids):
        return 0, False  # left unmarked: the next run tries again
    session.execute(
        update(Submission)
        .where(Submission.id.in_(ids), Submission.status == Status.received)
        .values(enqueued_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    log.info("sweeper enqueued %d submissions", len(ids))
    return len(ids), len(ids) == batch


def _received(session: Session, condition: ColumnElement[bool], limit: int) -> list[int]:
    return list(
        session.scalars(
            select(Submission.id)
            .where(Submission.status == Status.received, condition)
            .order_by(Submission.created_at, Submission.id)
            .limit(limit)
        )
    )
