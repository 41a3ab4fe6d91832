"""The worker's and beat's Celery app: `celery -A worker.celery_app worker` (or `beat`).

A minimal Flask app gives tasks their configuration and database session; it serves no requests.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_init

from core.app import create_base_app
from core.config import Settings
from core.db import db
from core.queue import SWEEP_TASK, init_celery
from worker.checks import load_checks
from worker.policy import policy_table

settings = Settings.from_env()
# Without its key the worker could not read tips: better not to start than to pass them on
# unchecked. Likewise a misspelt TIPLINE_CHECKS or an unsafe TIPLINE_POLICY stops it at start,
# not every task later.
settings.require_secrets("worker_private_key")
load_checks(settings.checks)
policy_table(settings.policy)

flask_app = create_base_app(
    __name__,
    settings=settings,
    templates="email",
    secret_key=secrets.token_hex(32),  # it serves no requests and signs nothing
    cookie_name="tipline_worker",
)
# Only the worker and beat need Celery: the web apps never talk to the broker (the sweeper
# relays what they commit).
celery: Celery = init_celery(flask_app, settings)

import worker.tasks  # noqa: E402  (registers the shared tasks with this app)

celery.conf.beat_schedule = {
    "sweep": {
        "task": SWEEP_TASK,
        "schedule": settings.sweep_interval_seconds,
        # A sweep that waited longer than this behind other tasks is dropped: a newer one
        # is on its way, and a stopped worker must not come back to a pile of them.
        "options": {"expires": max(settings.sweep_interval_seconds * 2, 10.0)},
    }
}
# Reports moderators' decisions to Akismet; deletes the senders' details kept for it.
celery.conf.beat_schedule["akismet-feedback"] = {
    "task": worker.akismet_feedback.FEEDBACK_TASK,
    "schedule": worker.akismet_feedback.interval_seconds(settings),
    "options": {"expires": worker.akismet_feedback.interval_seconds(settings)},
}
# Closes articles older than the admins' auto_close_days (a site setting; 0 closes none).
celery.conf.beat_schedule["auto-close"] = {
    "task": worker.tasks.AUTO_CLOSE_TASK,
    "schedule": 3600.0,
    "options": {"expires": 3600.0},
}
# Keeps the queues' counts a sum over a few rows (core.tallies).
celery.conf.beat_schedule["compact-tallies"] = {
    "task": worker.tasks.COMPACT_TALLIES_TASK,
    "schedule": 60.0,
    "options": {"expires": 60.0},
}
# Purges closed tips after tip_retention_days and expires unanswered codenames (core.retention).
# Daily at a set hour, not every 24 h: beat's schedule file does not always survive a restart
# (compose keeps it in /tmp), and an interval would then start again from zero each time.
celery.conf.beat_schedule["retention"] = {
    "task": worker.tasks.RETENTION_TASK,
    "schedule": crontab(minute="30", hour="3"),
    "options": {"expires": 6 * 3600.0},
}
# Finds due e-mail digests (each user's local schedule) and retries failed sends.
celery.conf.beat_schedule["digests"] = {
    "task": worker.tasks.DIGESTS_TASK,
    "schedule": 300.0,
    "options": {"expires": 300.0},
}
# One e-mail per batch of new tips to the editors who asked for tip alerts (worker.tip_alerts).
celery.conf.beat_schedule["tip-alerts"] = {
    "task": worker.tip_alerts.ALERT_TASK,
    "schedule": worker.tip_alerts.INTERVAL_SECONDS,
    "options": {"expires": worker.tip_alerts.INTERVAL_SECONDS},
}
# Sends the outlet's webhooks (comment published / removed), signed, with retries.
celery.conf.beat_schedule["webhooks"] = {
    "task": worker.webhooks.WEBHOOKS_TASK,
    "schedule": worker.webhooks.INTERVAL_SECONDS,
    "options": {"expires": worker.webhooks.INTERVAL_SECONDS},
}
# E-mails readers who asked to hear of replies to their comments (worker.reply_notices).
celery.conf.beat_schedule["reply-notices"] = {
    "task": worker.reply_notices.NOTICES_TASK,
    "schedule": worker.reply_notices.INTERVAL_SECONDS,
    "options": {"expires": worker.reply_notices.INTERVAL_SECONDS},
}
if settings.retrain_interval_seconds > 0:
    celery.conf.beat_schedule["retrain"] = {
        "task": worker.tasks.RETRAIN_TASK,
        "schedule": settings.retrain_interval_seconds,
        "options": {"expires": settings.retrain_interval_seconds},
    }


class _QuietSweeps(logging.Filter):
    """Drops Celery's "received"/"succeeded" lines for the sweep that runs every second.

    The sweeper logs what it enqueues itself; two lines a second saying it ran bury the rest.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return SWEEP_TASK not in record.getMessage()


for _name in ("celery.app.trace", "celery.worker.strategy"):
    logging.getLogger(_name).addFilter(_QuietSweeps())


@worker_process_init.connect
def _fresh_connections(**kwargs: Any) -> None:
    # Pool children are forked from the main process: never share its database connections.
    db.engine_for(flask_app).dispose(close=False)
