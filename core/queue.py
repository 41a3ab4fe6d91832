"""The Celery app of the worker and beat, and the one way to ask for submissions to be checked.

The broker carries ids only. A submission is committed before it is enqueued, and it is the
sweeper (worker/sweeper.py) that enqueues: the web apps hold no Celery app at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from celery import Celery, Task
from flask import Flask

from core.config import Settings

log = logging.getLogger(__name__)

CHECK_TASK = "worker.tasks.check_submissions"
# Ids per check task: a worker checks a batch in one read and one write.
CHECK_BATCH = 50
SWEEP_TASK = "worker.tasks.sweep"


def init_celery(app: Flask, settings: Settings) -> Celery:
    """A Celery app whose tasks run inside `app`'s context; stored in app.extensions."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery: Celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(celery_config(settings))
    app.extensions["celery"] = celery
    return celery


def celery_config(settings: Settings) -> dict[str, Any]:
    """Settings that make delivery at-least-once and publishing fail fast."""
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2,
        # A reader must not wait on a dead broker: publish once, and let the sweeper retry.
        "task_publish_retry": False,
        "broker_transport_options": {
            "visibility_timeout": 600,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
        "task_default_queue": settings.task_queue,
        # A task is acknowledged after it ran, and handed out again if its worker died mid-way.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "result_backend": None,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
    }


def enqueue_checks(celery: Celery, submission_ids: Iterable[int]) -> bool:
    """Ask the workers to check these submissions; False (logged) if the broker is unreachable.

    Only the sweeper calls this: the public site commits and leaves the enqueue to it.
    """
    try:
        with celery.producer_or_acquire() as producer:
            ids = list(submission_ids)
            for start in range(0, len(ids), CHECK_BATCH):
                batch = ids[start : start + CHECK_BATCH]
                celery.send_task(CHECK_TASK, args=[batch], producer=producer)
    except Exception as exc:  # kombu raises several kinds; none of them may lose a submission
        log.warning("broker unavailable, the sweeper will enqueue later: %s", type(exc).__name__)
        return False
    return True


def queue_length(celery: Celery, queue: str) -> int | None:
    """How many tasks wait in `queue`; None if the broker cannot be asked."""
    try:
        with celery.connection_for_write() as connection:
            try:
                channel: Any = connection.default_channel
                declared = channel.queue_declare(queue=queue, passive=True)
            except connection.channel_errors:
                return 0  # Redis drops an empty list: the queue "does not exist"
            return int(declared.message_count)
    except Exception as exc:  # the broker is unreachable: the caller decides
        log.warning("cannot read the queue length: %s", type(exc).__name__)
        return None
