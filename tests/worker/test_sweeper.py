"""The sweeper (the relay to the broker) on the real databases and Redis: what it enqueues, when."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.enums import Status
from core.models import Submission
from core.queue import CHECK_TASK
from tests.support import new_queue_name
from tests.worker.conftest import add_comment, add_tip, celery_client, free_port
from worker.sweeper import sweep


@pytest.fixture
def own_queue(settings: Settings) -> Iterator[Settings]:
    """The settings with a queue no worker consumes, emptied afterwards."""
    mine = settings.with_overrides(task_queue=new_queue_name())
    yield mine
    redis.Redis.from_url(settings.broker_url).delete(mine.task_queue)


def queued_ids(settings: Settings) -> list[int]:
    """The submission ids waiting in the settings' queue, oldest first (tasks carry batches)."""
    client = redis.Redis.from_url(settings.broker_url)
    ids = []
    # Kombu pushes to the head of the list; each message's body is base64 JSON
    # [args, kwargs, embed].
    raw_messages: list[bytes] = client.lrange(settings.task_queue, 0, -1)  # type: ignore[assignment]
    for raw in reversed(raw_messages):
        message = json.loads(raw)
        assert message["headers"]["task"] == CHECK_TASK
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        assert kwargs == {} and len(args) == 1
        assert all(isinstance(i, int) for i in args[0])  # ids, never content
        ids.extend(args[0])
    return ids


def set_enqueued(engine: Engine, submission_id: int, ago: timedelta) -> None:
    with Session(engine) as session:
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(enqueued_at=utcnow() - ago)
        )
        session.commit()


def enqueued_at_is_set(engine: Engine, submission_id: int) -> bool:
    with Session(engine) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        return submission.enqueued_at is not None


def test_new_submissions_are_relayed_at_once_with_their_ids_only_and_only_once(
    session: Session, engine: Engine, own_queue: Settings
) -> None:
    first = add_comment(session, body="Texto que no debe pasar por Redis")
    tip = add_tip(session, own_queue)
    second = add_comment(session)
    checked = add_comment(session)
    with Session(engine) as other:
        other.execute(
            update(Submission).where(Submission.id == checked).values(status=Status.published)
        )
        other.commit()
    celery = celery_client(own_queue)

    assert sweep(session, celery, own_queue) == 3

    assert queued_ids(own_queue) == [first, tip, second]
    raw = b"".join(redis.Redis.from_url(own_queue.broker_url).lrange(own_queue.task_queue, 0, -1))
    assert b"Redis" not in raw and b"Santa Clara" not in raw  # ids only, never content
    assert enqueued_at_is_set(engine, first) and enqueued_at_is_set(engine, tip)
    # The next tick does not enqueue them again.
    assert sweep(session, celery, own_queue) == 0
    assert len(queued_ids(own_queue)) == 3


def test_a_task_lost_with_the_queue_empty_is_enqueued_again_after_sweep_after_seconds(
    session: Session, engine: Engine, own_queue: Settings
) -> None:
    lost = add_comment(session)
    set_enqueued(engine, lost, timedelta(seconds=own_queue.sweep_after_seconds + 5))
    recent = add_comment(session)
    set_enqueued(engine, recent, timedelta(seconds=1))
    celery = celery_client(own_queue)

    assert sweep(session, celery, own_queue) == 1
    assert queued_ids(own_queue) == [lost]


def test_behind_a_backlog_only_long_stuck_submissions_are_enqueued_again(
    session: Session, engine: Engine, own_queue: Settings
) -> None:
    celery = celery_client(own_queue)
    waiting = add_comment(session)
    assert sweep(session, celery, own_queue) == 1  # the queue now holds a task: a backlog
    behind = add_comment(session)
    set_enqueued(engine, behind, timedelta(seconds=own_queue.sweep_after_seconds + 5))
    stuck = add_comment(session)
    set_enqueued(engine, stuck, timedelta(seconds=own_queue.resweep_after_seconds + 5))

    assert sweep(session, celery, own_queue) == 1
    assert queued_ids(own_queue) == [waiting, stuck]


def test_a_large_backlog_goes_out_in_bounded_batches_oldest_first(
    session: Session, own_queue: Settings
) -> None:
    start = utcnow() - timedelta(minutes=10)
    ids = [add_comment(session, created_at=start + timedelta(seconds=i)) for i in range(5)]
    celery = celery_client(own_queue)

    assert sweep(session, celery, own_queue, batch=2) == 5
    assert queued_ids(own_queue) == ids
    assert sweep(session, celery, own_queue, batch=2) == 0


def test_with_the_broker_down_nothing_is_marked_and_the_next_run_retries(
    session: Session, engine: Engine, own_queue: Settings
) -> None:
    stuck = add_comment(session)
    dead = own_queue.with_overrides(broker_url=f"redis://127.0.0.1:{free_port()}/0")

    assert sweep(session, celery_client(dead), dead) == 0
    assert not enqueued_at_is_set(engine, stuck)

    assert sweep(session, celery_client(own_queue), own_queue) == 1
    assert queued_ids(own_queue) == [stuck]
