"""The Celery tasks: thin wrappers that take ids and call the plain functions that do the work.

They run in the worker's Flask app context (core.queue's FlaskTask), so `db.session` is the
context's session and is closed when the task ends.
"""

from __future__ import annotations

from celery import Celery, shared_task
from flask import current_app
from sqlalchemy.orm import Session

from core import retention, tallies
from core.app import current_settings
from core.db import db
from core.queue import CHECK_TASK, SWEEP_TASK
from worker import (
    akismet_feedback,
    articles,
    checking,
    digest_delivery,
    learning,
    reply_notices,
    sweeper,
    tip_alerts,
    webhooks,
)

RETRAIN_TASK = "worker.tasks.retrain"
AUTO_CLOSE_TASK = "worker.tasks.auto_close"
COMPACT_TALLIES_TASK = "worker.tasks.compact_tallies"
RETENTION_TASK = "worker.tasks.retention"
DIGESTS_TASK = "worker.tasks.send_digests"


@shared_task(name=CHECK_TASK, ignore_result=True)
def check_submissions(submission_ids: list[int]) -> None:
    """Check a batch of submissions (idempotent: a second delivery changes nothing)."""
    checking.check_submissions(db.session, submission_ids, current_settings())


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep() -> None:
    """Relay new submissions to the workers, and enqueue again those whose task was lost."""
    celery: Celery = current_app.extensions["celery"]
    sweeper.sweep(db.session, celery, current_settings())


@shared_task(name=akismet_feedback.FEEDBACK_TASK, ignore_result=True)
def send_akismet_feedback() -> None:
    """Report moderators' decisions to Akismet; delete the sender copies no longer needed."""
    akismet_feedback.run(db.session, current_settings())


@shared_task(name=RETRAIN_TASK, ignore_result=True)
def retrain() -> None:
    """Retrain the spam classifier from moderators' decisions; promote it if it is not worse."""
    learning.retrain(db.session, current_settings())


@shared_task(name=AUTO_CLOSE_TASK, ignore_result=True)
def auto_close() -> None:
    """Close articles older than the admins' auto-close setting to new comments."""
    articles.close_old_articles(db.session)


@shared_task(name=COMPACT_TALLIES_TASK, ignore_result=True)
def compact_tallies() -> None:
    """Fold the queues' running tallies into one row per status (core.tallies)."""
    tallies.compact(db.session)


@shared_task(name=RETENTION_TASK, ignore_result=True)
def apply_retention() -> None:
    """Purge the closed tips that are due and expire unanswered codenames (core.retention)."""
    retention.run(db.session, current_settings())


@shared_task(name=DIGESTS_TASK, ignore_result=True)
def send_digests() -> None:
    """Send the e-mail digests that are due and retry failed ones (worker.digest_delivery)."""
    engine = db.engine_for(current_app)
    # Sessions of its own: each claim is committed before its digest is sent.
    digest_delivery.run_due(lambda: Session(engine), current_settings())


@shared_task(name=tip_alerts.ALERT_TASK, ignore_result=True)
def send_tip_alerts() -> None:
    """E-mail editors who asked for tip alerts about the tips that came in (worker.tip_alerts)."""
    tip_alerts.run(db.session, current_settings())


@shared_task(name=webhooks.WEBHOOKS_TASK, ignore_result=True)
def send_webhooks() -> None:
    """Send the outlet's due webhook deliveries, signed, and retry failed ones (worker.webhooks)."""
    webhooks.run_due(db.session, current_settings())


@shared_task(name=reply_notices.NOTICES_TASK, ignore_result=True)
def send_reply_notices() -> None:
    """E-mail subscribers about new replies to their comments (worker.reply_notices)."""
    reply_notices.run_due(db.session, current_settings())
